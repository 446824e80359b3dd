"""What a run says when it stops, beyond its own trials: the study's best (other runs may
have found it), trials still running elsewhere, the start-up it paid once, and a stop when
every trial fails.
"""

from __future__ import annotations

import time

from hpsearch.errors import TooManyFailures
from hpsearch.run.options import RunOptions
from hpsearch.run.records import FailureStreak, RunSummary
from hpsearch.space import Space
from hpsearch.space.study import DEFAULT_MAX_RETRIES
from hpsearch.storage import Storage, StudyRecord, TrialRecord

#: Trials in a row that may fail, with no trial of the study ever a success, before a run
#: stops with :class:`TooManyFailures` (``[study] max_consecutive_failures``; 0: never).
MAX_CONSECUTIVE_FAILURES = 5


def failure_limit(options: RunOptions, space: Space) -> int:
    """``options.max_consecutive_failures``, else the space's ``[study]`` setting, else 5."""
    # getattr: the option and the space setting arrive with their owners' changes (RunOptions,
    # StudyConfig); either may be absent in a stored space of an older version.
    for value in (getattr(options, "max_consecutive_failures", None),
                  getattr(space.study, "max_consecutive_failures", None)):
        if value is not None:
            return int(value)
    return MAX_CONSECUTIVE_FAILURES


def retry_limit(space: Space) -> int:
    """``[study] max_retries`` of the space (the default for a stored space of an older
    version): how often a configuration killed by its infrastructure is run again."""
    return int(getattr(space.study, "max_retries", DEFAULT_MAX_RETRIES))


def check_failures(storage: Storage, study: StudyRecord, streak: FailureStreak,
                   last: TrialRecord | None) -> None:
    """Raise :class:`TooManyFailures` when the streak reached its limit and no trial of the
    study ever completed (a study that worked once is only unlucky)."""
    if not streak.reached():
        return
    counts = storage.counts(study)
    if counts.get("complete", 0) or counts.get("pruned", 0):
        return
    error = "" if last is None or not last.error else (last.error.splitlines() or [""])[0]
    which = f" (last: trial {last.number}: {error})" if last is not None else ""
    raise TooManyFailures(
        f"study {study.name}: stopped after {streak.count} trials in a row failed and none of "
        f"the study ever succeeded{which}; fix the objective (`hpsearch show {study.name} "
        f"NUMBER` has each error), or set [study] max_consecutive_failures = 0 to go on anyway")


def close_summary(storage: Storage, study: StudyRecord, summary: RunSummary, *,
                  stale_after: float, started: float | None = None) -> RunSummary:
    """Fill what the run learns at its end: the study's best (from every run), the
    configurations of the study given up (killed by their infrastructure ``1 + max_retries``
    times) and the trials of the study still running (in other runs, or left by one that
    died)."""
    summary.study_best = storage.best(study) or summary.study_best
    summary.given_up = [(t.number, t.error or "") for t in storage.given_up(study)]
    running = storage.trials(study, states=["running"], best_first=False)
    summary.running_elsewhere = len(running)
    beats = [t.heartbeat for t in running if t.heartbeat is not None]
    summary.stale_at = min(beats) + stale_after if beats else None
    if started is not None and summary.startup_s is None:
        summary.startup_s = time.monotonic() - started
    return summary


__all__ = ["MAX_CONSECUTIVE_FAILURES", "failure_limit", "retry_limit", "check_failures",
           "close_summary"]
