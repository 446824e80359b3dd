"""Many trials at once, with real processes: --workers, overlapping runs, SIGKILL, SIGTERM,
--max-concurrent, and ``hpsearch worker``, on SQLite (tests/test_postgres.py: the same on
PostgreSQL)."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from support.runs import (assert_contiguous, par_space, run_cli, running_trials, spawn_cli,
                          wait_until, worker_pid, write_par_space)
from support.runs import trials_of as trials_by_number

from hpsearch.run import RunOptions, prepare_study, resolve_devices, run_study, threads_per_worker
from hpsearch.space import load_space
from hpsearch.storage import Storage, StudyBusy


def trials_of(url: str, study: str = "par"):
    return sorted(trials_by_number(url, study).values(), key=lambda t: t.number)


def wait_running(url: str, n: int, *, proc=None):
    """Wait until ``n`` trials of the study are running; return them."""
    return wait_until(lambda: running_trials(url, "par", n), proc=proc,
                      what=f"{n} running trials")


def integrity_ok(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# ------------------------------------------------------------------------------------ tests
def test_resolve_devices_and_threads():
    assert resolve_devices("cuda:0, cuda:1") == ["cuda:0", "cuda:1"]
    assert resolve_devices(None) == [None]
    assert threads_per_worker(10_000) == 1
    assert threads_per_worker(1) == (os.cpu_count() or 1)


@pytest.mark.parametrize("gpus, expected", [(0, ["cpu"]), (2, ["cuda:0", "cuda:1"])])
def test_resolve_devices_auto_is_every_gpu_else_the_cpu(monkeypatch, gpus, expected):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpus > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    assert resolve_devices("auto") == expected


def test_resolve_devices_refuses_an_empty_list():
    from hpsearch.errors import ConfigError

    with pytest.raises(ConfigError, match="--devices: expected auto or a list like cuda:0,cuda:1"):
        resolve_devices(" , ")


@pytest.mark.slow
def test_four_workers_400_trials_sqlite(tmp_path, monkeypatch):
    space = load_space(write_par_space(tmp_path, trials=400))
    # Instant trials: one worker could claim them all before another starts. Each process's
    # first trial waits until a second process has started one, so the work is shared
    # whatever the machine's speed.
    (tmp_path / "meet").mkdir()
    monkeypatch.setenv("OBJ_MEET", str(tmp_path / "meet"))
    url = f"sqlite:///{tmp_path / 'hp.db'}"
    storage = Storage(url)
    summary = run_study(storage, space, RunOptions(workers=4, stale_after=60))
    assert summary.ran == 400 and summary.states == {"complete": 400}, summary
    trials = trials_of(url)
    assert len(trials) == 400 and all(t.state == "complete" for t in trials)
    assert_contiguous(trials, 400)
    assert len({t.worker for t in trials}) >= 2  # the work was shared
    assert sorted(t.sample_index for t in trials) == list(range(400))
    integrity_ok(tmp_path / "hp.db")


@pytest.mark.slow
def test_two_overlapping_runs_add_100(tmp_path):
    write_par_space(tmp_path)
    db = f"sqlite:///{tmp_path / 'hp.db'}"
    assert run_cli(db, "run", "space.toml", "--trials", "5", cwd=tmp_path).returncode == 0
    procs = [spawn_cli(db, "--quiet", "run", "space.toml", "--add", "50", cwd=tmp_path)
             for _ in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        assert "ran 50 trials (50 complete)" in out
    trials = trials_of(db)
    assert len(trials) == 105 and all(t.state == "complete" for t in trials)
    assert_contiguous(trials, 105)
    assert len({t.worker for t in trials[5:]}) == 2
    integrity_ok(tmp_path / "hp.db")


@pytest.mark.slow
def test_sigkilled_worker_is_stale_then_retried(tmp_path, blocker):
    write_par_space(tmp_path)
    db = f"sqlite:///{tmp_path / 'hp.db'}"
    assert run_cli(db, "run", "space.toml", "--trials", "3", cwd=tmp_path).returncode == 0
    block = blocker.block
    proc = spawn_cli(db, "run", "space.toml", "--add", "1", cwd=tmp_path, env=blocker.env)
    (victim,) = wait_running(db, 1, proc=proc)
    proc.kill()  # SIGKILL: no handler runs, the trial stays "running"
    proc.wait()
    block.unlink()
    assert [t.state for t in trials_of(db)] == ["complete"] * 3 + ["running"]
    # --stale-after 1s below: wait until the victim's last heartbeat is over a second old
    time.sleep(1.2)
    res = run_cli(db, "run", "space.toml", "--add", "1", "--stale-after", "1s", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    trials = {t.number: t for t in trials_of(db)}
    assert [trials[n].state for n in range(3)] == ["complete"] * 3  # nothing completed is lost
    dead = trials[victim.number]
    assert dead.state == "failed" and dead.error.startswith("stale: no heartbeat")
    (retry,) = [t for t in trials.values() if t.retry_of == victim.number]
    assert retry.state == "complete" and retry.params == dead.params and retry.seed == dead.seed
    assert retry.number == 4
    assert_contiguous(trials.values(), 5)
    integrity_ok(tmp_path / "hp.db")


def spawn_two_blocked_workers(tmp_path: Path, blocker):
    """`run --workers 2` on 6 trials whose objective waits while the returned file exists."""
    write_par_space(tmp_path, trials=6)
    db = f"sqlite:///{tmp_path / 'hp.db'}"
    proc = spawn_cli(db, "run", "space.toml", "--workers", "2", cwd=tmp_path, env=blocker.env)
    return db, blocker.block, proc


@pytest.mark.slow
def test_parent_requeues_the_trial_of_a_dead_worker(tmp_path, blocker):
    db, block, proc = spawn_two_blocked_workers(tmp_path, blocker)
    running = wait_running(db, 2, proc=proc)
    victim = running[0]
    os.kill(worker_pid(victim), signal.SIGKILL)
    # the parent notices and re-queues before anyone goes on
    wait_until(lambda: trials_by_number(db, "par")[victim.number].state == "failed",
               timeout=60, what="the dead worker's trial failed as stale")
    block.unlink()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "warning: worker" in err and "SIGKILL" in err
    trials = {t.number: t for t in trials_of(db)}
    assert trials[victim.number].state == "failed"
    (retry,) = [t for t in trials.values() if t.retry_of == victim.number]
    assert retry.state == "complete" and retry.params == trials[victim.number].params
    assert sum(t.state == "complete" for t in trials.values()) == 6
    assert_contiguous(trials.values(), 7)


@pytest.mark.slow
@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_with_two_workers_marks_interrupted_and_resumes(tmp_path, blocker, signum, code):
    db, block, proc = spawn_two_blocked_workers(tmp_path, blocker)
    running = wait_running(db, 2, proc=proc)
    proc.send_signal(signum)  # to the parent only: it forwards the signal to its workers
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert f"interrupted by {signal.Signals(signum).name}" in err
    trials = {t.number: t for t in trials_of(db)}
    assert {n for n, t in trials.items() if t.state == "interrupted"} == {t.number for t in running}
    assert not [t for t in trials.values() if t.state == "running"]
    block.unlink()
    res = run_cli(db, "run", "space.toml", "--workers", "2", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    after = {t.number: t for t in trials_of(db)}
    assert len(after) == 6 and all(t.state == "complete" for t in after.values())
    for t in running:  # re-run under the same number, params and seed
        assert after[t.number].params == t.params and after[t.number].seed == t.seed


@pytest.mark.slow
def test_max_concurrent_refuses_while_full(tmp_path, blocker):
    db, block, proc = spawn_two_blocked_workers(tmp_path, blocker)
    try:
        wait_running(db, 2, proc=proc)
        # No wall-clock bound: the refusal is proven by the run ending (the 2 trials stay
        # blocked) with nothing started, whatever the load of the machine.
        res = run_cli(db, "run", "space.toml", "--max-concurrent", "2", cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        assert "study par: 2 trials already running (--max-concurrent 2); started none" in res.stdout
        assert len(trials_of(db)) == 2
    finally:
        block.unlink()
        proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert len(trials_of(db)) == 6


def test_claim_max_running_counts_inside_the_transaction(tmp_path):
    space = load_space(write_par_space(tmp_path))
    storage = Storage(f"sqlite:///{tmp_path / 'hp.db'}")
    study, round_ = prepare_study(storage, space)
    claim = dict(propose=lambda i: {"x": 0.5}, limit=None, worker="w", device=None, max_running=2)
    a = storage.claim(study, round_, **claim)
    storage.claim(study, round_, **claim)
    with pytest.raises(StudyBusy) as info:
        storage.claim(study, round_, **claim)
    assert (info.value.running, info.value.limit) == (2, 2)
    storage.finish(a.id, state="complete", value=0.1)
    assert storage.claim(study, round_, **claim).number == 2


@pytest.mark.slow
def test_worker_command_joins_a_study_without_its_space_file(tmp_path):
    write_par_space(tmp_path, trials=4)
    db = f"sqlite:///{tmp_path / 'hp.db'}"
    assert run_cli(db, "run", "space.toml", cwd=tmp_path).returncode == 0
    (tmp_path / "space.toml").unlink()  # the worker reads the stored space
    res = run_cli(db, "worker", db, "par", "--add", "6", "--workers", "2", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "ran 6 trials (6 complete); stopped: added; 2 workers" in res.stdout
    trials = trials_of(db)
    assert len(trials) == 10 and all(t.state == "complete" for t in trials)
    assert_contiguous(trials, 10)
    missing = run_cli(db, "worker", db, "nope", cwd=tmp_path)
    assert missing.returncode == 3 and "no study named 'nope'" in missing.stderr


STEPPING = '''
def train(params, report):
    for step in range(3):
        report(step, {"loss": params["x"] + 1.0 / (step + 1)})
    return {"loss": params["x"]}
'''


def test_step_events_of_workers_reach_the_progress_and_are_not_counted_as_trials(tmp_path, monkeypatch):
    """With --workers, a trial's per-step reports travel to the parent as "step" events for the
    progress display; only "end" events count as finished trials."""
    (tmp_path / "stepobj.py").write_text(STEPPING)
    path = tmp_path / "space.toml"
    path.write_text(par_space(4).replace("blockobj:train", "stepobj:train"))
    monkeypatch.chdir(tmp_path)
    events = []
    summary = run_study(Storage(f"sqlite:///{tmp_path}/s.db"), load_space(path),
                        RunOptions(workers=2), on_event=events.append)
    assert summary.ran == 4 and summary.states == {"complete": 4}
    kinds = [e.kind for e in events]
    assert kinds.count("start") == 4 and kinds.count("end") == 4
    steps = [e for e in events if e.kind == "step"]
    assert sorted((e.trial.number, e.step) for e in steps) == [(n, s) for n in range(4) for s in range(3)]
    assert all(set(e.metrics) == {"loss"} for e in steps)
