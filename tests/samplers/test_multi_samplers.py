"""Samplers on several objectives and constraints: tpe, gp, auto and nsga2 swapped for Optuna's
multi-objective, constrained models; every objective and the verdict told; proposals pinned
by seed, history and index; forbidden points avoided; cmaes kept (it ranks its generations); a model sampler without a
multi-objective form refused; a study run end to end."""

from __future__ import annotations

import pytest

from hpsearch.errors import SpaceError
from hpsearch.samplers import Finished, make_sampler
from hpsearch.samplers.cmaes import CmaEsSampler
from hpsearch.samplers.multi import (MultiAutoSampler, MultiGPSampler, MultiTPESampler,
                                     NSGA2Sampler, multi_sampler, vector_of)
from hpsearch.samplers.tpe import TPESampler
from hpsearch.space import parse_space

SPACE = '''
[study]
metric = ["acc", "ms"]
direction = ["maximize", "minimize"]
n_startup_trials = 4
[objective]
kind = "python"
function = "m:f"
[[constraint]]
metric = "n"
max = 0.8
[params]
x = { type = "uniform", low = 0.0, high = 1.0 }
lr = { type = "log_uniform", low = 1e-4, high = 1e-1 }
[[forbid]]
expr = "x > 0.9"
'''


def history(n: int = 12) -> list[Finished]:
    out = []
    for i in range(n):
        x = (i * 0.37) % 0.9
        lr = 10 ** (-4 + 3 * ((i * 0.61) % 1))
        out.append(Finished({"x": x, "lr": lr}, x, "complete", values={"acc": x, "ms": x * x + lr},
                            feasible=x <= 0.8))
    out.append(Finished({"x": 0.5, "lr": 0.01}, None, "failed"))
    return out


@pytest.fixture(scope="module")
def space():
    return parse_space(SPACE, source="mo.toml")


@pytest.mark.parametrize("name, cls", [("tpe", MultiTPESampler), ("gp", MultiGPSampler),
                                       ("auto", MultiAutoSampler), ("nsga2", NSGA2Sampler)])
def test_model_samplers_propose_reproducibly(space, name, cls) -> None:
    smp = make_sampler(name, space, seed=3)
    assert type(smp) is cls
    h = history()
    pending = [{"x": 0.2, "lr": 0.001}]
    a = smp.propose(h, pending, index=13)
    b = make_sampler(name, space, seed=3).propose(h, pending, index=13)
    assert a == b and a.method in (name, "tpe", "gp")
    assert a.params["x"] <= 0.9 and 1e-4 <= a.params["lr"] <= 1e-1
    # start-up: Sobol, as for one objective
    assert smp.propose(h, [], index=1).method == "sobol"


def test_every_objective_and_the_verdict_are_told(space) -> None:
    smp = make_sampler("tpe", space, seed=0)
    study = smp._study(history(), [], seed=0)
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert len(complete) == 12 and len(study.directions) == 2
    told = {round(t.values[0], 6): t.system_attrs["constraints"] for t in complete}
    assert all(c == ((1.0,) if x > 0.8 else (0.0,)) for x, c in told.items())
    assert [t.state.name for t in study.trials].count("FAIL") == 1


def test_nsga2_generations_follow_the_number_order(space) -> None:
    smp = make_sampler("nsga2", space, seed=0)
    h = history(60)
    study = smp._study(h, [], seed=0)
    key = "NSGAIISampler:generation"
    gens = [t.system_attrs[key] for t in study.trials if t.state.name == "COMPLETE"]
    assert gens == [0] * 50 + [1] * 10
    assert smp.propose(h, [], index=61).method == "nsga2"


def test_vector_of_and_a_one_objective_model_refused(space) -> None:
    assert vector_of(Finished({}, 0.5, "complete", values={"acc": 0.5, "ms": 2.0}),
                     ("acc", "ms")) == [0.5, 2.0]
    assert vector_of(Finished({}, 0.5, "complete"), ("acc", "ms")) is None
    assert vector_of(Finished({}, 0.5, "pruned", values={"acc": 0.5, "ms": 2.0}),
                     ("acc", "ms")) is None
    assert type(make_sampler("cmaes", space, seed=0)) is CmaEsSampler

    class OneNumber(TPESampler):
        name = "one"

    with pytest.raises(SpaceError, match=r"^mo.toml: study.sampler: one optimises one objective "
                       r"without constraints; with several objectives or \[\[constraint\]\] use "
                       r"tpe, gp, cmaes, auto or nsga2 \(or random, sobol, grid\)$"):
        multi_sampler("one", OneNumber, space)
    # random, sobol and grid are unchanged
    assert make_sampler("random", space, seed=0).propose(0) == \
        make_sampler("random", parse_space(SPACE.replace('["acc", "ms"]', '"acc"').replace(
            '["maximize", "minimize"]', '"maximize"'), source="one.toml"), seed=0).propose(0)


OBJECTIVE = '''
import math
def f(params, report):
    x, lr = params["x"], params["lr"]
    return {"acc": x, "ms": (1 - x) ** 2 + abs(math.log10(lr) + 2.5), "n": x}
'''


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["tpe", "auto", "nsga2", "cmaes"])
def test_a_multi_objective_study_runs_with_each_model_sampler(project, sampler) -> None:
    import hpsearch

    (project / "proj" / "m.py").write_text(OBJECTIVE)
    text = SPACE.replace("n_startup_trials = 4", f'n_startup_trials = 4\nsampler = "{sampler}"\n'
                         'trials = 12\nname = "s"')
    space = parse_space(text, source=str(project / "proj" / "s.toml"))
    storage = hpsearch.open_storage(f"sqlite:///{project}/s.db")
    hpsearch.run_study(storage, space, hpsearch.RunOptions(workers=2))
    trials = storage.trials(storage.get_study("s"))
    assert len(trials) == 12 and all(t.state == "complete" for t in trials)
    assert {t.proposed_by for t in trials} - {"sobol"} <= {"tpe", "gp", "nsga2", "cmaes", "random"}
    assert all(t.params["x"] <= 0.9 for t in trials)
    assert hpsearch.study_front(storage, "s").members
    storage.dispose()


def test_auto_takes_turns_with_gp_where_trials_are_slow_and_is_tpe_where_they_are_instant(
        space) -> None:
    # One objective's rule over the multi-objective models: with slow trials (or no durations,
    # a library caller's history) GP proposes at odd indices and TPE at even ones, each what
    # the model itself proposes; with instant trials the cost rule leaves TPE alone.
    from dataclasses import replace

    slow = [replace(t, seconds=5.0) for t in history()]
    instant = [replace(t, seconds=0.001) for t in history()]
    pending = [{"x": 0.2, "lr": 0.001}]
    for h, odd in ((history(), "gp"), (slow, "gp"), (instant, "tpe")):
        auto = make_sampler("auto", space, seed=5)
        for index, model in ((13, odd), (14, "tpe")):
            got = auto.propose(h, pending, index=index)
            assert got.method == model, (index, model)
            alone = make_sampler(model, space, seed=5).propose(h, pending, index=index)
            assert got.params == alone.params
