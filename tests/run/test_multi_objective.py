"""A study with two objectives and a constraint, run end to end: every objective's value and
the constraint verdict stored, NaN in one objective a failed trial with one line, the feasible
front (computed by hand) from the library, with one worker and with two."""

from __future__ import annotations

import pytest

import hpsearch
from support.multi import run_mo_study as run

from hpsearch.space import parse_space

def check(storage) -> None:
    study = storage.get_study("mo")
    trials = {(t.params["x"], t.params["y"]): t for t in storage.trials(study)}
    assert len(trials) == 10
    # By hand: x = 0.97 has ms = nan (failed); x = 0.85 breaks n <= 0.8 (infeasible); of the
    # rest, y = 0 is the front (more accuracy costs time), y = 1 the second front.
    for y in (0, 1):
        t = trials[(0.97, y)]
        assert t.state == "failed" and t.error == "metric 'ms' is nan"
        assert t.metrics["acc"] == 0.97  # nothing lost
        t = trials[(0.85, y)]
        assert (t.state, t.feasible) == ("complete", False)
        assert t.violation == "n = 0.85 > max 0.8"
    t = trials[(0.3, 1)]
    assert (t.value, t.values, t.feasible) == (0.3, {"acc": 0.3, "ms": pytest.approx(0.59)}, True)
    front = hpsearch.study_front(storage, "mo")
    assert [(t.params["x"], t.params["y"]) for t in front.members] == [(0.5, 0), (0.3, 0), (0.1, 0)]
    assert [front.ranks[t.number] for t in front.trials] == [0, 0, 0, 1, 1, 1]
    assert front.n_infeasible == 2
    assert front.pick("ms").params == {"x": 0.1, "y": 0}
    assert front.pick("acc").params == {"x": 0.5, "y": 0}
    with pytest.raises(hpsearch.ConfigError, match="--pick n: not an objective"):
        front.pick("n")
    # never best, though its accuracy is the highest of the complete trials
    assert storage.best(study).params == {"x": 0.5, "y": 0}
    # the steps keep every reported metric, as for one objective
    assert storage.trial(study, t.number).steps == [(1, {"acc": 0.15, "ms": pytest.approx(0.59)})]


def test_two_objectives_and_a_constraint_in_one_process(project):
    storage = run(project, workers=1)
    check(storage)
    storage.dispose()


@pytest.mark.slow
def test_two_objectives_and_a_constraint_with_two_workers(project):
    storage = run(project, workers=2)
    check(storage)
    storage.dispose()


def test_two_objectives_and_a_constraint_on_postgres(project, pg_url):
    storage = run(project, workers=2, url=pg_url)
    check(storage)
    storage.dispose()


PACKED = """
[study]
name = "packed"
metric = ["val_accuracy", "inference_ms"]
direction = ["maximize", "minimize"]
sampler = "grid"
trials = 4
[[constraint]]
metric = "n_params"
max = 2000
[trainer]
dataset = "digits"
epochs = 1
device = "cpu"
[params]
hidden_units = { type = "choice", values = [8, 64] }
learning_rate = { type = "choice", values = [0.01, 0.02] }
"""


@pytest.mark.slow
def test_the_built_in_trainer_packed_reports_the_cost_metrics(project):
    """Two widths by two learning rates, --pack 2 (a pack per width): each trial reports
    n_params, inference_ms and train_seconds; the wide one breaks n_params <= 2000."""
    storage = hpsearch.open_storage(f"sqlite:///{project}/p.db")
    space = parse_space(PACKED, source=str(project / "proj" / "p.toml"))
    hpsearch.run_study(storage, space, hpsearch.RunOptions(pack=2, device="cpu"))
    every = storage.trials(storage.get_study("packed"))
    assert len(every) == 4
    trials = {t.params["hidden_units"]: t for t in every}
    for t in every:
        assert t.state == "complete", t.error
        assert t.metrics["train_seconds"] > 0
        assert t.values["inference_ms"] == t.metrics["inference_ms"] > 0
    narrow, wide = trials[8].metrics["n_params"], trials[64].metrics["n_params"]
    assert narrow < 2000 < wide  # the first layer alone: 64 x 64 weights
    assert trials[8].feasible and not trials[64].feasible
    assert trials[64].violation == f"n_params = {wide:.6g} > max 2000"
    storage.dispose()


def test_the_run_summary_never_names_an_infeasible_trial_best(project):
    from support.multi import OBJECTIVE, SPACE

    (project / "proj" / "moobj.py").write_text(OBJECTIVE)
    space = parse_space(SPACE, source=str(project / "proj" / "mo.toml"))
    storage = hpsearch.open_storage(f"sqlite:///{project}/s.db")
    summary = hpsearch.run_study(storage, space)
    # x = 0.85 has the highest accuracy of the complete trials, but breaks n <= 0.8
    assert summary.best.params == {"x": 0.5, "y": 0}
    storage.dispose()
