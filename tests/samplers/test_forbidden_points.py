"""Random, Sobol and grid never propose a forbidden configuration ([[forbid]]): the grid leaves
such points out, random and Sobol redraw from a stream keyed by (seed, index), so the same seed
still gives the same proposals and a space without rules is sampled exactly as before."""

from __future__ import annotations

import pytest
from support.spaces import FORBID, FORBID_PARAMS, space_of

from hpsearch.errors import SpaceError
from hpsearch.samplers import make_sampler

RULES = space_of(FORBID_PARAMS, "", FORBID)
FREE = space_of(FORBID_PARAMS)


@pytest.mark.parametrize("name", ["random", "sobol"])
def test_thousands_of_draws_are_all_allowed_and_reproducible(name: str) -> None:
    sampler = make_sampler(name, RULES, seed=4)
    configs = [sampler.propose(i) for i in range(2000)]
    assert not any(RULES.forbid.is_forbidden(c) for c in configs)
    assert any(c["optimizer"] == "sgd" for c in configs)  # sgd itself is allowed (with 64)
    again = make_sampler(name, RULES, seed=4)
    assert [again.propose(i) for i in (1999, 3, 700)] == [configs[i] for i in (1999, 3, 700)]


@pytest.mark.parametrize("name", ["random", "sobol"])
def test_allowed_points_are_what_a_space_without_rules_draws(name: str) -> None:
    ruled, free = make_sampler(name, RULES, seed=1), make_sampler(name, FREE, seed=1)
    for i in range(300):
        config = free.propose(i)
        if not RULES.forbid.is_forbidden(config):
            assert ruled.propose(i) == config


def test_grid_leaves_forbidden_points_out() -> None:
    free = make_sampler("grid", FREE, seed=0)
    grid = make_sampler("grid", RULES, seed=0)
    allowed = [c for c in (free.propose(i) for i in range(free.size))
               if not RULES.forbid.is_forbidden(c)]
    assert grid.size == len(allowed) < free.size
    assert [grid.propose(i) for i in range(grid.size)] == allowed
    assert grid.propose(grid.size) is None


def test_everything_forbidden_is_a_space_error() -> None:
    space = space_of(FORBID_PARAMS, "", '[[forbid]]\nexpr = "n_layers >= 1"\n')
    with pytest.raises(SpaceError, match="forbid: every point of the grid is forbidden"):
        make_sampler("grid", space, seed=0)
    with pytest.raises(SpaceError, match=r"forbid: no allowed configuration in 10000 random draws"):
        make_sampler("random", space, seed=0).propose(0)


def test_model_start_up_points_are_allowed() -> None:
    sampler = make_sampler("tpe", RULES, seed=2)
    for i in range(30):
        assert not RULES.forbid.is_forbidden(sampler.propose([], [], index=i).params)
