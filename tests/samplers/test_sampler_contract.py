"""The contract every registered sampler keeps, and the registry itself."""

from __future__ import annotations

import pytest
from support.spaces import DIGITS, SAMPLER_COND, space_of

from hpsearch.errors import SpaceError
from hpsearch.samplers import (
    SAMPLERS, AutoSampler, CmaEsSampler, GPSampler, GridSampler, ModelSampler, RandomSampler,
    NSGA2Sampler, Sampler, SobolSampler, TPESampler, make_sampler,
)
from hpsearch.space import SAMPLER_NAMES, Space, load_space


INDEXED = [name for name, cls in SAMPLERS.items() if not cls.uses_history]
MODELS = [name for name, cls in SAMPLERS.items() if cls.uses_history]


def test_registry_implements_exactly_the_names_a_space_file_may_use() -> None:
    assert tuple(SAMPLERS) == SAMPLER_NAMES == ("random", "sobol", "grid", "tpe", "gp", "cmaes",
                                                "auto", "nsga2")
    assert SAMPLERS == {"random": RandomSampler, "sobol": SobolSampler, "grid": GridSampler,
                        "tpe": TPESampler, "gp": GPSampler, "cmaes": CmaEsSampler,
                        "auto": AutoSampler, "nsga2": NSGA2Sampler}
    assert all(cls.name == name for name, cls in SAMPLERS.items())
    assert all(issubclass(SAMPLERS[n], Sampler) for n in INDEXED)
    assert all(issubclass(SAMPLERS[n], ModelSampler) for n in MODELS)


def test_importing_the_registry_loads_no_model_library() -> None:
    import subprocess
    import sys

    code = ("import sys, hpsearch.samplers, hpsearch.validate; "
            "print(sorted(m for m in ('optuna', 'cmaes', 'torch', 'numpy', 'scipy') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_make_sampler_gives_model_samplers_the_study_start_up_count() -> None:
    space = space_of(SAMPLER_COND, study="n_startup_trials = 3")
    assert make_sampler("tpe", space, seed=0).n_startup == 3
    assert make_sampler("auto", space_of(SAMPLER_COND), seed=0).n_startup == 10


@pytest.mark.parametrize("name", MODELS)
def test_model_sampler_start_up_contract(name: str) -> None:
    space = load_space(DIGITS)
    sampler = make_sampler(name, space, seed=3)
    sobol = SobolSampler(space, seed=3)
    for i in range(4):
        proposal = sampler.propose([], [], index=i)
        assert proposal.method == "sobol" and proposal.params == sobol.propose(i)


@pytest.mark.parametrize("name", INDEXED)
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
    if sampler.uses_history:
        assert sampler.propose([], [], index=0).params == {"a": 1, "b": "x"}
    else:
        assert sampler.unit(0) == [] and sampler.propose(0) == {"a": 1, "b": "x"}


def test_unknown_sampler_and_bad_seed() -> None:
    space = space_of(SAMPLER_COND)
    with pytest.raises(SpaceError, match="unknown sampler 'tpe2' \\(known: random, sobol, grid, "
                                         "tpe, gp, cmaes, auto, nsga2\\)"):
        make_sampler("tpe2", space, seed=0)
    with pytest.raises(SpaceError, match="seed must be a non-negative integer \\(got -1\\)"):
        make_sampler("random", space, seed=-1)


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_negative_index_is_refused(name: str) -> None:
    sampler = make_sampler(name, space_of(SAMPLER_COND), seed=0)
    with pytest.raises(ValueError, match=r"index must be >= 0 \(got -1\)"):
        sampler.propose([], [], index=-1) if sampler.uses_history else sampler.unit(-1)
