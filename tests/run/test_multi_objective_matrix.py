"""Two objectives and a constraint under every sampler (cmaes aside: its own tests) and
every way a study runs: in one process, with `--workers 2`, in cron-style batches
(`run --add` started again on the same study, also on PostgreSQL), and packed with the
built-in trainer. Each time: every trial complete with both values and its verdict, none
forbidden, and the feasible front the library reports is the one computed here by hand from
the stored values."""

from __future__ import annotations

import pytest

import hpsearch
from hpsearch.space import parse_space

OBJECTIVE = '''
import math
def f(params, report):
    x, lr = params["x"], params["lr"]
    report(1, {"acc": x / 2, "ms": 1.0})
    return {"acc": x, "ms": (1 - x) ** 2 + abs(math.log10(lr) + 2.5), "n": x}
'''

SPACE = '''
[study]
name = "mo"
metric = ["acc", "ms"]
direction = ["maximize", "minimize"]
sampler = "{sampler}"
trials = 6
seed = 0
n_startup_trials = 2
grid_points = 3
[objective]
kind = "python"
function = "m:f"
[[constraint]]
metric = "n"
max = 0.8
[params]
x = {{ type = "uniform", low = 0.0, high = 1.0 }}
lr = {{ type = "log_uniform", low = 1e-4, high = 1e-1 }}
[[forbid]]
expr = "x > 0.9"
'''

SAMPLERS = ["random", "sobol", "grid", "tpe", "gp", "auto", "nsga2"]
# what proposes after the start-up (auto is multi-objective TPE with several objectives)
MODELS = {"tpe": {"tpe"}, "gp": {"gp"}, "auto": {"tpe"}, "nsga2": {"nsga2"}}


def mo_space(project, sampler: str):
    (project / "proj" / "m.py").write_text(OBJECTIVE)
    return parse_space(SPACE.format(sampler=sampler), source=str(project / "proj" / "mo.toml"))


def front_by_hand(trials, maximize=(True, False)) -> set[int]:
    """The numbers of the complete feasible trials no other such trial dominates."""
    pts = {t.number: [t.values[m] for m in ("acc", "ms")] for t in trials
           if t.state == "complete" and t.feasible}

    def dominates(a, b):
        signs = [1 if up else -1 for up in maximize]
        return all(s * (x - y) >= 0 for s, x, y in zip(signs, a, b)) and a != b

    return {n for n, p in pts.items() if not any(dominates(q, p) for q in pts.values())}


def check(storage, sampler: str, n: int = 6, *, model_used: bool = True) -> list:
    trials = storage.trials(storage.get_study("mo"), best_first=False)
    assert len(trials) == n and sorted(t.number for t in trials) == list(range(n))
    for t in trials:
        assert t.state == "complete", (t.number, t.error)
        assert t.params["x"] <= 0.9  # never a forbidden point
        assert set(t.values) == {"acc", "ms"} and t.values["acc"] == t.params["x"]
        assert t.feasible == (t.params["x"] <= 0.8)
        assert (t.violation is None) == t.feasible
    made = {t.proposed_by for t in trials}
    if sampler in MODELS:
        assert made - {"sobol", "random"} <= MODELS[sampler], made
        if model_used:
            assert made & MODELS[sampler], made
    else:
        assert made == {sampler}
    front = hpsearch.study_front(storage, "mo")
    assert {t.number for t in front.members} == front_by_hand(trials)
    return trials


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_every_sampler_in_one_process(project, sampler):
    storage = hpsearch.open_storage(f"sqlite:///{project}/mo.db")
    hpsearch.run_study(storage, mo_space(project, sampler))
    check(storage, sampler)
    storage.dispose()


@pytest.mark.slow  # worker processes; tpe, auto and nsga2: tests/samplers/test_multi_samplers.py
@pytest.mark.parametrize("sampler, db", [("random", "sqlite"), ("sobol", "sqlite"),
                                         ("gp", "sqlite"),
                                         pytest.param("tpe", "postgres",
                                                      marks=pytest.mark.postgres)])
def test_every_sampler_with_two_workers(project, request, sampler, db):
    url = f"sqlite:///{project}/mo.db" if db == "sqlite" else request.getfixturevalue("pg_url")
    storage = hpsearch.open_storage(url)
    hpsearch.run_study(storage, mo_space(project, sampler), hpsearch.RunOptions(workers=2))
    check(storage, sampler, model_used=False)  # the start-up may outlast the run
    storage.dispose()


@pytest.mark.parametrize("sampler, db", [
    (s, "sqlite") if s != "gp" else pytest.param(s, "sqlite", marks=pytest.mark.slow)
    for s in SAMPLERS] + [
    pytest.param("random", "postgres", marks=pytest.mark.postgres),
    pytest.param("sobol", "postgres", marks=pytest.mark.postgres),
    pytest.param("tpe", "postgres", marks=pytest.mark.postgres),
    pytest.param("auto", "postgres", marks=pytest.mark.postgres),
    pytest.param("gp", "postgres", marks=[pytest.mark.postgres, pytest.mark.slow]),
    pytest.param("nsga2", "postgres", marks=pytest.mark.postgres)])
def test_cron_batches_keep_the_front_and_propose_as_one_run(project, request, sampler, db):
    """Two ticks of `run --add 3`, each with the database opened afresh, give the trials one
    run of 6 gives (the proposal is a function of the seed, the index and the stored history):
    nothing of the first batch is lost or changed, and the front is that of all six."""
    url = f"sqlite:///{project}/ticks.db" if db == "sqlite" else request.getfixturevalue("pg_url")
    space = mo_space(project, sampler)
    fronts = []
    for _ in range(2):
        storage = hpsearch.open_storage(url)
        hpsearch.run_study(storage, space, hpsearch.RunOptions(add=3))
        fronts.append({t.number for t in hpsearch.study_front(storage, "mo").members})
        storage.dispose()
    storage = hpsearch.open_storage(url)
    ticks = check(storage, sampler)
    storage.dispose()
    first = {t.number for t in ticks if t.number < 3}
    assert fronts[0] == front_by_hand([t for t in ticks if t.number in first])
    # a member of the first front leaves it only for a trial of the second batch
    assert fronts[1] == front_by_hand(ticks)
    one = hpsearch.open_storage(f"sqlite:///{project}/one.db")
    hpsearch.run_study(one, space)
    whole = one.trials(one.get_study("mo"), best_first=False)
    one.dispose()
    key = [(t.number, t.params, t.values, t.proposed_by) for t in whole]
    assert [(t.number, t.params, t.values, t.proposed_by) for t in ticks] == key


PACKED = """
[study]
name = "mo"
metric = ["val_accuracy", "val_loss"]
direction = ["maximize", "minimize"]
sampler = "{sampler}"
trials = 4
seed = 0
n_startup_trials = 2
[[constraint]]
metric = "n_params"
max = 5000
[trainer]
dataset = "digits"
epochs = 1
device = "cpu"
[params]
learning_rate = {{ type = "log_uniform", low = 1e-3, high = 1e-1 }}
hidden_units = {{ type = "choice", values = [8, 64] }}
"""


@pytest.mark.slow  # trains
@pytest.mark.parametrize("sampler", ["random", "sobol", "tpe", "auto", "gp", "nsga2"])
def test_packed_builtin_trials_with_an_index_and_a_model_sampler(project, sampler):
    """`--pack 2` on the built-in trainer: two trials a pack, both values and the n_params
    verdict on each (the 64-unit net breaks n_params <= 5000), the front computed by hand."""
    space = parse_space(PACKED.format(sampler=sampler), source=str(project / "proj" / "p.toml"))
    storage = hpsearch.open_storage(f"sqlite:///{project}/p.db")
    hpsearch.run_study(storage, space, hpsearch.RunOptions(pack=2, device="cpu"))
    trials = storage.trials(storage.get_study("mo"), best_first=False)
    assert len(trials) == 4
    for t in trials:
        assert t.state == "complete", t.error
        assert set(t.values) == {"val_accuracy", "val_loss"}
        assert t.feasible == (t.params["hidden_units"] == 8)
    assert any("packed with trial" in (t.note or "") for t in trials)
    pts = {t.number: (t.values["val_accuracy"], t.values["val_loss"]) for t in trials
           if t.feasible}
    by_hand = {n for n, (a, l) in pts.items()
               if not any(b >= a and m <= l and (b, m) != (a, l) for b, m in pts.values())}
    assert {t.number for t in hpsearch.study_front(storage, "mo").members} == by_hand
    storage.dispose()
