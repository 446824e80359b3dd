"""Samplers: one shared contract, pinned reproducibility, Sobol balance and resumption, grids."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hpsearch.errors import SpaceError
from hpsearch.samplers import SAMPLERS, GridSampler, SobolSampler, make_sampler
from hpsearch.space import Space, load_space, parse_space

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT / "search_spaces" / "digits_mlp.toml"


def space_of(params: str, study: str = "") -> Space:
    return parse_space(f"[study]\nname = 't'\n{study}\n[params]\n{params}\n", source="s.toml")


COND = ('opt = { type = "choice", values = ["sgd", "adam"] }\n'
        'momentum = { type = "uniform", low = 0.8, high = 0.99, when = { opt = "sgd" } }\n'
        'lr = { type = "log_uniform", low = 1e-4, high = 1e-1 }\n'
        'fixed = 7\n')


# ---------------------------------------------------------------------------------------------
# the contract every sampler keeps


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_sampler_contract(name: str) -> None:
    d = load_space(DIGITS).to_dict()
    d["study"]["grid_points"] = 2
    space = Space.from_dict(d)
    sampler = make_sampler(name, space, seed=3)
    assert sampler.name == name
    for i in range(20):
        u = sampler.unit(i)
        if u is None:
            assert sampler.size is not None and i >= sampler.size
            break
        assert len(u) == space.dim and all(0.0 <= x <= 1.0 for x in u)
        config = sampler.propose(i)
        mapped = space.from_unit(u)
        assert config.keys() == mapped.keys()
        for key, value in config.items():
            if isinstance(value, float):
                assert value == pytest.approx(mapped[key], rel=1e-9)
            else:
                assert value == mapped[key]
        assert all(space.params[k].contains(v) for k, v in config.items())
    again = make_sampler(name, space, seed=3)
    assert [again.unit(i) for i in (5, 2, 7)] == [sampler.unit(i) for i in (5, 2, 7)]


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_sampler_handles_dim_zero(name: str) -> None:
    space = space_of("a = 1\nb = 'x'\n")
    sampler = make_sampler(name, space, seed=0)
    assert sampler.unit(0) == [] and sampler.propose(0) == {"a": 1, "b": "x"}


def test_unknown_sampler_and_bad_seed() -> None:
    space = space_of(COND)
    with pytest.raises(SpaceError, match="unknown sampler 'tpe2' \\(known: random, sobol, grid\\)"):
        make_sampler("tpe2", space, seed=0)
    with pytest.raises(SpaceError, match="seed must be a non-negative integer \\(got -1\\)"):
        make_sampler("random", space, seed=-1)


# ---------------------------------------------------------------------------------------------
# random


def test_random_is_pinned_and_independent_of_history() -> None:
    space = space_of(COND)
    sampler = make_sampler("random", space, seed=42)
    expected = np.random.default_rng([42, 9]).random(space.dim).tolist()
    assert sampler.unit(9) == expected
    assert make_sampler("random", space, seed=42).unit(9) == expected
    assert make_sampler("random", space, seed=43).unit(9) != expected


def test_random_is_reproducible_across_processes() -> None:
    cmd = [sys.executable, "-m", "hpsearch.cli", "validate", str(DIGITS), "--sample", "8",
           "--format", "json", "--seed", "11"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=True).stdout
    configs = [json.loads(line) for line in out.splitlines()]
    sampler = make_sampler("random", load_space(DIGITS), seed=11)
    assert configs == [json.loads(json.dumps(sampler.propose(i))) for i in range(8)]


# ---------------------------------------------------------------------------------------------
# sobol


@pytest.mark.parametrize("k", [3, 6])
def test_sobol_first_power_of_two_points_are_balanced(k: int) -> None:
    space = load_space(DIGITS)
    sampler = SobolSampler(space, seed=5)
    points = np.array([sampler.unit(i) for i in range(2**k)])
    cells = np.floor(points * 2**k).astype(int)
    for column in cells.T:
        assert sorted(column) == list(range(2**k))


def test_sobol_resumes_where_it_stopped() -> None:
    space = load_space(DIGITS)
    walked = SobolSampler(space, seed=1)
    sequence = [walked.unit(i) for i in range(40)]
    for n in (0, 1, 17, 39):
        assert SobolSampler(space, seed=1).unit(n) == sequence[n]
    assert walked.unit(3) == sequence[3]  # jumping back resets the engine
    assert walked.unit(30) == sequence[30]
    assert SobolSampler(space, seed=2).unit(0) != sequence[0]


# ---------------------------------------------------------------------------------------------
# grid


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
    space = space_of(COND, study="grid_points = 3")
    sampler = make_sampler("grid", space, seed=0)
    configs = configs_of(sampler)
    # sgd: 3 momenta x 3 lr; adam: 3 lr (momentum absent, not tripled)
    assert sampler.size == 9 + 3 == len(configs)
    assert sum("momentum" in c for c in configs) == 9
    assert all(c["fixed"] == 7 for c in configs)


def test_grid_too_large_is_refused() -> None:
    params = "".join(f'p{i} = {{ type = "uniform", low = 0, high = 1 }}\n' for i in range(8))
    with pytest.raises(SpaceError, match="s.toml: study.sampler: the grid has more than"):
        make_sampler("grid", space_of(params, study="grid_points = 5"), seed=0)


def test_grid_points_are_in_the_params_type_and_listed_once() -> None:
    from hpsearch.errors import SpaceError
    from hpsearch.samplers import GridSampler
    from hpsearch.space import parse_space

    head = '[study]\nsampler = "grid"\n[objective]\nkind = "python"\nfunction = "m:f"\n[params]\n'
    space = parse_space(head + 'x = { type = "uniform", low = 0, high = 2, grid = [0, 1, 2] }\n'
                        'n = { type = "int", low = 1, high = 3, grid = [1, 3] }\n', source="g.toml")
    sampler = GridSampler(space, seed=0)
    configs = [sampler.propose(i) for i in range(sampler.size)]
    assert sampler.size == 6
    assert all(type(c["x"]) is float and type(c["n"]) is int for c in configs)
    with pytest.raises(SpaceError, match=r"g.toml: params.y: grid value 1 is listed twice"):
        parse_space(head + 'y = { type = "uniform", low = 0, high = 2, grid = [1, 1.0] }\n', source="g.toml")
