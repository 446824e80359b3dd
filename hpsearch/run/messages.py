"""What the parent of ``--workers`` and its worker processes send each other.

All of them are plain picklable records (multiprocessing's "spawn" context pickles them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from hpsearch.run.options import RunOptions
from hpsearch.run.records import RunSummary
from hpsearch.storage import RoundRecord, StudyRecord, TrialRecord


@dataclass(frozen=True)
class Job:
    """What a worker process needs to run its share of a round."""

    index: int
    url: str
    study: StudyRecord
    round_: RoundRecord
    #: The space file's ``to_dict()`` and source, when the run has one (None for a worker).
    space: dict[str, Any] | None
    source: str | None
    #: The run's options, with this worker's ``device``.
    options: RunOptions
    #: ``time.time()`` at which to stop starting trials (the run's ``timeout`` from its start).
    deadline: float | None
    threads: int
    log_level: int
    #: The run's process: a worker that outlives it stops (its trial marked interrupted).
    parent_pid: int = 0


@dataclass(frozen=True)
class TrialMessage:
    """A worker started (``kind == "start"``), reported a step of (``"step"``), or ended
    (``"end"``) a trial."""

    index: int
    kind: str
    trial: TrialRecord
    step: int | None = None
    metrics: dict[str, Any] | None = None


@dataclass(frozen=True)
class WorkerDone:
    """A worker ran out of work (budget, target, timeout, busy study) and stopped."""

    index: int
    summary: RunSummary


@dataclass(frozen=True)
class WorkerFailed:
    """A worker stopped with an error: ``error`` names its class in :mod:`hpsearch.errors`
    (``Interrupted`` after a signal), ``message`` is its text."""

    index: int
    error: str
    message: str
    exit_code: int


Message = Union[TrialMessage, WorkerDone, WorkerFailed]

__all__ = ["Job", "TrialMessage", "WorkerDone", "WorkerFailed", "Message"]
