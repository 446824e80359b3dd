"""Many trials at once, with real processes: --workers, overlapping runs, SIGKILL, SIGTERM,
--max-concurrent, and ``hpsearch worker``, on SQLite (tests/test_postgres.py: the same on
PostgreSQL)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hpsearch.runner import run_study
from hpsearch.space import load_space
from hpsearch.storage import Storage, StudyBusy
from hpsearch.workers import resolve_devices, threads_per_worker

OBJECTIVE = '''
import os, time

def train(params, report):
    # Blocks while the file named by OBJ_BLOCK exists (at most 60 s): the tests hold trials
    # "running" with it, then kill or signal the processes that run them.
    block = os.environ.get("OBJ_BLOCK")
    t0 = time.time()
    while block and os.path.exists(block) and time.time() - t0 < 60:
        time.sleep(0.05)
    return {"loss": (params["x"] - 0.3) ** 2}
'''

SPACE = '''
[study]
name = "par"
metric = "loss"
direction = "minimize"
trials = {trials}

[objective]
kind = "python"
function = "parobj:train"

[params]
x = {{ type = "uniform", low = 0.0, high = 1.0 }}
'''


def make_space(folder: Path, trials: int = 10) -> Path:
    (folder / "parobj.py").write_text(OBJECTIVE)
    path = folder / "space.toml"
    path.write_text(SPACE.format(trials=trials))
    return path


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "hpsearch.cli", *args]


def run_cli(db: str, *args: str, cwd: Path, env: dict | None = None, timeout: float = 60):
    return subprocess.run(cli("--db", db, *args), cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def spawn_cli(db: str, *args: str, cwd: Path, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(cli("--db", db, *args), cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def trials_of(url: str, study: str = "par"):
    storage = Storage(url)
    try:
        return storage.trials(storage.get_study(study), best_first=False)
    finally:
        storage.dispose()


def wait_running(url: str, n: int, *, timeout: float = 30.0, proc=None):
    """Wait until ``n`` trials of the study are running; return them."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended early: {proc.returncode}\n{proc.stderr.read()}")
        try:
            running = [t for t in trials_of(url) if t.state == "running"]
        except Exception:  # noqa: BLE001 - the study may not exist yet
            running = []
        if len(running) >= n:
            return running
        time.sleep(0.1)
    raise AssertionError(f"fewer than {n} trials running after {timeout} s")


def assert_contiguous(trials, n: int) -> None:
    numbers = sorted(t.number for t in trials)
    assert numbers == list(range(n)), numbers


def integrity_ok(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# ------------------------------------------------------------------------------------ tests
def test_resolve_devices_and_threads():
    assert resolve_devices("cuda:0, cuda:1") == ["cuda:0", "cuda:1"]
    assert resolve_devices(None) == [None]
    auto = resolve_devices("auto")
    assert auto == ["cpu"] or all(d.startswith("cuda:") for d in auto)
    assert threads_per_worker(10_000) == 1
    assert threads_per_worker(1) == (os.cpu_count() or 1)


def test_four_workers_400_trials_sqlite(tmp_path):
    space = load_space(make_space(tmp_path, trials=400))
    url = f"sqlite:///{tmp_path / 'hp.db'}"
    storage = Storage(url)
    summary = run_study(storage, space, workers=4, stale_after=60)
    assert summary.ran == 400 and summary.states == {"complete": 400}, summary
    trials = trials_of(url)
    assert len(trials) == 400 and all(t.state == "complete" for t in trials)
    assert_contiguous(trials, 400)
    assert len({t.worker for t in trials}) >= 2  # the work was shared
    assert sorted(t.sample_index for t in trials) == list(range(400))
    integrity_ok(tmp_path / "hp.db")


def test_two_overlapping_runs_add_100(tmp_path):
    make_space(tmp_path)
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


def test_sigkilled_worker_is_stale_then_retried(tmp_path):
    make_space(tmp_path)
    db = f"sqlite:///{tmp_path / 'hp.db'}"
    assert run_cli(db, "run", "space.toml", "--trials", "3", cwd=tmp_path).returncode == 0
    block = tmp_path / "block"
    block.touch()
    proc = spawn_cli(db, "run", "space.toml", "--add", "1", cwd=tmp_path,
                     env={"OBJ_BLOCK": str(block)})
    (victim,) = wait_running(db, 1, proc=proc)
    proc.kill()  # SIGKILL: no handler runs, the trial stays "running"
    proc.wait()
    block.unlink()
    assert [t.state for t in trials_of(db)] == ["complete"] * 3 + ["running"]
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


def spawn_two_blocked_workers(tmp_path: Path):
    """`run --workers 2` on 6 trials whose objective waits while the returned file exists."""
    make_space(tmp_path, trials=6)
    db = f"sqlite:///{tmp_path / 'hp.db'}"
    block = tmp_path / "block"
    block.touch()
    proc = spawn_cli(db, "run", "space.toml", "--workers", "2", cwd=tmp_path,
                     env={"OBJ_BLOCK": str(block)})
    return db, block, proc


def test_parent_requeues_the_trial_of_a_dead_worker(tmp_path):
    db, block, proc = spawn_two_blocked_workers(tmp_path)
    running = wait_running(db, 2, proc=proc)
    victim = running[0]
    os.kill(int(victim.worker.rsplit(":", 1)[1]), signal.SIGKILL)
    deadline = time.monotonic() + 60  # the parent notices and re-queues before anyone goes on
    while time.monotonic() < deadline:
        if {t.number: t for t in trials_of(db)}[victim.number].state == "failed":
            break
        time.sleep(0.05)
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


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_with_two_workers_marks_interrupted_and_resumes(tmp_path, signum, code):
    db, block, proc = spawn_two_blocked_workers(tmp_path)
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


def test_max_concurrent_refuses_while_full(tmp_path):
    db, block, proc = spawn_two_blocked_workers(tmp_path)
    try:
        wait_running(db, 2, proc=proc)
        started = time.monotonic()
        res = run_cli(db, "run", "space.toml", "--max-concurrent", "2", cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        assert "study par: 2 trials already running (--max-concurrent 2); started none" in res.stdout
        assert time.monotonic() - started < 20
        assert len(trials_of(db)) == 2
    finally:
        block.unlink()
        proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert len(trials_of(db)) == 6


def test_claim_max_running_counts_inside_the_transaction(tmp_path):
    space = load_space(make_space(tmp_path))
    storage = Storage(f"sqlite:///{tmp_path / 'hp.db'}")
    from hpsearch.studies import prepare_study

    study, round_ = prepare_study(storage, space)
    claim = dict(propose=lambda i: {"x": 0.5}, limit=None, worker="w", device=None, max_running=2)
    a = storage.claim(study, round_, **claim)
    storage.claim(study, round_, **claim)
    with pytest.raises(StudyBusy) as info:
        storage.claim(study, round_, **claim)
    assert (info.value.running, info.value.limit) == (2, 2)
    storage.finish(a.id, state="complete", value=0.1)
    assert storage.claim(study, round_, **claim).number == 2


def test_worker_command_joins_a_study_without_its_space_file(tmp_path):
    make_space(tmp_path, trials=4)
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
