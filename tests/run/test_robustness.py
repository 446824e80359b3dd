"""The runner against objectives that misbehave: swallowed signals, ``sys.exit``, repeated
steps, NaN metrics, wrong settings, and workers that stop with an error."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from support.runs import running_trials, spawn_cli, wait_until, worker_pid
from support.runs import trials_of as trials_by_number
from support.studies import X_PARAM, python_study

from hpsearch.errors import Interrupted
from hpsearch.run import RunOptions, RunSummary, prepare_study, run_study, worker_id
from hpsearch.run import pool
from hpsearch.run import recorder as trial_module
from hpsearch.space import load_space
from hpsearch.storage import Storage


def space_text(trials: int, function: str, extra: str = "") -> str:
    return python_study("rob", function, trials=trials, direction="maximize", study="seed = 1",
                        params=f"{X_PARAM}\n{extra}")


def write(project: Path, source: str, *, trials: int = 3, function: str = "robobj:train",
          extra: str = "") -> Path:
    (project / "proj" / "robobj.py").write_text(textwrap.dedent(source))
    path = project / "proj" / "space.toml"
    path.write_text(space_text(trials=trials, function=function, extra=extra))
    return path


def db_of(project: Path) -> str:
    """The database of the ``db_url`` fixture, for helpers that take the project."""
    return f"sqlite:///{project}/h.db"


def trials_of(project: Path, study: str = "rob"):
    return trials_by_number(db_of(project), study)


def raw_rows(project: Path, sql: str):
    con = sqlite3.connect(project / "h.db")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# ------------------------------------------------------------------------------ 1. signals
SWALLOWING = '''
import os, pathlib, time

def train(params, report):
    here = pathlib.Path(__file__).parent
    calls = here / "calls"
    n = int(calls.read_text()) if calls.exists() else 0
    calls.write_text(str(n + 1))
    try:
        # written inside the try: a signal after it reaches the code that swallows it
        (here / "started").write_text(str(os.getpid()))
        t0 = time.time()
        while time.time() - t0 < 3:
            time.sleep(0.02)
    except {caught}:
        return -1.0   # swallows the stop request
    return params["x"]
'''


@pytest.mark.slow
@pytest.mark.parametrize("caught", ["Exception", "BaseException"])
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_swallowed_signal_still_stops_the_run(project, caught, signum, code):
    space = write(project, SWALLOWING.format(caught=caught), trials=3)
    proc = subprocess.Popen(
        [sys.executable, "-m", "hpsearch", "--db", db_of(project), "run", str(space)],
        cwd=project / "work", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until((project / "proj" / "started").exists, proc=proc, what="the trial's start")
    proc.send_signal(signum)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert f"interrupted by {signal.Signals(signum).name}; trial 0 marked interrupted" in err
    trials = trials_of(project)
    assert [(n, t.state) for n, t in trials.items()] == [(0, "interrupted")]
    assert (project / "proj" / "calls").read_text() == "1"  # no further trial started


WORKER_SWALLOWING = '''
import os, time

def train(params, report):
    block = os.environ["OBJ_BLOCK"]
    try:
        t0 = time.time()
        while os.path.exists(block) and time.time() - t0 < 60:
            time.sleep(0.02)
    except BaseException:
        return -1.0
    return params["x"]
'''


@pytest.mark.slow
def test_a_swallowed_signal_stops_every_worker(project, blocker):
    space = write(project, WORKER_SWALLOWING, trials=6)
    proc = spawn_cli(db_of(project), "run", str(space), "--workers", "2", cwd=project / "work",
                     env=blocker.env)
    running = wait_until(lambda: running_trials(db_of(project), "rob", 2), proc=proc,
                         what="2 running trials")
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    blocker.release()
    assert proc.returncode == 130, err
    trials = trials_of(project)
    assert sorted((n, t.state) for n, t in trials.items()) == [
        (t.number, "interrupted") for t in sorted(running, key=lambda t: t.number)]


# ----------------------------------------------------------------------- 2. sys.exit
EXITING = '''
import pathlib, sys

def train(params, report):
    calls = pathlib.Path(__file__).with_name("calls")
    n = int(calls.read_text()) if calls.exists() else 0
    calls.write_text(str(n + 1))
    report(0, {"loss": 1.0})
    if n == 0:
        sys.exit(3)
    return params["x"]
'''


def test_sys_exit_in_the_objective_fails_the_trial_and_the_study_goes_on(project, invoke):
    space = write(project, EXITING, trials=3)
    r = invoke("run", space)
    assert r.exit_code == 0, r.output
    assert "ran 3 trials (2 complete, 1 failed)" in r.stdout
    trials = trials_of(project)
    assert trials[0].state == "failed" and trials[0].error.startswith("SystemExit: 3")
    assert trials[0].steps == [(0, {"loss": 1.0})]
    assert [t.state for t in trials.values()] == ["failed", "complete", "complete"]


CRASHING = '''
import os, pathlib

class Crash(BaseException):
    pass

def train(params, report):
    try:
        os.unlink(pathlib.Path(__file__).with_name("crash"))
    except FileNotFoundError:
        return params["x"]
    raise Crash("worker-level failure")
'''


@pytest.mark.slow
def test_a_worker_that_stops_with_an_error_leaves_no_trial_running(project):
    space = write(project, CRASHING, trials=4)
    (project / "proj" / "crash").touch()
    res = subprocess.run(
        [sys.executable, "-m", "hpsearch", "--db", db_of(project), "run", str(space),
         "--workers", "2"], cwd=project / "work", capture_output=True, text=True, timeout=120)
    assert res.returncode == 1, res.stderr
    assert "Crash: worker-level failure" in res.stderr
    trials = trials_of(project)
    assert not [t for t in trials.values() if t.state == "running"]
    (crashed,) = [t for t in trials.values() if t.state == "failed"]
    assert "Crash" in crashed.error
    # queued once more, like the trial of a worker that died
    assert [t.retry_of for t in trials.values() if t.retry_of is not None] == [crashed.number]


# ------------------------------------------------------------------------------ 3. steps
REPEATING = '''
def train(params, report):
    report(0, {"a": 1})
    report(0, {"b": 2})
    report(1, {"a": 3})
    report(0, {"a": 10})
    report(2, {"a": 4})
    report(2, {"c": 5})
    return params["x"]
'''


@pytest.mark.parametrize("flush_s", [trial_module.STEP_FLUSH_S, -1.0],
                         ids=["buffered", "flush-every-report"])
def test_a_repeated_step_is_merged_not_a_crash(project, monkeypatch, flush_s, invoke):
    monkeypatch.setattr(trial_module, "STEP_FLUSH_S", flush_s)
    space = write(project, REPEATING, trials=2)
    r = invoke("run", space)
    assert r.exit_code == 0, r.output
    trials = trials_of(project)
    assert [t.state for t in trials.values()] == ["complete", "complete"]
    assert trials[0].steps == [(0, {"a": 10, "b": 2}), (1, {"a": 3}), (2, {"a": 4, "c": 5})]


# ------------------------------------------------------------------------------ 4. NaN
NONFINITE = '''
def train(params, report):
    report(0, {"loss": float("nan"), "gain": float("inf"), "ok": 0.5})
    if params["x"] < 0.5:
        return {"score": float("nan"), "aux": float("-inf")}
    return {"score": params["x"], "aux": float("nan"), "n": 2}
'''


def test_non_finite_metrics_are_stored_as_null(project, invoke):
    space = write(project, NONFINITE, trials=6)
    r = invoke("run", space)
    assert r.exit_code == 0, r.output
    trials = trials_of(project)
    failed = [t for t in trials.values() if t.state == "failed"]
    complete = [t for t in trials.values() if t.state == "complete"]
    assert failed and complete  # seed 1 draws x on both sides of 0.5
    for t in failed:
        assert t.error == "metric 'score' is nan"
        assert t.metrics == {"score": None, "aux": None}
    for t in complete:
        assert t.metrics == {"score": t.params["x"], "aux": None, "n": 2}
    for t in trials.values():
        assert t.steps == [(0, {"loss": None, "gain": None, "ok": 0.5})]
    # strict JSON in the database (PostgreSQL's json type refuses NaN and Infinity)
    stored = "select metrics from trials union all select metrics from trial_steps"
    for (text,) in raw_rows(project, stored):
        json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))


# -------------------------------------------------------------------- 5. settings first
def test_a_wrong_objective_writes_no_study(project, invoke):
    space = write(project, "def train(params, report):\n    return 1.0\n",
                  function="robobj:trian")
    r = invoke("run", space)
    assert r.exit_code == 5
    assert "has no attribute 'trian'" in r.stderr
    assert raw_rows(project, "select count(*) from studies") == [(0,)]
    assert json.loads(invoke("studies", "--format", "json").stdout) == []


def test_a_wrong_trainer_parameter_writes_no_study(project, invoke):
    path = project / "proj" / "space.toml"
    path.write_text(textwrap.dedent('''
        [study]
        name = "rob"
        metric = "val_accuracy"
        direction = "maximize"
        trials = 2

        [trainer]
        dataset = "digits"

        [params]
        lr = { type = "log_uniform", low = 1e-4, high = 1e-1 }
        learning_rat = { type = "uniform", low = 0.0, high = 1.0 }
    '''))
    r = invoke("run", path)
    assert r.exit_code == 2, r.output
    assert "learning_rat" in r.stderr
    assert raw_rows(project, "select count(*) from studies") == [(0,)]


def test_a_study_without_trials_takes_the_changed_space(project, invoke):
    source = "def train(params, report):\n    return params['x'] + params.get('y', 0)\n"
    space = write(project, source, trials=2)
    storage = Storage(db_of(project))
    prepare_study(storage, load_space(space))  # an earlier attempt that ran nothing
    storage.dispose()
    space.write_text(space_text(trials=2, function="robobj:train",
                                  extra='y = { type = "uniform", low = 0.0, high = 1.0 }'))
    r = invoke("run", space)
    assert r.exit_code == 0, r.output
    trials = trials_of(project)
    assert len(trials) == 2 and all(set(t.params) == {"x", "y"} for t in trials.values())
    storage = Storage(db_of(project))
    study = storage.get_study("rob")
    assert set(study.space["params"]) == {"x", "y"}
    assert set(storage.latest_round(study.id).space["params"]) == {"x", "y"}
    storage.dispose()
    # with trials, a change is refused as before
    space.write_text(space_text(trials=2, function="robobj:train", extra=""))
    r = invoke("run", space)
    assert r.exit_code == 3 and "parameter 'y' was removed" in r.stderr


# ------------------------------------------------------------------ 6. stale in summary
@pytest.mark.slow
def test_the_summary_lists_the_trial_of_a_lost_worker(project, blocker, monkeypatch):
    space = write(project, "", trials=4, function=blocker.module(project / "proj"))
    monkeypatch.setenv(*blocker.env.popitem())  # the worker processes inherit it
    killed: list[int] = []
    url = db_of(project)

    def kill_one() -> None:
        try:
            running = wait_until(lambda: running_trials(url, "rob", 2), timeout=60,
                                 what="2 running trials")
            killed.append(running[0].number)
            os.kill(worker_pid(running[0]), signal.SIGKILL)
            # until the parent has seen it go
            wait_until(lambda: trials_by_number(url, "rob")[killed[0]].state == "failed",
                       timeout=60, what="the killed worker's trial failed as stale")
        finally:
            blocker.release()

    thread = threading.Thread(target=kill_one)
    thread.start()
    storage = Storage(url)
    try:
        summary = run_study(storage, load_space(space), RunOptions(workers=2))
    finally:
        thread.join()
        storage.dispose()
    assert killed and summary.stale_recovered == killed
    assert summary.lost_workers and "SIGKILL" in summary.lost_workers[0]


def test_a_failed_intermediate_step_write_does_not_fail_the_trial(project, monkeypatch, invoke):
    from hpsearch.errors import StorageError

    monkeypatch.setattr(trial_module, "STEP_FLUSH_S", -1.0)  # write after every report
    calls = {"n": 0}
    real = Storage.add_steps

    def flaky(self, trial_id, steps):
        calls["n"] += 1
        if calls["n"] == 1:
            raise StorageError("sqlite:///x.db: add_steps failed: database is locked")
        return real(self, trial_id, steps)

    monkeypatch.setattr(Storage, "add_steps", flaky)
    space = write(project, REPEATING, trials=1)
    r = invoke("run", space)
    assert r.exit_code == 0, r.output
    (trial,) = trials_of(project).values()
    assert trial.state == "complete" and calls["n"] >= 2
    assert trial.steps == [(0, {"a": 10, "b": 2}), (1, {"a": 3}), (2, {"a": 4, "c": 5})]


# ------------------------------------------------------------------ 7. signals at the seams
QUICK = '''
def train(params, report):
    return params["x"]
'''


def test_a_signal_while_a_claim_commits_marks_the_claimed_trial(project, monkeypatch):
    real = Storage.claim

    def claim_then_signal(self, *args, **kwargs):
        trial = real(self, *args, **kwargs)  # committed: the trial is running
        os.kill(os.getpid(), signal.SIGTERM)
        return trial

    monkeypatch.setattr(Storage, "claim", claim_then_signal)
    space = write(project, QUICK, trials=3)
    storage = Storage(db_of(project))
    try:
        with pytest.raises(Interrupted, match="trial 0 marked interrupted"):
            run_study(storage, load_space(space))
    finally:
        storage.dispose()
    assert {n: t.state for n, t in trials_of(project).items()} == {0: "interrupted"}


def test_a_signal_just_after_a_trial_finished_marks_nothing(project, monkeypatch):
    real = Storage.finish

    def finish_then_signal(self, *args, **kwargs):
        real(self, *args, **kwargs)  # committed: the trial is complete
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(Storage, "finish", finish_then_signal)
    space = write(project, QUICK, trials=3)
    storage = Storage(db_of(project))
    try:
        with pytest.raises(Interrupted) as info:
            run_study(storage, load_space(space))
    finally:
        storage.dispose()
    assert "marked interrupted" not in str(info.value)
    assert {n: t.state for n, t in trials_of(project).items()} == {0: "complete"}


def test_a_worker_killed_before_its_start_reached_the_parent_has_its_trial_recovered(project):
    space = write(project, QUICK, trials=3)
    storage = Storage(db_of(project))
    try:
        study, round_ = prepare_study(storage, load_space(space))

        class Gone:  # a worker process that died before its "start" event was read
            pid = 424242
            exitcode = -signal.SIGKILL

        trial = storage.claim(study, round_, propose=lambda i: {"x": 0.5}, limit=3,
                              worker=worker_id(Gone.pid), device=None)
        summary = RunSummary(study=study.name, round=round_.number)
        pool.recover_lost_worker(storage, study, summary, 0, Gone(), None, signalled=False)
    finally:
        storage.dispose()
    assert summary.stale_recovered == [trial.number]
    assert summary.lost_workers == ["worker 0 (pid 424242): signal SIGKILL"]
    states = {n: t.state for n, t in trials_of(project).items()}
    assert states == {0: "failed", 1: "queued"}
