"""What the claim loop and the process pool both hand around: events, summaries, the ``--add``
budget, the name of a worker. Below both, so neither imports the other for them."""

from __future__ import annotations

import math
import os
import socket
from dataclasses import dataclass, field

from hpsearch.storage import TrialRecord


@dataclass
class TrialEvent:
    """What the progress callback hears: ``kind`` is "start" or "end"."""

    kind: str
    trial: TrialRecord
    best_value: float | None
    done: int
    total: int | None


@dataclass
class RunSummary:
    study: str
    round: int
    ran: int = 0
    states: dict[str, int] = field(default_factory=dict)
    best: TrialRecord | None = None
    stopped: str = "target"          # target | added | timeout | exhausted | busy
    #: Numbers of the trials this run failed as stale (their worker died; no heartbeat for
    #: ``stale_after``, or a --workers parent saw the worker die or stop with an error), each
    #: queued once more unless it was a retry already.
    stale_recovered: list[int] = field(default_factory=list)
    #: With ``stopped == "busy"``: how many trials were running, and the --max-concurrent limit.
    busy: tuple[int, int] | None = None
    #: How many worker processes ran (1 without ``--workers``).
    workers: int = 1
    #: Worker processes that died (killed, out of memory); their trials were re-queued.
    lost_workers: list[str] = field(default_factory=list)

    def count(self, trial: TrialRecord, *, maximize: bool) -> None:
        """Count a trial that ended; it becomes ``best`` when it beats it."""
        self.ran += 1
        self.states[trial.state] = self.states.get(trial.state, 0) + 1
        if trial.state == "complete" and is_better(trial.value, best_value(self.best), maximize):
            self.best = trial


class Tickets:
    """The ``--add`` budget shared by the workers of one run: each takes a ticket before it
    claims a trial. This one is for one process; :mod:`hpsearch.run.pool` shares one between
    processes."""

    def __init__(self, n: int) -> None:
        self.left = n

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True

    def give_back(self) -> None:
        self.left += 1


def worker_id(pid: int | None = None) -> str:
    """How trials name the process that runs them (this one, or the process ``pid`` here)."""
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}"


def best_value(t: TrialRecord | None) -> float | None:
    return None if t is None else t.value


def is_better(a: float | None, b: float | None, maximize: bool) -> bool:
    """Whether value ``a`` beats the best so far ``b`` (None: no best yet; NaN never wins)."""
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return False
    if b is None:
        return True
    return a > b if maximize else a < b


__all__ = ["TrialEvent", "RunSummary", "Tickets", "worker_id", "best_value", "is_better"]
