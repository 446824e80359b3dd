"""The loop of one worker: claim a trial, run it, record it; budgets, heartbeats and signals.

Every trial is committed as soon as it ends, so a crash loses nothing that completed; a trial
interrupted by SIGINT/SIGTERM is marked ``interrupted`` and the next run re-runs it under the
same number; an objective that swallows the signal (``except BaseException``) still ends the
run, its trial marked interrupted, not complete. A trial whose process died stays ``running``
until its heartbeat is older than ``stale_after``; then any run fails it as stale and queues
its params once more.
"""

from __future__ import annotations

import signal
import time
from typing import Any, Callable

from hpsearch.errors import Interrupted, StudyError
from hpsearch.objectives import make_objective
from hpsearch.run.options import RunOptions
from hpsearch.run.records import RunSummary, Tickets, TrialEvent, best_value, worker_id
from hpsearch.run.signals import Heartbeat, Stop, StopOnSignal, interrupted
from hpsearch.run.studies import round_space
from hpsearch.run.trial import run_trial
from hpsearch.samplers import Sampler, make_sampler
from hpsearch.space import Space
from hpsearch.storage import RoundRecord, Storage, StudyBusy, StudyRecord, TrialRecord


def round_limit(study: StudyRecord, round_: RoundRecord, *, add: int | None,
                sampler: str | None = None, file_space: Space | None = None) -> int | None:
    """How many trials the round may draw in all (None: no limit, for ``--add``)."""
    space = round_space(study, round_, file_space)
    return sampler_limit(make_sampler(sampler or round_.sampler, space, seed=round_.seed),
                         round_, add)


def sampler_limit(smp: Sampler, round_: RoundRecord, add: int | None) -> int | None:
    """:func:`round_limit` for a sampler already made."""
    limit = None if add is not None else round_.target
    if smp.size is not None:  # a grid: never past its last point
        limit = smp.size if limit is None else min(limit, smp.size)
    return limit


def trials_to_run(storage: Storage, study: StudyRecord, round_: RoundRecord, *,
                  limit: int | None, add: int | None) -> int | None:
    """How many trials a run expects to run, for its progress: ``add``, or what the round still
    lacks plus the interrupted and queued trials that are re-run first (None: no bound)."""
    if add is not None:
        return add
    if limit is None:
        return None
    counts = storage.counts(study)
    return max(0, limit - round_.n_claimed) + counts.get("queued", 0) + counts.get("interrupted", 0)


def work(
    storage: Storage, study: StudyRecord, round_: RoundRecord,
    options: RunOptions = RunOptions(), *, file_space: Space | None = None,
    on_event: Callable[[TrialEvent], None] | None = None, tickets: Tickets | None = None,
    worker: str | None = None,
) -> RunSummary:
    """The claim → run → record loop of one worker on one round of an existing study.

    Of ``options``, ``workers`` and ``devices`` are ignored here: this is one worker on
    ``options.device``. ``tickets`` shares the ``add`` budget between the worker processes of
    one run (default: a budget of ``add`` for this worker alone); ``worker`` is the name
    recorded on its trials (default host:pid).
    """
    add, device, stale_after = options.add, options.device, options.stale_after
    space = round_space(study, round_, file_space)
    objective = make_objective(space, device=device)
    smp = make_sampler(options.sampler or round_.sampler, space, seed=round_.seed)
    limit = sampler_limit(smp, round_, add)
    deadline = None if options.timeout is None else time.monotonic() + options.timeout
    summary = RunSummary(study=study.name, round=round_.number)
    summary.stale_recovered += storage.recover_stale(study.id, older_than_s=stale_after)
    summary.best = storage.best(study)
    me = worker or worker_id()
    if tickets is None and add is not None:
        tickets = Tickets(add)
    # Beat well within --stale-after, or a short one would fail trials that are alive.
    beat = Heartbeat(storage, min(options.heartbeat_interval, stale_after / 4))
    total = trials_to_run(storage, study, round_, limit=limit, add=add)
    last_recovery = time.monotonic()
    current: TrialRecord | None = None

    def propose(index: int) -> dict[str, Any]:
        config = smp.propose(index)
        if config is None:  # cannot happen below ``limit``; guards a grid that shrank
            raise StudyError(f"the {smp.name} sampler has no point {index}")
        return config

    stop = StopOnSignal()
    with stop, beat:
        try:
            while True:
                # The objective may have swallowed the stop request: start nothing more.
                stop.check()
                if deadline is not None and time.monotonic() >= deadline:
                    summary.stopped = "timeout"
                    break
                if time.monotonic() - last_recovery > stale_after / 2:
                    summary.stale_recovered += storage.recover_stale(
                        study.id, older_than_s=stale_after)
                    last_recovery = time.monotonic()
                if tickets is not None and not tickets.take():
                    summary.stopped = "added"
                    break
                try:
                    # A signal while the claim commits would leave its trial running with
                    # nobody to mark it: it waits until ``current`` names the trial.
                    with stop.deferred():
                        current = storage.claim(study, round_, propose=propose, limit=limit,
                                                worker=me, device=device,
                                                max_running=options.max_concurrent)
                except StudyBusy as exc:
                    current = None
                    if tickets is not None:
                        tickets.give_back()
                    summary.stopped = "busy"
                    summary.busy = (exc.running, exc.limit)
                    break
                if current is None:
                    if tickets is not None:
                        tickets.give_back()
                    exhausted = smp.size is not None and limit == smp.size
                    summary.stopped = "exhausted" if exhausted else "target"
                    break
                beat.running = current.id
                if on_event:
                    on_event(TrialEvent("start", current, best_value(summary.best), summary.ran,
                                        total))
                record = run_trial(storage, study, objective, current, device, stop)
                beat.running = None
                current = None
                summary.count(record, maximize=study.maximize)
                if on_event:
                    on_event(TrialEvent("end", record, best_value(summary.best), summary.ran,
                                        total))
            stop.check()  # a signal held back while the last claim failed (a busy study)
        except (KeyboardInterrupt, Stop, Interrupted) as exc:
            signum = getattr(exc, "signum", signal.SIGINT)
            # A second signal must not cut the marking short (Ctrl-C reaches every worker of a
            # process group, and the parent of --workers forwards it as well).
            stop.hold(signum)
            # The trial may have been finished just before the signal: then nothing is marked.
            marked = current is not None and storage.mark_interrupted([current.id]) > 0
            detail = f"trial {current.number} marked interrupted; " if marked else ""
            raise interrupted(signum, detail) from None
        finally:
            objective.close()
    return summary


__all__ = ["work", "round_limit", "sampler_limit", "trials_to_run"]
