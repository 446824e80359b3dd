"""Pruning with several objectives through a real run: MO-ASHA's rung, computed by hand, for
the python and command objectives; an objective reported only with the result; `[pruner]
metric` keeps the single-objective rule."""

from __future__ import annotations

import textwrap

import pytest

from support.runs import run_cli, spawn_cli, trials_of, wait_until

# (acc, loss) of each grid point, the same at every step: the rung vectors are these.
POINTS = [(0.9, 0.3), (0.7, 0.5), (0.6, 0.6), (0.5, 0.9), (0.8, 0.2), (0.85, 0.25)]
# By hand, asha with rf 3 and rungs at steps 1 and 3, trials one after the other; every trial
# that reached a rung competes there (pruned ones too), the best max(1, n // 3) go on, ordered
# by front then crowding distance (a front's ends first):
#   0 (0.9, 0.3): alone -> on.                         1 (0.7, 0.5): dominated by 0 -> pruned at 1.
#   2 (0.6, 0.6), 3 (0.5, 0.9): dominated -> pruned.   4 (0.8, 0.2): front 1 with 0, both ends,
#   nobody ahead of it (k = 1 of 5) -> on; at step 3 with 0 (k = 1 of 2) -> on, complete.
#   On acc alone it would be pruned at step 1 (0.8 < 0.9).
#   5 (0.85, 0.25): front 1 with 0 and 4 but between them (crowding finite, 0 and 4 infinite):
#   2 ahead, k = 6 // 3 = 2 -> pruned at step 1.
EXPECTED = [("complete", None), ("pruned", 1), ("pruned", 1), ("pruned", 1),
            ("complete", None), ("pruned", 1)]

PYTHON = '''
from hpsearch.pruners import Pruned

POINTS = {points}

def train(params, report):
    acc, loss = POINTS[params["i"]]
    for step in range(1, 5):
        metrics = {{"acc": acc}} if {late_loss} else {{"acc": acc, "loss": loss}}
        if report(step, metrics):
            raise Pruned("told to stop", step=step)
    return {{"acc": acc, "loss": loss}}
'''

COMMAND = '''
import json, os
POINTS = {points}
acc, loss = POINTS[json.loads(os.environ["HPSEARCH_PARAMS"])["i"]]
for step in range(1, 5):
    print(json.dumps({{"step": step, "acc": acc, "loss": loss}}), flush=True)
print(json.dumps({{"acc": acc, "loss": loss}}), flush=True)
'''


def space(path, objective, *, table="", pruner="asha"):
    path.write_text(textwrap.dedent(f"""\
        [study]
        name = "mo"
        metric = ["acc", "loss"]
        direction = ["maximize", "minimize"]
        sampler = "grid"
        pruner = "{pruner}"
        trials = {len(POINTS)}
        seed = 0
        [objective]
        {objective}
        [pruner]
        min_resource = 1
        reduction_factor = 3
        {table}
        [params]
        i = {{ type = "choice", values = {list(range(len(POINTS)))} }}
        """))
    return path


def states(url):
    return [(t.state, t.pruned_step) for _, t in sorted(trials_of(url, "mo").items())]


@pytest.mark.parametrize("kind", ["python", "command"])
def test_a_rung_computed_by_hand_decides_on_the_vectors(project, db_url, kind):
    proj = project / "proj"
    if kind == "python":
        (proj / "mo.py").write_text(PYTHON.format(points=POINTS, late_loss=False))
        objective = 'kind = "python"\nfunction = "mo:train"'
    else:
        (proj / "prog.py").write_text(COMMAND.format(points=POINTS))
        objective = 'kind = "command"\nargv = ["python", "prog.py"]'
    f = space(proj / "space.toml", objective)
    r = run_cli(db_url, "run", str(f), cwd=project / "work", timeout=120)
    assert r.returncode == 0, r.stderr
    assert states(db_url) == EXPECTED
    trials = trials_of(db_url, "mo")
    assert trials[5].note.startswith(
        "rung 0: (acc, loss) at step 1 is on front 1: not in the best 2 of 6")
    assert trials[1].note.startswith("rung 0: (acc, loss) at step 1 is on front 2")
    # a pruned trial keeps its values so far (the first objective's best as `value`)
    assert trials[5].value == pytest.approx(0.85)


def test_an_objective_reported_only_with_the_result_is_left_out_at_rungs(project, db_url):
    """loss comes only with the result: the rungs compare acc alone, and trial 4 (0.8 < 0.9)
    is pruned at step 1 where the vectors kept it."""
    proj = project / "proj"
    (proj / "mo.py").write_text(PYTHON.format(points=POINTS, late_loss=True))
    f = space(proj / "space.toml", 'kind = "python"\nfunction = "mo:train"')
    r = run_cli(db_url, "run", str(f), cwd=project / "work", timeout=120)
    assert r.returncode == 0, r.stderr
    got = states(db_url)
    assert got[4] == ("pruned", 1)
    assert trials_of(db_url, "mo")[4].note.startswith("rung 0: (acc) at step 1 is on front 2")


def test_a_pruner_metric_keeps_the_single_objective_rule(project, db_url):
    proj = project / "proj"
    (proj / "mo.py").write_text(PYTHON.format(points=POINTS, late_loss=False))
    f = space(proj / "space.toml", 'kind = "python"\nfunction = "mo:train"',
              table='metric = "acc"\ndirection = "maximize"')
    r = run_cli(db_url, "run", str(f), cwd=project / "work", timeout=120)
    assert r.returncode == 0, r.stderr
    got = states(db_url)
    assert got[4] == ("pruned", 1)          # on acc alone, 0.8 is not the best of 5
    assert "acc 0.8 at rung 0" in trials_of(db_url, "mo")[4].note


TWO_PROCESSES = '''
import os, time
from hpsearch.pruners import Pruned

def train(params, report):
    acc, loss = {0: (0.9, 0.1), 1: (0.8, 0.2)}[params["i"]]
    if report(1, {"acc": acc, "loss": loss}):
        raise Pruned("told to stop", step=1)
    block = os.environ.get("OBJ_BLOCK")
    t0 = time.time()
    while block and os.path.exists(block) and time.time() - t0 < 60:
        time.sleep(0.05)
    report(2, {"acc": acc, "loss": loss})
    return {"acc": acc, "loss": loss}
'''


@pytest.mark.slow  # two processes
def test_the_vectors_of_another_process_decide(project, db_url, blocker):
    """Process A's trial (0.9, 0.1) waits after step 1; process B's (0.8, 0.2), dominated by
    it, is pruned at step 1 against A's stored vector (alone at the rung it would go on)."""
    proj = project / "proj"
    (proj / "two.py").write_text(TWO_PROCESSES)
    f = space(proj / "space.toml", 'kind = "python"\nfunction = "two:train"',
              table="max_resource = 2")
    f.write_text(f.read_text().replace("trials = 6", "trials = 2").replace(
        "reduction_factor = 3", "reduction_factor = 2"))
    a = spawn_cli(db_url, "run", str(f), "--add", "1", cwd=project / "work", env=blocker.env)
    try:
        wait_until(lambda: any(t.steps for t in trials_of(db_url, "mo").values()),
                   what="trial 0's step 1", proc=a)
        b = run_cli(db_url, "run", str(f), "--add", "1", cwd=project / "work")
        assert b.returncode == 0, b.stderr
        trials = trials_of(db_url, "mo")
        assert (trials[1].state, trials[1].pruned_step) == ("pruned", 1)
        assert trials[1].note.startswith(
            "rung 0: (acc, loss) at step 1 is on front 2: not in the best 1 of 2")
        assert trials[0].state == "running"
    finally:
        blocker.release()
        out, err = a.communicate(timeout=60)
    assert a.returncode == 0, err
    assert trials_of(db_url, "mo")[0].state == "complete"


@pytest.mark.slow  # trains
def test_the_builtin_trainer_is_pruned_on_the_objectives_it_reports_per_epoch(project, db_url):
    """accuracy and latency: inference_ms comes only with the result, so the rung (epoch 1,
    hyperband with one bracket) compares val_accuracy alone; lr 1e-7 is pruned there."""
    from support.studies import hyperband_digits

    f = project / "proj" / "space.toml"
    f.write_text(hyperband_digits().replace(
        'metric = "val_accuracy"\ndirection = "maximize"',
        'metric = ["val_accuracy", "inference_ms"]\ndirection = ["maximize", "minimize"]'))
    r = run_cli(db_url, "run", str(f), cwd=project / "work", timeout=300)
    assert r.returncode == 0, r.stderr
    trials = trials_of(db_url, "digits")
    assert trials[0].state == "complete" and len(trials[0].steps) == 4
    assert (trials[1].state, trials[1].pruned_step) == ("pruned", 1)
    assert trials[1].note.startswith(
        "bracket 0: rung 0: (val_accuracy) at step 1 is on front 2: not in the best 1 of 2")
