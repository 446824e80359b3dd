"""What an objective reports, KeyboardInterrupt without a signal, the run's best against the
study's, trials running elsewhere, failing studies, the seed warning, start-up outside trial 0,
isolated trials, and signals while workers start."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from support.runs import trials_of as trials_by_number
from support.studies import command_study, python_study

from hpsearch.errors import TooManyFailures
from hpsearch.run import RunOptions, prepare_study, run_study, worker_id
from hpsearch.space import load_space
from hpsearch.storage import Storage


def space_text(trials: int, study_extra: str = "", objective_extra: str = "") -> str:
    return python_study("hard", "hardobj:train", trials=trials, direction="maximize",
                        study=study_extra, objective=objective_extra)


def write(project: Path, source: str, *, trials: int = 3, study_extra: str = "",
          objective_extra: str = "") -> Path:
    (project / "proj" / "hardobj.py").write_text(textwrap.dedent(source))
    path = project / "proj" / "space.toml"
    path.write_text(space_text(trials=trials, study_extra=study_extra,
                                 objective_extra=objective_extra))
    return path


def trials_of(db_url: str):
    return trials_by_number(db_url, "hard")


def run_here(db_url: str, space: Path, options: RunOptions = RunOptions(), **kw):
    storage = Storage(db_url)
    try:
        return run_study(storage, load_space(space), options, **kw)
    finally:
        storage.dispose()


# --------------------------------------------------------------- 11.1 what is reported
BAD_REPORTS = '''
def train(params, report):
    report(0, {"score": 0.1})
    report(10**20, {"score": 0.2})           # past PostgreSQL's INTEGER: dropped
    report(-1, {"score": 0.3})               # dropped
    report(2.5, {"score": 0.4})              # not an integer: dropped
    report(2, {"score": float("nan"), "big": 10**400, "ok": 1})
    report(3, "not a dict")                  # dropped
    return {"score": params["x"], "aux": float("inf")}
'''


def test_a_bad_report_is_dropped_with_a_note_and_the_study_goes_on(project, invoke, db_url):
    space = write(project, BAD_REPORTS, trials=2)
    r = invoke("run", space)
    assert r.exit_code == 0, r.output
    trials = trials_of(db_url)
    assert [t.state for t in trials.values()] == ["complete", "complete"]
    for t in trials.values():
        assert t.steps == [(0, {"score": 0.1}), (2, {"score": None, "big": None, "ok": 1})]
        assert t.metrics == {"score": t.params["x"], "aux": None}
        note = t.note or ""
        assert "report with step 100000000000000000000 ignored" in note
        assert "report with step -1 ignored" in note
        assert "metric 'score' was nan: stored as null" in note
        assert "result: metric 'aux' was inf: stored as null" in note


def test_a_command_printing_a_huge_step_does_not_break_the_study(project, invoke, db_url):
    prog = project / "proj" / "prog.py"
    prog.write_text(textwrap.dedent('''
        import json
        print(json.dumps({"score": 0.5, "step": 100000000000000000000}), flush=True)
        print(json.dumps({"score": 0.25, "step": 3}), flush=True)
        print(json.dumps({"score": 0.75}), flush=True)
    '''))
    space = project / "proj" / "space.toml"
    space.write_text(command_study("hard", prog, trials=2))
    r = invoke("run", space)
    assert r.exit_code == 0, r.output
    again = invoke("run", space)  # every later run (cron) still works
    assert again.exit_code == 0, again.output
    trials = trials_of(db_url)
    assert [t.state for t in trials.values()] == ["complete", "complete"]
    for t in trials.values():
        assert t.steps == [(3, {"score": 0.25}), (4, {"score": 0.75})]
        assert "100000000000000000000" in (t.note or "")


# ------------------------------------------------ 11.8 KeyboardInterrupt without a signal
RAISES_KI = '''
import pathlib

def train(params, report):
    calls = pathlib.Path(__file__).with_name("calls")
    n = int(calls.read_text()) if calls.exists() else 0
    calls.write_text(str(n + 1))
    if n == 0:
        raise KeyboardInterrupt("raised by the objective itself")
    return params["x"]
'''


def test_keyboard_interrupt_with_no_signal_fails_only_its_trial(project, invoke, db_url):
    space = write(project, RAISES_KI, trials=3)
    r = invoke("run", space)
    assert r.exit_code == 0, r.output
    trials = trials_of(db_url)
    assert [t.state for t in trials.values()] == ["failed", "complete", "complete"]
    assert trials[0].error.startswith("KeyboardInterrupt: raised by the objective itself")
    again = invoke("run", space)  # the study moved on: nothing left to re-run
    assert again.exit_code == 0 and "interrupted" not in again.output


# ------------------------------------------------------ 11.9 this run's best, the study's
VALUE_OF_X = '''
import os

def train(params, report):
    return float(os.environ.get("HARD_VALUE", params["x"]))
'''


def test_the_summary_tells_this_runs_best_from_the_studys(project, db_url, invoke, monkeypatch):
    space = write(project, VALUE_OF_X, trials=2)
    monkeypatch.setenv("HARD_VALUE", "0.9")
    first = run_here(db_url, space)
    assert first.best.number == first.study_best.number == 0  # ties: the first one
    monkeypatch.setenv("HARD_VALUE", "0.1")  # another run, worse trials
    second = run_here(db_url, space, RunOptions(add=1))
    assert second.best.number == 2 and second.best.value == 0.1
    assert second.study_best.number == 0 and second.study_best.value == 0.9
    r = invoke("run", space, "--add", "1")
    assert r.exit_code == 0, r.output
    assert "this run's best: trial 3: 0.1; study's best: trial 0: 0.9" in r.output


def test_the_study_best_includes_trials_of_runs_that_overlapped(project, db_url, monkeypatch):
    space = write(project, VALUE_OF_X, trials=1)
    monkeypatch.setenv("HARD_VALUE", "0.5")
    storage = Storage(db_url)
    study, round_ = prepare_study(storage, load_space(space))
    # another run finishes a better trial while this one runs
    other = storage.claim(study, round_, propose=lambda i: {"x": 0.99}, limit=None,
                          worker=worker_id(1), device=None)
    storage.finish(other.id, state="complete", value=0.99, metrics={"score": 0.99})
    storage.dispose()
    summary = run_here(db_url, space, RunOptions(add=1))
    assert summary.best.value == 0.5
    assert summary.study_best.number == other.number and summary.study_best.value == 0.99


# ---------------------------------------- end of issue 11: trials running elsewhere, stale
def test_a_run_right_after_a_crash_says_when_running_trials_go_stale(project, db_url, invoke,
                                                                      monkeypatch):
    space = write(project, VALUE_OF_X, trials=2)
    storage = Storage(db_url)
    study, round_ = prepare_study(storage, load_space(space))
    # a run that crashed (SIGKILL) a moment ago left its trial running, heartbeat fresh
    left = storage.claim(study, round_, propose=lambda i: {"x": 0.5}, limit=2,
                         worker=worker_id(424242), device=None)
    storage.dispose()
    before = time.time()
    summary = run_here(db_url, space, RunOptions(stale_after=120))
    assert summary.stopped == "target" and summary.ran == 1
    assert summary.running_elsewhere == 1
    assert before + 110 < summary.stale_at <= time.time() + 120
    r = invoke("run", space)
    assert r.exit_code == 0, r.output
    assert "1 trial still running elsewhere" in r.output
    assert "failed as stale at" in r.output and "retried by the next run" in r.output
    assert trials_of(db_url)[left.number].state == "running"


# --------------------------------------------------------- 12.7 every trial fails: stop
ALWAYS_FAILS = '''
def train(params, report):
    return {"los": 1.0}   # the wrong metric name: every trial fails
'''


def test_a_run_where_every_trial_fails_stops_with_its_own_exit_code(project, invoke, db_url):
    space = write(project, ALWAYS_FAILS, trials=20)
    r = invoke("run", space)
    assert r.exit_code == TooManyFailures.exit_code == 6, r.output
    assert "stopped after 5 trials in a row failed" in r.stderr
    assert "metric 'score' missing from the result" in r.stderr
    assert len(trials_of(db_url)) == 5


def test_the_failure_limit_is_a_study_setting_and_zero_turns_it_off(project, invoke, db_url):
    space = write(project, ALWAYS_FAILS, trials=4, study_extra="max_consecutive_failures = 2")
    r = invoke("run", space)
    assert r.exit_code == 6 and len(trials_of(db_url)) == 2, r.output
    space = write(project, ALWAYS_FAILS, trials=4, study_extra="max_consecutive_failures = 0")
    r = invoke("run", space)
    assert r.exit_code == 0, r.output
    assert len(trials_of(db_url)) == 4


def test_a_study_that_succeeded_once_goes_on_failing(project, db_url, monkeypatch):
    space = write(project, VALUE_OF_X, trials=1)
    run_here(db_url, space)
    monkeypatch.setenv("HARD_VALUE", "not a number")  # every later trial fails
    space = write(project, VALUE_OF_X, trials=9)
    summary = run_here(db_url, space)
    assert summary.states == {"failed": 8}


@pytest.mark.slow
def test_every_trial_failing_stops_all_workers(project, db_url):
    space = write(project, ALWAYS_FAILS, trials=40, study_extra="max_consecutive_failures = 4")
    with pytest.raises(TooManyFailures):
        run_here(db_url, space, RunOptions(workers=2))
    # the streak is shared: 4, plus at most one trial per worker already running
    assert 4 <= len(trials_of(db_url)) <= 6


# ---------------------------------------------------------------- 12.8 the seed warning
def test_the_seed_warning_only_when_a_seed_is_asked_for(project, db_url, caplog):
    space = write(project, VALUE_OF_X, trials=1)
    run_here(db_url, space, seed=3)  # created with --seed 3; the file has no seed
    with caplog.at_level(logging.WARNING, logger="hpsearch.run.studies"):
        run_here(db_url, space)
        run_here(db_url, space)
    assert "keeps its seed" not in caplog.text
    with caplog.at_level(logging.WARNING, logger="hpsearch.run.studies"):
        run_here(db_url, space, seed=0)
    assert "keeps its seed 3 (asked for 0)" in caplog.text


# ------------------------------------------------ 12.10 start-up is not trial 0's duration
STARTUP_PROBE = '''
import sys
from hpsearch.run import run_study, RunOptions
from hpsearch.space import load_space
from hpsearch.storage import Storage

claims = []
real = Storage.claim
def claim(self, *a, **k):
    claims.append("torch" in sys.modules)
    return real(self, *a, **k)
Storage.claim = claim
summary = run_study(Storage(sys.argv[1]), load_space(sys.argv[2]))
print(claims[0], summary.startup_s is not None and summary.startup_s > 0)
'''


@pytest.mark.slow
def test_the_builtin_trainer_starts_up_before_trial_0_is_claimed(project, db_url):
    space = project / "proj" / "space.toml"
    space.write_text(textwrap.dedent('''
        [study]
        name = "hard"
        metric = "val_accuracy"
        direction = "maximize"
        trials = 1

        [trainer]
        dataset = "digits"
        epochs = 1

        [params]
        learning_rate = { type = "log_uniform", low = 1e-3, high = 1e-2 }
    '''))
    res = subprocess.run([sys.executable, "-c", STARTUP_PROBE, db_url, str(space)],
                         capture_output=True, text=True, timeout=300, cwd=project / "work")
    assert res.returncode == 0, res.stderr
    # torch imported (and the data loaded) before trial 0's clock started; start-up measured
    assert res.stdout.split() == ["True", "True"]


# ------------------------------------------------- 11.12 a python objective in a child
ISOLATED = '''
import ctypes, os, pathlib, time

def train(params, report):
    calls = pathlib.Path(__file__).with_name("calls")
    n = int(calls.read_text()) if calls.exists() else 0
    calls.write_text(str(n + 1))
    report(0, {"score": 0.5})
    report(1, {"score": 0.6})
    if n == 0:
        os._exit(7)                       # the whole run, in-process
    if n == 1:
        ctypes.string_at(0)               # a segfault in native code
    if n == 2:
        time.sleep(600)                   # never returns: the timeout kills it
    return {"score": params["x"], "pid": os.getpid()}
'''


@pytest.mark.slow
def test_an_isolated_objective_that_crashes_or_hangs_fails_only_its_trial(project, invoke,
                                                                           db_url):
    space = write(project, ISOLATED, trials=5, objective_extra='timeout = "3s"')
    t0 = time.monotonic()
    r = invoke("run", space)
    assert r.exit_code == 0, r.output
    assert time.monotonic() - t0 < 60
    trials = trials_of(db_url)
    assert [t.state for t in trials.values()] == ["failed", "failed", "failed", "complete",
                                                  "complete"]
    assert "exited with status 7" in trials[0].error
    assert "killed by signal SIGSEGV" in trials[1].error
    assert "timed out after 3 s" in trials[2].error
    for t in trials.values():  # reports went through the pipe
        assert t.steps == [(0, {"score": 0.5}), (1, {"score": 0.6})]
    import os

    assert trials[3].metrics["pid"] != os.getpid()  # not this process
    assert trials[3].metrics["pid"] != trials[4].metrics["pid"]  # a process per trial


@pytest.mark.slow
def test_isolate_false_with_a_timeout_is_refused(project, invoke):
    space = write(project, VALUE_OF_X, objective_extra='timeout = "3s"\nisolate = false')
    r = invoke("validate", space)
    assert r.exit_code == 2 and "timeout needs isolate = true" in r.stderr


@pytest.mark.slow
def test_an_isolated_objective_is_pruned_like_one_in_process(project, db_url):
    from hpsearch.objectives import isolate
    from hpsearch.objectives import TrialContext, make_objective
    from hpsearch.pruners import Pruned

    space = write(project, '''
        def train(params, report):
            for step in range(10):
                if report(step, {"score": step}):
                    return {"score": step}
            return {"score": 99}
    ''', objective_extra="isolate = true")
    objective = make_objective(load_space(space)).isolated()
    assert isinstance(objective, isolate.IsolatedObjective)
    seen = []

    def report(step, metrics):
        seen.append((step, dict(metrics)))
        return step == 3

    with pytest.raises(Pruned) as info:
        objective.run({"x": 0.5}, TrialContext(number=0, seed=0, device=None, report=report))
    assert info.value.step == 3
    assert seen == [(s, {"score": s}) for s in range(4)]


@pytest.mark.slow
def test_an_objective_built_isolated_from_a_space_runs_in_a_child(project):
    """IsolatedObjective.from_space isolates the space's python objective whatever its
    `isolate` setting: the trial runs in another process."""
    from hpsearch.objectives import TrialContext
    from hpsearch.objectives import isolate

    space = write(project, '''
        import os

        def train(params, report):
            return {"score": params["x"], "pid": os.getpid()}
    ''', objective_extra="isolate = false")
    objective = isolate.IsolatedObjective.from_space(load_space(space))
    try:
        out = objective.run({"x": 0.25}, TrialContext(number=0, seed=0, device=None,
                                                      report=lambda step, metrics: False))
    finally:
        objective.close()
    assert out["score"] == 0.25 and out["pid"] != os.getpid()


def test_an_isolated_trial_sees_the_runs_environment_and_folder_of_now(project, monkeypatch,
                                                                      tmp_path):
    """A fork server's children inherit the environment and folder the server started with;
    each isolated trial gets the run's current ones instead (a variable set since, a chdir)."""
    from hpsearch.objectives import TrialContext, make_objective

    space = write(project, '''
        import os

        def train(params, report):
            return {"score": params["x"], "tag": os.environ.get("HARSH_TAG"), "cwd": os.getcwd()}
    ''', objective_extra="isolate = true")
    objective = make_objective(load_space(space)).isolated()
    ctx = TrialContext(number=0, seed=0, device=None, report=lambda step, metrics: False)
    try:
        monkeypatch.setenv("HARSH_TAG", "first")
        first = objective.run({"x": 0.1}, ctx)  # starts the fork server with this environment
        monkeypatch.setenv("HARSH_TAG", "second")
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)
        second = objective.run({"x": 0.2}, ctx)
    finally:
        objective.close()
    assert first["tag"] == "first"
    assert (second["tag"], second["cwd"]) == ("second", str(elsewhere))


# ------------------------------------------------- 11.5 / 11.10 workers and signals
def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for a parent that is gone is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except OSError:
        return True


@pytest.mark.slow
def test_workers_of_a_sigkilled_run_stop_and_mark_their_trials(project, db_url, blocker):
    import os
    import signal

    from support.runs import running_trials, spawn_cli, wait_until, worker_pid

    path = project / "proj" / "space.toml"
    path.write_text(space_text(trials=6, study_extra="", objective_extra="").replace(
        "hardobj:train", blocker.module(project / "proj")))
    proc = spawn_cli(db_url, "run", str(path), "--workers", "2", cwd=project / "work",
                     env=blocker.env)
    running = wait_until(lambda: running_trials(db_url, "hard", 2), proc=proc,
                         what="2 running trials")
    pids = [worker_pid(t) for t in running]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # still blocked: only noticing the dead parent stops them (not the end of the study)
    wait_until(lambda: not any(_alive(p) for p in pids), timeout=20,
               what="the orphaned workers gone")
    states = {t.number: t.state for t in trials_of(db_url).values()}
    assert sorted(states.values()) == ["interrupted", "interrupted"], states
    for p in pids:
        if _alive(p):
            os.kill(p, signal.SIGKILL)


@pytest.mark.slow
def test_ctrl_c_while_workers_start_is_one_line(project, db_url):
    import os
    import signal

    from support.runs import cli_argv

    space = write(project, VALUE_OF_X, trials=4)
    proc = subprocess.Popen(cli_argv("--db", db_url, "run", str(space), "--workers", "2"),
                            cwd=project / "work", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    end = time.monotonic() + 60
    while time.monotonic() < end and proc.poll() is None:
        kids = children.read_text().split() if children.exists() else []
        if len(kids) >= 2:  # the workers are starting (spawn: a fresh interpreter each)
            break
        time.sleep(0.002)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert "interrupted by SIGINT" in err


SLOW_IMPORT = '''
import pathlib, time
pathlib.Path(__file__).with_name("importing").touch()
time.sleep(20)   # the run is still starting (no signal handler of its own yet)

def train(params, report):
    return params["x"]
'''


@pytest.mark.slow
@pytest.mark.parametrize("signame, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_an_interrupt_during_start_up_is_one_line(project, db_url, signame, code):
    import signal

    from support.runs import spawn_cli, wait_until

    space = write(project, SLOW_IMPORT, trials=2)
    proc = spawn_cli(db_url, "run", str(space), cwd=project / "work")
    wait_until((project / "proj" / "importing").exists, proc=proc, what="the slow import")
    proc.send_signal(getattr(signal, signame))
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err and "Aborted" not in err, err
    assert err.strip().splitlines() == [err.strip()] and f"interrupted by {signame}" in err
