"""Pruners in the run loop, through the CLI: known curves pruned exactly as the rule says,
rungs shared between two processes, the three objective kinds, a pruned trial never resumed
as interrupted, PostgreSQL."""

from __future__ import annotations

import textwrap

import pytest

from support.runs import run_cli, spawn_cli, trials_of, wait_until
from support.studies import hyperband_digits

# A curve per trial: x * step / 8 for steps 1..8 (x from the grid-sampled index i). A True
# from report() is obeyed by raising Pruned, as the docs tell users to.
CURVES = '''
import os, signal, time
from hpsearch.pruners import Pruned

XS = {xs}

def train(params, report):
    x = XS[params["i"]]
    for step in range(1, 9):
        if report(step, {{"score": x * step / 8}}):
            if os.environ.get("SIGINT_AFTER_PRUNE"):
                os.kill(os.getpid(), signal.SIGINT)   # a Ctrl-C right after the pruning
                time.sleep(5)
            raise Pruned("told to stop", step=step)
    return {{"score": x}}
'''

XS = [0.9, 0.5, 0.8, 0.1, 0.95, 0.3, 0.6, 0.87]


def space(path, *, name="curves", pruner="median", table="", n=len(XS), extra="",
          objective='kind = "python"\nfunction = "curves:train"'):
    path.write_text(textwrap.dedent(f"""\
        [study]
        name = "{name}"
        metric = "score"
        direction = "maximize"
        sampler = "grid"
        pruner = "{pruner}"
        trials = {n}
        seed = 0
        {extra}
        [objective]
        {objective}

        [pruner]
        {table}

        [params]
        i = {{ type = "choice", values = {list(range(n))} }}
        """))
    return path


def median_rule(xs, *, startup, warmup):
    """The median rule, written out on its own: state and pruned step of each trial in order
    (curves rise, so best so far = value at the step)."""
    out, complete = [], []
    for x in xs:
        pruned = None
        if len(complete) >= startup:
            for step in range(max(1, warmup), 9):
                at = sorted(c * step / 8 for c in complete)
                m = len(at)
                med = at[m // 2] if m % 2 else (at[m // 2 - 1] + at[m // 2]) / 2
                if x * step / 8 < med:
                    pruned = step
                    break
        out.append(("complete", None) if pruned is None else ("pruned", pruned))
        if pruned is None:
            complete.append(x)
    return out


def test_median_rule_written_out_matches_the_hand_count():
    # Trials 3, 5, 6 fall below the median of the complete ones at the first judged step.
    assert median_rule(XS, startup=2, warmup=2) == [
        ("complete", None), ("complete", None), ("complete", None), ("pruned", 2),
        ("complete", None), ("pruned", 2), ("pruned", 2), ("complete", None)]


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_known_curves_are_pruned_exactly_as_the_median_rule_says(project, request, db):
    url = f"sqlite:///{project}/h.db" if db == "sqlite" else request.getfixturevalue("pg_url")
    proj = project / "proj"
    (proj / "curves.py").write_text(CURVES.format(xs=XS))
    f = space(proj / "space.toml", table="n_startup_trials = 2\nn_warmup_steps = 2")
    r = run_cli(url, "run", str(f), cwd=project / "work")
    assert r.returncode == 0, r.stderr
    trials = trials_of(url, "curves")
    got = [(t.state, t.pruned_step) for _, t in sorted(trials.items())]
    assert got == median_rule(XS, startup=2, warmup=2)
    for t in trials.values():
        x = XS[t.params["i"]]
        if t.state == "pruned":
            # Best so far of the study's metric, its curve up to the step, the reason.
            assert t.value == pytest.approx(x * t.pruned_step / 8)
            assert [s for s, _ in t.steps] == list(range(1, t.pruned_step + 1))
            assert "worse than the median" in t.note
            assert t.error is None
        else:
            assert t.value == x and len(t.steps) == 8
    # Pruned trials never count as the best, and refine's top set takes complete ones only.
    from hpsearch.storage import Storage
    s = Storage(url)
    try:
        assert s.best(s.get_study("curves")).value == 0.95
    finally:
        s.dispose()


TWO_PROCESSES = '''
import os, time
from hpsearch.pruners import Pruned

def train(params, report):
    x = {0: 0.9, 1: 0.1}[params["i"]]
    if report(1, {"score": x}):
        raise Pruned("told to stop", step=1)
    block = os.environ.get("OBJ_BLOCK")
    t0 = time.time()
    while block and os.path.exists(block) and time.time() - t0 < 60:
        time.sleep(0.05)
    report(2, {"score": x})
    return {"score": x}
'''


@pytest.mark.slow  # over a second: out of `make test-fast`
def test_asha_rungs_are_shared_between_two_processes(project, db_url, blocker):
    """Process A's trial (0.9) reaches rung 0 and waits there; process B's (0.1) arrives
    later and is pruned against A's stored value. Alone at the rung it would be promoted (the
    first trial at a rung goes on), so its pruning proves it read the other process's step."""
    proj = project / "proj"
    (proj / "two.py").write_text(TWO_PROCESSES)
    f = space(proj / "space.toml", name="two", pruner="asha", n=2,
              objective='kind = "python"\nfunction = "two:train"',
              table="min_resource = 1\nreduction_factor = 2")
    a = spawn_cli(db_url, "run", str(f), "--add", "1", cwd=project / "work", env=blocker.env)
    try:
        wait_until(lambda: any(t.steps for t in trials_of(db_url, "two").values()),
                   what="trial 0's step 1", proc=a)
        b = run_cli(db_url, "run", str(f), "--add", "1", cwd=project / "work")
        assert b.returncode == 0, b.stderr
        trials = trials_of(db_url, "two")
        assert trials[1].state == "pruned" and trials[1].pruned_step == 1
        assert "best 1 of 2" in trials[1].note
        assert trials[0].state == "running"
    finally:
        blocker.release()
        out, err = a.communicate(timeout=60)
    assert a.returncode == 0, err
    assert trials_of(db_url, "two")[0].state == "complete"


@pytest.mark.slow  # over a second: out of `make test-fast`
def test_a_pruned_trial_is_never_resumed_as_interrupted(project, db_url):
    """SIGINT right after the pruning decision: the trial is recorded pruned (finished), the
    run stops as interrupted, and the next run does not run that trial again."""
    proj = project / "proj"
    (proj / "curves.py").write_text(CURVES.format(xs=XS))
    f = space(proj / "space.toml", table="n_startup_trials = 2\nn_warmup_steps = 2")
    r = run_cli(db_url, "run", str(f), "--add", "3", cwd=project / "work")
    assert r.returncode == 0, r.stderr
    r = run_cli(db_url, "run", str(f), "--add", "1", cwd=project / "work",
                env={"SIGINT_AFTER_PRUNE": "1"})
    assert r.returncode == 130, (r.returncode, r.stderr)
    trials = trials_of(db_url, "curves")
    assert trials[3].state == "pruned" and trials[3].pruned_step == 2
    r = run_cli(db_url, "run", str(f), "--add", "1", cwd=project / "work")
    assert r.returncode == 0, r.stderr
    trials = trials_of(db_url, "curves")
    assert trials[3].state == "pruned"          # not re-run
    assert trials[4].params == {"i": 4} and trials[4].state == "complete"


COMMAND = '''
import json, os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)      # a program that ignores SIGTERM
x = json.loads(os.environ["HPSEARCH_PARAMS"])["x"]
for step in range(1, 6):
    print(json.dumps({"step": step, "score": x * step}), flush=True)
    time.sleep(0.05)
if x < 0.5:
    time.sleep(120)                                # only SIGKILL ends it in time
print(json.dumps({"score": x * 5}), flush=True)
'''


@pytest.mark.slow
def test_a_command_that_ignores_sigterm_is_killed_when_pruned(project, db_url):
    import time

    proj = project / "proj"
    (proj / "prog.py").write_text(COMMAND)
    f = proj / "space.toml"
    f.write_text(textwrap.dedent("""\
        [study]
        name = "cmd"
        metric = "score"
        direction = "maximize"
        sampler = "grid"
        pruner = "asha"
        trials = 2
        [objective]
        kind = "command"
        argv = ["python", "prog.py"]
        kill_grace = 1
        [pruner]
        min_resource = 2
        reduction_factor = 2
        [params]
        x = { type = "choice", values = [0.9, 0.1] }
        """))
    t0 = time.monotonic()
    r = run_cli(db_url, "run", str(f), cwd=project / "work", timeout=60)
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - t0 < 40
    trials = trials_of(db_url, "cmd")
    assert trials[0].state == "complete"
    assert trials[1].state == "pruned" and trials[1].pruned_step == 2


@pytest.mark.slow
def test_the_builtin_trainer_is_pruned_and_hyperband_reads_its_epochs(project, db_url):
    """Hyperband with no max_resource takes [trainer] epochs (4): one bracket, a rung at epoch
    1; a learning rate of 1e-7 is far below 0.01 there and is pruned after one epoch."""
    f = project / "proj" / "space.toml"
    f.write_text(hyperband_digits())
    r = run_cli(db_url, "run", str(f), cwd=project / "work", timeout=300)
    assert r.returncode == 0, r.stderr
    trials = trials_of(db_url, "digits")
    assert trials[0].state == "complete" and len(trials[0].steps) == 4
    assert trials[1].state == "pruned" and trials[1].pruned_step == 1
    assert [s for s, _ in trials[1].steps] == [1]
    assert trials[1].value == trials[1].steps[0][1]["val_accuracy"]


def test_pruner_option_overrides_the_space(project, db_url):
    from hpsearch.run import RunOptions, run_study
    from hpsearch.space import load_space
    from hpsearch.storage import Storage

    proj = project / "proj"
    (proj / "curves.py").write_text(CURVES.format(xs=XS))
    f = space(proj / "space.toml", pruner="none")
    storage = Storage(db_url)
    try:
        summary = run_study(storage, load_space(f), RunOptions(pruner="median"))
        # Median defaults: 5 complete trials before judging; trials 5 (0.3) and 6 (0.6) are
        # below the median of 0.9, 0.5, 0.8, 0.95 (and 0.1) from step 1 on.
        assert summary.states == {"complete": 6, "pruned": 2}
    finally:
        storage.dispose()


def test_pruner_option_reads_the_pruner_table_of_a_file_without_a_pruner(tmp_path, monkeypatch):
    """`[study] pruner` left out (none) with a `[pruner]` table: `run --pruner median` uses the
    table's settings instead of refusing them as settings the none pruner does not read."""
    from hpsearch.space import parse_space

    space = parse_space(
        '[study]\nmetric = "loss"\ndirection = "minimize"\n'
        '[objective]\nkind = "python"\nfunction = "m:f"\n'
        '[pruner]\nn_startup_trials = 2\n'
        '[params]\nx = { type = "uniform", low = 0.0, high = 1.0 }\n', source="s.toml")
    assert space.study.pruner == "none"
    assert space.pruner_settings.n_startup_trials == 2


def test_a_reported_int_past_a_double_is_read_as_infinite_not_an_error():
    """`report(step, {"score": 10**400})` with a pruner set: the pruner reads +inf (a value as
    large as can be), where float() raises OverflowError out of report()."""
    import math

    from hpsearch.run.pruning import as_float

    assert as_float(10**400) == math.inf and as_float(-(10**400)) == -math.inf
    assert math.isnan(as_float("x")) and math.isnan(as_float(None)) and as_float(3) == 3.0
