"""`hpsearch worker` as a real Slurm job array against a real PostgreSQL study.

The study is created with `hpsearch create SPACE` (no trial), then `hpsearch launch slurm` writes
the script and submits it to the one-node cluster of tests/support/slurmcluster.py; its tasks run
the installed `hpsearch worker` until the study has its target. Slow: each task starts a Python
interpreter per worker and per trial.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hpsearch.launch import SlurmOptions, parse_worker, submit, write_script
from hpsearch.storage import Storage

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

HPSEARCH = Path(sys.executable).with_name("hpsearch")

# A command objective: quick, unless the file named by argv[2] exists (then it waits for it to go).
OBJECTIVE = '''\
import json, os, sys, time
x = float(sys.argv[1])
while os.path.exists(sys.argv[2]):
    time.sleep(0.2)
time.sleep(0.2)
print(json.dumps({"loss": (x - 0.3) ** 2}))
'''

SPACE = '''\
[study]
name = "{name}"
metric = "loss"
direction = "minimize"
trials = {trials}
seed = 0

[objective]
kind = "command"
argv = ["{python}", "{folder}/obj.py", "{{x}}", "{folder}/hold"]

[params]
x = {{ type = "uniform", low = 0.0, high = 1.0 }}
'''


def hpsearch(folder: Path, url: str, *args: str) -> str:
    proc = subprocess.run([str(HPSEARCH), "--db", url, *args], capture_output=True, text=True,
                          timeout=300, cwd=folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def create_study(folder: Path, url: str, name: str, trials: int) -> None:
    """The study, created without running a trial (`hpsearch create`)."""
    (folder / "obj.py").write_text(OBJECTIVE)
    space = folder / "space.toml"
    space.write_text(SPACE.format(name=name, trials=trials, python=sys.executable, folder=folder))
    out = hpsearch(folder, url, "create", str(space))
    assert out.startswith(f"study {name} ready: round 1, target {trials} trials"), out
    assert trials_of(url, name) == []


def trials_of(url: str, name: str):
    storage = Storage(url)
    try:
        return storage.trials(storage.get_study(name), best_first=False)
    finally:
        storage.dispose()


def check_tags(trials, job: str, tasks: int) -> None:
    """Every trial run by the array names its job and task (issue 16's worker id)."""
    ids = [parse_worker(t.worker) for t in trials]
    assert all(i is not None and i.scheduler == "slurm" for i in ids), [t.worker for t in trials]
    assert {i.job for i in ids} == {job}
    assert {i.task for i in ids} <= set(range(tasks))


@pytest.mark.skipif(not HPSEARCH.exists(), reason=f"{HPSEARCH} is not installed")
def test_array_of_four_runs_every_trial_once(slurm_cluster, pg_url, tmp_path):
    create_study(tmp_path, pg_url, "cluster", trials=40)
    started = time.monotonic()
    out = hpsearch(tmp_path, pg_url, "launch", "slurm", "cluster", "--tasks", "4", "--time", "10m",
                   "--log-dir", str(tmp_path / "logs"))
    job = out.split()[2].rstrip(":")
    assert out.startswith(f"submitted job {job}: 4 tasks of study cluster"), out
    assert (tmp_path / "logs" / "cluster.sbatch").exists()
    slurm_cluster.wait_job(job, timeout=900)
    wall = time.monotonic() - started
    trials = trials_of(pg_url, "cluster")
    assert [t.number for t in trials] == list(range(40))
    assert [t.state for t in trials] == ["complete"] * 40, [(t.number, t.state, t.error) for t in trials]
    logs = sorted((tmp_path / "logs").glob("*.log"))
    assert [p.name for p in logs] == [f"{job}_{i}.log" for i in range(4)]
    for log in logs:
        assert "hpsearch: study cluster, task" in log.read_text()
    print(f"\n4-task array, 40 trials: {wall:.1f}s wall")
    check_tags(trials, job, 4)
    status = hpsearch(tmp_path, pg_url, "launch", "status", "cluster")
    # every task has ended; the tasks that ran trials are listed (on 2 CPUs, tasks 2 and 3 may
    # start after the first two emptied the study)
    workers = {t.worker for t in trials}
    assert f"cluster: 0 of {len(workers)} workers alive" in " ".join(status.split()), status


@pytest.mark.skipif(not HPSEARCH.exists(), reason=f"{HPSEARCH} is not installed")
@pytest.mark.parametrize("how", ["scancel", "sigkill"])
def test_cancelled_task_leaves_its_trial_to_the_next(slurm_cluster, pg_url, tmp_path, how):
    """scancel (SIGTERM, then SIGKILL after KillWait): the worker marks its trial interrupted
    and the next task re-runs it under its number. SIGKILL of the worker (a node lost, or
    preemption without grace; `scancel --signal=KILL` is a plain cancel to Slurm): the trial's
    heartbeat goes stale, the next task fails it as stale and runs its params once more."""
    create_study(tmp_path, pg_url, "cancel", trials=6)
    hold = tmp_path / "hold"
    hold.touch()  # every trial now waits until the file goes
    # %1: task 1 starts only when task 0 has ended (here: been cancelled).
    opts = SlurmOptions(tasks=2, parallel=1, time="10m", log_dir=str(tmp_path / "logs"),
                        hpsearch=(str(HPSEARCH),), worker_args=("--stale-after", "4s"))
    script = write_script(tmp_path / "cancel.sbatch", "cancel", pg_url, opts)
    job = submit(script, db_url=pg_url, cwd=tmp_path)
    deadline = time.monotonic() + 300
    while not (running := [t for t in trials_of(pg_url, "cancel") if t.state == "running"]):
        assert time.monotonic() < deadline, "no trial started"
        time.sleep(0.5)
    (victim,) = running
    if how == "scancel":
        slurm_cluster.run("scancel", f"{job}_0")
    else:
        os.kill(parse_worker(victim.worker).pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while f"{job}_0" in slurm_cluster.job_states(job):
        assert time.monotonic() < deadline, "task 0 was not cancelled"
        time.sleep(0.5)
    # Task 1 takes the next trial (held too); by the time it ends, the killed trial's heartbeat
    # is older than --stale-after, and task 1's check between trials finds it.
    deadline = time.monotonic() + 300
    while not [t for t in trials_of(pg_url, "cancel")
               if t.state == "running" and t.worker != victim.worker]:
        assert time.monotonic() < deadline, "task 1 started no trial"
        time.sleep(0.5)
    time.sleep(5)
    hold.unlink()
    slurm_cluster.wait_job(job, timeout=600)
    trials = {t.number: t for t in trials_of(pg_url, "cancel")}
    complete = [t for t in trials.values() if t.state == "complete"]
    assert len(complete) == 6, [(t.number, t.state, t.error) for t in trials.values()]
    redone = trials[victim.number]
    if how == "scancel":  # interrupted, then re-run by task 1 under its own number
        assert redone.state == "complete" and redone.worker != victim.worker, redone
        assert redone.params == victim.params and redone.seed == victim.seed
    else:  # failed as stale; its params were queued once more, and ran
        assert redone.state == "failed" and redone.error.startswith("stale"), redone
        (retry,) = [t for t in complete if t.retry_of == victim.number]
        assert retry.params == victim.params and retry.seed == victim.seed
    assert (tmp_path / "logs" / f"{job}_1.log").exists()
