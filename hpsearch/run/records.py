"""What the claim loop and the process pool both hand around: events, summaries, the ``--add``
budget, the name of a worker. Below both, so neither imports the other for them."""

from __future__ import annotations

import math
import os
import socket
from dataclasses import dataclass, field
from typing import Any, Protocol

from hpsearch.storage import TrialRecord


@dataclass
class TrialEvent:
    """What the progress callback hears: ``kind`` is "start", "step" (the trial reported
    ``metrics`` at ``step``: the progress bar shows it) or "end"."""

    kind: str
    trial: TrialRecord
    best_value: float | None
    done: int
    total: int | None
    step: int | None = None
    metrics: dict[str, Any] | None = None


@dataclass
class RunSummary:
    study: str
    round: int
    ran: int = 0
    states: dict[str, int] = field(default_factory=dict)
    #: The best of this run's own trials (None: none of them completed).
    best: TrialRecord | None = None
    #: The study's best when the run ended, whichever run found it (overlapping runs, cron,
    #: other machines): not always one of this run's trials.
    study_best: TrialRecord | None = None
    stopped: str = "target"          # target | added | timeout | exhausted | busy
    #: Numbers of the trials this run failed as stale (their worker died; no heartbeat for
    #: ``stale_after``, or a --workers parent saw the worker die or stop with an error), each
    #: queued once more unless its configuration ran ``1 + [study] max_retries`` times.
    stale_recovered: list[int] = field(default_factory=list)
    #: The configurations of the study given up when the run ended (their last trial's number
    #: and error: killed by its infrastructure ``1 + max_retries`` times).
    given_up: list[tuple[int, str]] = field(default_factory=list)
    #: With ``stopped == "busy"``: how many trials were running, and the --max-concurrent limit.
    busy: tuple[int, int] | None = None
    #: How many worker processes ran (1 without ``--workers``).
    workers: int = 1
    #: Worker processes that died (killed, out of memory); their trials were re-queued.
    lost_workers: list[str] = field(default_factory=list)
    #: Seconds from the start of the run to its first claim (set-up, imports, data load):
    #: paid once per run, never counted in a trial's duration. The slowest worker's with
    #: several.
    startup_s: float | None = None
    #: ``--pack auto``'s decision in one line (hpsearch.run.pack_auto); None without it.
    pack_note: str | None = None
    #: Trials of the study still running when this run stopped, in other runs or left by a
    #: run that died, and when the oldest of them is failed as stale (``time.time()``) if its
    #: heartbeat stops; the next run after that retries it.
    running_elsewhere: int = 0
    stale_at: float | None = None

    def count(self, trial: TrialRecord, *, maximize: bool) -> None:
        """Count a trial that ended; it becomes ``best`` (and ``study_best``) when it beats
        it."""
        self.ran += 1
        self.states[trial.state] = self.states.get(trial.state, 0) + 1
        if trial.state != "complete" or trial.feasible is False:
            return  # an infeasible trial (it broke a [[constraint]]) is never best
        if is_better(trial.value, best_value(self.best), maximize):
            self.best = trial
        if is_better(trial.value, best_value(self.study_best), maximize):
            self.study_best = trial

    def best_so_far(self) -> float | None:
        """The value progress shows: the study's best known to this run."""
        return best_value(self.study_best)


class FailureStreak:
    """Consecutive failed trials, for ``max_consecutive_failures`` (0: never stop). Shared by
    the workers of one run (:mod:`hpsearch.run.pool` gives it a multiprocessing counter)."""

    def __init__(self, limit: int, value=None) -> None:
        self.limit = limit
        self.value = value            # a multiprocessing.Value("i"), or None in one process
        self._n = 0

    @property
    def count(self) -> int:
        return self._n if self.value is None else self.value.value

    def add(self, state: str) -> None:
        """A trial ended in ``state``: a failure lengthens the streak, a result ends it
        (interrupted trials are neither)."""
        if state not in ("failed", "complete", "pruned"):
            return
        n = self.count + 1 if state == "failed" else 0
        if self.value is None:
            self._n = n
        else:
            with self.value.get_lock():
                self.value.value = self.value.value + 1 if state == "failed" else 0

    def reached(self) -> bool:
        return self.limit > 0 and self.count >= self.limit


class Budget(Protocol):
    """A budget of trials to claim: this worker's :class:`Tickets`, or one shared by the
    worker processes of a run."""

    def take(self) -> bool: ...

    def give_back(self) -> None: ...


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
    """How trials name the process that runs them (this one, or the process ``pid`` here):
    ``host:pid``, plus the scheduler task that started it (``slurm=JOB_TASK``, ``k8s=JOB_INDEX``)
    when there is one, so ``hpsearch launch status`` can tell which array task ran a trial."""
    from hpsearch.launch.identity import tagged_worker_id

    return tagged_worker_id(f"{socket.gethostname()}:{os.getpid() if pid is None else pid}")


def best_value(t: TrialRecord | None) -> float | None:
    return None if t is None else t.value


def is_better(a: float | None, b: float | None, maximize: bool) -> bool:
    """Whether value ``a`` beats the best so far ``b`` (None: no best yet; NaN never wins)."""
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return False
    if b is None:
        return True
    return a > b if maximize else a < b


__all__ = ["TrialEvent", "RunSummary", "FailureStreak", "Budget", "Tickets", "worker_id", "best_value", "is_better"]
