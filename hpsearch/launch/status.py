"""Which workers of a study are alive: ``hpsearch launch status``.

A worker is known only by what it wrote: every trial carries the worker id of the process that
ran it (``host:pid``, plus ``slurm=JOB_TASK`` or ``k8s=JOB_INDEX`` when a scheduler started it,
see :mod:`hpsearch.launch.identity`). A worker is *alive* while one of its running trials has a
heartbeat younger than ``stale_after``; a running trial with an older heartbeat belongs to a
worker that died (preempted, ``scancel``led, killed) and will be failed as stale and retried by
the next run or worker that checks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from hpsearch.launch.identity import parse_worker

__all__ = ["WorkerStatus", "worker_status"]


@dataclass
class WorkerStatus:
    """One worker process of a study, as its trials tell it."""

    worker: str
    host: str | None
    pid: int | None
    scheduler: str | None
    job: str | None
    task: int | None
    #: "alive" (a running trial with a fresh heartbeat), "stale" (running, heartbeat too old)
    #: or "done" (no running trial).
    status: str
    running: list[int] = field(default_factory=list)
    heartbeat_age: float | None = None
    finished: int = 0
    last_seen: float | None = None


def worker_status(storage, study_name: str, *, stale_after: float,
                  now: float | None = None) -> list[WorkerStatus]:
    """The workers that ran trials of ``study_name``, alive ones first, then by job and task."""
    now = time.time() if now is None else now
    study = storage.get_study(study_name)
    workers: dict[str, WorkerStatus] = {}
    for t in storage.trials(study, best_first=False):
        if not t.worker:
            continue
        w = workers.get(t.worker)
        if w is None:
            ident = parse_worker(t.worker)
            w = workers[t.worker] = WorkerStatus(
                worker=t.worker, host=ident.host if ident else None,
                pid=ident.pid if ident else None, scheduler=ident.scheduler if ident else None,
                job=ident.job if ident else None, task=ident.task if ident else None,
                status="done")
        seen = t.heartbeat if t.state == "running" else (t.finished_at or t.started_at)
        if seen is not None and (w.last_seen is None or seen > w.last_seen):
            w.last_seen = seen
        if t.state == "running":
            w.running.append(t.number)
            age = None if t.heartbeat is None else max(0.0, now - t.heartbeat)
            if age is not None and (w.heartbeat_age is None or age < w.heartbeat_age):
                w.heartbeat_age = age
        elif t.state in ("complete", "pruned", "failed"):
            w.finished += 1
    for w in workers.values():
        if w.running:
            fresh = w.heartbeat_age is not None and w.heartbeat_age <= stale_after
            w.status = "alive" if fresh else "stale"
    order = {"alive": 0, "stale": 1, "done": 2}
    return sorted(workers.values(), key=lambda w: (order[w.status], w.job or "", w.task or -1,
                                                  w.worker))
