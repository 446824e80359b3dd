"""Helpers for tests that run studies: the blocking objective, waiting on a condition, the CLI
in a subprocess, reading trials back. The fixtures over them are in tests/conftest.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

#: A python objective that waits while the file named by $OBJ_BLOCK exists (at most 60 s), so a
#: test can hold trials "running" and then kill or signal the processes that run them. It
#: returns ``loss`` (minimum at x = 0.3) and ``score`` (x) for spaces of either direction.
BLOCKING_OBJECTIVE = '''
import os, time

def train(params, report):
    block = os.environ.get("OBJ_BLOCK")
    t0 = time.time()
    meet = os.environ.get("OBJ_MEET")  # a folder: wait until two processes have run a trial
    if meet:
        open(os.path.join(meet, str(os.getpid())), "w").close()
        while len(os.listdir(meet)) < 2 and time.time() - t0 < 60:
            time.sleep(0.05)
    while block and os.path.exists(block) and time.time() - t0 < 60:
        time.sleep(0.05)
    return {"loss": (params["x"] - 0.3) ** 2, "score": params["x"]}
'''


def wait_until(condition: Callable[[], Any], *, timeout: float = 30.0, what: str = "the condition",
               proc: subprocess.Popen | None = None, interval: float = 0.05) -> Any:
    """Poll ``condition`` until it returns something truthy, and return that. Fails after
    ``timeout`` seconds, or as soon as ``proc`` (a process the condition waits on) ended.
    Exceptions of ``condition`` count as "not yet" (a database not created yet)."""
    end = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(f"process ended ({proc.returncode}) before {what}:\n{err}")
        try:
            value = condition()
        except Exception:  # noqa: BLE001 - not ready yet
            value = None
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"no {what} after {timeout} s")
        time.sleep(interval)


def cli_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "hpsearch.cli", *args]


def run_cli(db: str, *args: str, cwd: Path, env: dict | None = None, timeout: float = 120):
    """``hpsearch --db DB ARGS`` in a subprocess, to its end."""
    return subprocess.run(cli_argv("--db", db, *args), cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def spawn_cli(db: str, *args: str, cwd: Path, env: dict | None = None) -> subprocess.Popen:
    """``hpsearch --db DB ARGS`` in a subprocess that goes on while the test acts."""
    return subprocess.Popen(cli_argv("--db", db, *args), cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})


def trials_of(url: str, study: str) -> dict[int, Any]:
    """The trials of ``study`` by number, each with its steps."""
    from hpsearch.storage import Storage

    storage = Storage(url)
    try:
        s = storage.get_study(study)
        return {t.number: storage.trial(s, t.number) for t in storage.trials(s, best_first=False)}
    finally:
        storage.dispose()


def running_trials(url: str, study: str, n: int) -> list[Any] | None:
    """The running trials of ``study`` when there are at least ``n`` (for :func:`wait_until`)."""
    running = [t for t in trials_of(url, study).values() if t.state == "running"]
    return running if len(running) >= n else None


def worker_pid(trial: Any) -> int:
    """The process id in a trial's ``worker`` (host:pid)."""
    return int(trial.worker.rsplit(":", 1)[1])


def par_space(trials: int) -> str:
    """The text of study ``par``: ``trials`` trials of the blocking objective (``blockobj``),
    minimizing ``loss`` over ``x``."""
    from support.studies import python_study

    return python_study("par", "blockobj:train", trials=trials, metric="loss", direction="minimize")


def write_par_space(folder: Path, trials: int = 10) -> Path:
    """``folder/space.toml`` holding :func:`par_space` beside the blocking objective (which
    blocks only while $OBJ_BLOCK names an existing file, and, with $OBJ_MEET naming a folder,
    until trials of two processes have started)."""
    (folder / "blockobj.py").write_text(BLOCKING_OBJECTIVE)
    path = folder / "space.toml"
    path.write_text(par_space(trials))
    return path


def assert_contiguous(trials: Any, n: int) -> None:
    """The trials are numbered 0 to n - 1, none missing."""
    numbers = sorted(t.number for t in trials)
    assert numbers == list(range(n)), numbers
