"""Grid: size, order, exhaustion, explicit and log-spaced points, conditions, the size limit."""

from __future__ import annotations

import json

import pytest
from support.spaces import SAMPLER_COND, THREE, space_of

from hpsearch.errors import SpaceError
from hpsearch.samplers import MAX_GRID_SIZE, GridSampler, make_sampler
from hpsearch.space import parse_space


def configs_of(sampler: GridSampler) -> list[dict]:
    return [sampler.propose(i) for i in range(sampler.size)]


def test_grid_size_order_and_exhaustion() -> None:
    space = space_of('a = { type = "choice", values = ["x", "y"] }\n'
                     'b = { type = "int", low = 1, high = 3 }\n')
    sampler = make_sampler("grid", space, seed=0)
    assert sampler.size == 6
    assert configs_of(sampler) == [{"a": a, "b": b} for a in "xy" for b in (1, 2, 3)]
    assert sampler.unit(6) is None and sampler.propose(100) is None


def test_grid_explicit_points_and_log_grid_points() -> None:
    space = space_of('lr = { type = "log_uniform", low = 1e-4, high = 1e-1, grid_points = 4 }\n'
                     'wd = { type = "log_uniform", low = 1e-6, high = 1e-2, grid = [1e-5, 1e-3] }\n'
                     'd = { type = "uniform", low = 0, high = 0.5 }\n'
                     'h = { type = "int", low = 16, high = 256, log = true, grid_points = 5 }\n',
                     study="grid_points = 3")
    sampler = make_sampler("grid", space, seed=0)
    assert sampler.size == 4 * 2 * 3 * 5
    configs = configs_of(sampler)
    assert sorted({c["lr"] for c in configs}) == [1e-4, 1e-3, 1e-2, 1e-1]
    assert {c["wd"] for c in configs} == {1e-5, 1e-3}
    assert sorted({c["d"] for c in configs}) == [0.0, 0.25, 0.5]
    assert sorted({c["h"] for c in configs}) == [16, 32, 64, 128, 256]
    assert len({json.dumps(c, sort_keys=True) for c in configs}) == sampler.size


def test_grid_small_int_takes_every_value_and_default_is_five() -> None:
    space = space_of('n = { type = "int", low = 1, high = 3 }\n'
                     'm = { type = "int", low = 0, high = 100 }\n'
                     'x = { type = "uniform", low = 0, high = 1, grid_points = 1 }\n')
    configs = configs_of(make_sampler("grid", space, seed=0))
    assert sorted({c["n"] for c in configs}) == [1, 2, 3]
    assert sorted({c["m"] for c in configs}) == [0, 25, 50, 75, 100]
    assert {c["x"] for c in configs} == {0.5}


def test_grid_inactive_params_do_not_multiply_it() -> None:
    space = space_of(SAMPLER_COND, study="grid_points = 3")
    sampler = make_sampler("grid", space, seed=0)
    configs = configs_of(sampler)
    # sgd: 3 momenta x 3 lr; adam: 3 lr (momentum absent, not tripled)
    assert sampler.size == 9 + 3 == len(configs)
    assert sum("momentum" in c for c in configs) == 9
    assert all(c["fixed"] == 7 for c in configs)


def test_grid_too_large_is_refused() -> None:
    params = "".join(f'p{i} = {{ type = "uniform", low = 0, high = 1 }}\n' for i in range(8))
    with pytest.raises(SpaceError, match="s.toml: study.sampler: the grid has more than 100000 "
                                         "points; lower grid_points or use sobol"):
        make_sampler("grid", space_of(params, study="grid_points = 5", source="s.toml"), seed=0)


@pytest.mark.slow
def test_grid_just_under_the_limit_is_enumerated() -> None:
    fits = "".join(f'p{i} = {{ type = "uniform", low = 0, high = 1 }}\n' for i in range(7))
    assert 5**7 < MAX_GRID_SIZE == 100_000
    assert make_sampler("grid", space_of(fits, study="grid_points = 5"), seed=0).size == 5**7


def test_grid_points_are_in_the_params_type_and_listed_once() -> None:
    head = '[study]\nsampler = "grid"\n[objective]\nkind = "python"\nfunction = "m:f"\n[params]\n'
    space = parse_space(head + 'x = { type = "uniform", low = 0, high = 2, grid = [0, 1, 2] }\n'
                        'n = { type = "int", low = 1, high = 3, grid = [1, 3] }\n', source="g.toml")
    sampler = GridSampler(space, seed=0)
    configs = [sampler.propose(i) for i in range(sampler.size)]
    assert sampler.size == 6
    assert all(type(c["x"]) is float and type(c["n"]) is int for c in configs)
    with pytest.raises(SpaceError, match=r"g.toml: params.y: grid value 1 is listed twice"):
        parse_space(head + 'y = { type = "uniform", low = 0, high = 2, grid = [1, 1.0] }\n', source="g.toml")


def test_grid_order_and_units_are_pinned() -> None:
    sampler = make_sampler("grid", space_of(THREE), seed=0)
    assert sampler.size == 5 * 5 * 3  # n: 1..8 has more than 5 values, so 5 evenly spaced
    assert [sampler.propose(i) for i in range(4)] == [
        {"lr": 0.0001, "n": 1, "opt": "sgd"}, {"lr": 0.0001, "n": 1, "opt": "adam"},
        {"lr": 0.0001, "n": 1, "opt": "rmsprop"}, {"lr": 0.0001, "n": 3, "opt": "sgd"},
    ]
    assert sampler.unit(1) == [0.0, 0.0625, 0.5]
    assert make_sampler("grid", space_of(THREE), seed=7).propose(74) == sampler.propose(74)


# --------------------------------------------------- deep `when` chains (issue 22, item 9)
def chain_space(depth: int, values: str = '["a", "b"]'):
    lines = ['[study]', 'metric = "m"', 'sampler = "grid"', '[params]',
             f'p0 = {{ type = "choice", values = {values} }}']
    lines += [f'p{i} = {{ type = "choice", values = {values}, when = {{ p{i - 1} = "a" }} }}'
              for i in range(1, depth)]
    return parse_space("\n".join(lines) + "\n", source="chain.toml")


def test_a_deep_chain_is_enumerated_in_order():
    depth = 2500
    space = chain_space(depth)
    sampler = GridSampler(space, seed=0)
    assert sampler.size == depth + 1
    assert sampler.propose(0) == {f"p{i}": "a" for i in range(depth)}
    assert sampler.propose(1) == {**{f"p{i}": "a" for i in range(depth - 1)}, f"p{depth - 1}": "b"}
    assert sampler.propose(depth) == {"p0": "b"}
    assert sampler.unit(depth) == [space.params["p0"].to_unit("b")] + [0.5] * (depth - 1)
    assert sampler.propose(depth + 1) is None


def test_the_chain_costs_a_linear_number_of_condition_checks_per_point(monkeypatch):
    """Each point costs work linear in the chain's depth: the condition checks grow as
    depth x points (depth + 1 points), not faster (the enumeration was cubic in the depth)."""
    import hpsearch.samplers.grid as grid

    calls = []
    real = grid._holds
    monkeypatch.setattr(grid, "_holds", lambda when, config: calls.append(1) or real(when, config))
    counts = {}
    for depth in (100, 200, 400):
        calls.clear()
        GridSampler(chain_space(depth), seed=0)
        counts[depth] = len(calls)
    for depth, n in counts.items():
        assert n <= depth * (depth + 1), (depth, n)
    assert counts[400] / counts[200] < 4.5 and counts[200] / counts[100] < 4.5

