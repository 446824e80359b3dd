"""The trials of a worker process that stopped without finishing them (:mod:`hpsearch.run.pool`).

A worker killed outright (SIGKILL, out of memory) says nothing: the parent recovers every trial
it held, those it heard "start" (one, or the members of a pack) and those the database says the
worker runs, at once rather than after ``--stale-after``.
"""

from __future__ import annotations

import logging
import signal
from typing import Any

from hpsearch.run.records import RunSummary, worker_id
from hpsearch.space.study import DEFAULT_MAX_RETRIES
from hpsearch.storage import Storage, StudyRecord, TrialRecord

log = logging.getLogger(__name__)

__all__ = ["recover_lost_worker", "recover_trial"]


def recover_lost_worker(storage: Storage, study: StudyRecord, summary: RunSummary, index: int,
                        proc: Any, trials: list[TrialRecord] | None, *, signalled: bool,
                        max_retries: int = DEFAULT_MAX_RETRIES) -> None:
    """A worker process (``proc``: its ``pid`` and ``exitcode``) died without a word: name it
    in ``summary.lost_workers`` and recover every trial it held: ``trials`` (those it said it
    started: one, or the members of a pack) and those the database says it runs (a worker
    killed just after its claim committed never sent "start"; with ``--pack`` it claims
    several trials before it starts them)."""
    code = proc.exitcode
    how = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit {code}"
    summary.lost_workers.append(f"worker {index} (pid {proc.pid}): {how}")
    held = {t.id: t for t in trials or ()}
    for t in storage.trials(study, states=["running"], best_first=False):
        if t.worker == worker_id(proc.pid):
            held.setdefault(t.id, t)
    if not held:
        log.warning("worker %d (pid %d) died (%s) between trials", index, proc.pid, how)
        return
    again = [t.number for t in sorted(held.values(), key=lambda t: t.number)
             if recover_trial(storage, study, summary, t, interrupted=signalled,
                              reason=f"worker pid {proc.pid} died: {how}",
                              max_retries=max_retries)]
    if again:
        many = len(again) > 1
        log.warning("worker %d (pid %d) died (%s) running trial%s %s; %s params are queued "
                    "again", index, proc.pid, how, "s" * many, ", ".join(map(str, again)),
                    "their" if many else "its")


def recover_trial(storage: Storage, study: StudyRecord, summary: RunSummary, trial: TrialRecord,
                  *, interrupted: bool, reason: str,
                  max_retries: int = DEFAULT_MAX_RETRIES) -> bool:
    """The trial of a worker that stopped without finishing it, if it is still running: marked
    interrupted after a signal, else failed as stale with its params queued again. True when
    it was failed as stale."""
    if interrupted:
        storage.mark_interrupted([trial.id])
        return False
    # No need to wait --stale-after: this process saw the worker go. Fail the trial as stale
    # and queue its params again now, so the remaining workers retry it.
    stale = storage.recover_stale(study.id, older_than_s=0, trial_ids=[trial.id], reason=reason,
                                  max_retries=max_retries)
    summary.stale_recovered += stale
    return bool(stale)
