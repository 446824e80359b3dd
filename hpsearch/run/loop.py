"""The loop of one worker: claim a trial, run it, record it; budgets, heartbeats and signals.

Every trial is committed as soon as it ends, so a crash loses nothing that completed; a trial
interrupted by SIGINT/SIGTERM is marked ``interrupted`` and the next run re-runs it under the
same number; an objective that swallows the signal (``except BaseException``) still ends the
run, its trial marked interrupted, not complete. A trial whose process died stays ``running``
until its heartbeat is older than ``stale_after``; then any run fails it as stale and queues
its params once more.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Callable

from hpsearch.errors import Interrupted
from hpsearch.objectives import make_objective
from hpsearch.run.options import RunOptions
from hpsearch.run.history import remembering_sampler, round_memory
from hpsearch.run.pack import ShapeCount, pack_groups, pack_size, pack_window, run_pack
from hpsearch.run.proposing import PreparedProposer, index_proposer, uses_history
from hpsearch.run.pruning import RoundPruner
from hpsearch.run.isolate import isolated
from hpsearch.run.records import FailureStreak, RunSummary, Tickets, TrialEvent, worker_id
from hpsearch.run.signals import Stop, StopOnSignal, interrupted
from hpsearch.run.studies import round_space
from hpsearch.run.summary import check_failures, close_summary, failure_limit, warm_up
from hpsearch.run.trial import run_trial
from hpsearch.samplers import Sampler, make_sampler
from hpsearch.space import Space
from hpsearch.storage import RoundRecord, Storage, StudyBusy, StudyRecord, TrialRecord

log = logging.getLogger(__name__)


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
    worker: str | None = None, streak: FailureStreak | None = None,
) -> RunSummary:
    """The claim → run → record loop of one worker on one round of an existing study.

    Of ``options``, ``workers`` and ``devices`` are ignored here: this is one worker on
    ``options.device``. ``tickets`` shares the ``add`` budget between the worker processes of
    one run (default: a budget of ``add`` for this worker alone); ``worker`` is the name
    recorded on its trials (default host:pid). ``streak`` counts failed trials in a row
    (shared by the workers of one run; see :func:`hpsearch.run.summary.check_failures`).

    With ``--pack K`` (``options.pack`` or ``[trainer] pack``) each turn claims until K
    trials share a shape or its look-ahead window is full (:func:`~hpsearch.run.pack.pack_window`),
    then runs every trial it claimed: those of one shape as packs, the others one by one
    (:mod:`hpsearch.run.pack`); budgets, limits, signals, heartbeats, events, pruning and the
    failure streak are the same loop's. Past the timeout it starts no further group: the
    claimed trials it did not start are marked interrupted, and the next run runs them first.
    """
    started = time.monotonic()
    add, device, stale_after = options.add, options.device, options.stale_after
    space = round_space(study, round_, file_space)
    k = pack_size(space, options.pack)  # --pack K / [trainer] pack (hpsearch.run.pack)
    # Before the objective: a pruner that cannot be made (hyperband with no max_resource)
    # stops the run before any set-up.
    pruning = RoundPruner(storage, study, space, options.pruner)
    objective = isolated(make_objective(space, device=device, threads=options.threads))
    smp = make_sampler(options.sampler or round_.sampler, space, seed=round_.seed)
    # [evolve] Earlier trials for a model, finished grid points skipped, duplicates redrawn.
    smp = remembering_sampler(smp, round_memory(storage, study, round_, space, smp.name))
    limit = sampler_limit(smp, round_, add)
    deadline = None if options.timeout is None else time.monotonic() + options.timeout
    summary = RunSummary(study=study.name, round=round_.number)
    summary.stale_recovered += storage.recover_stale(study.id, older_than_s=stale_after)
    summary.study_best = storage.best(study)
    streak = streak or FailureStreak(failure_limit(options, space))
    me = worker or worker_id()
    if tickets is None and add is not None:
        tickets = Tickets(add)
    # Beat well within --stale-after, or a short one would fail trials that are alive.
    beat = TrialsHeartbeat(storage, min(options.heartbeat_interval, stale_after / 4))
    total = trials_to_run(storage, study, round_, limit=limit, add=add)
    window = pack_window(k, objective, expected=total, workers=options.workers)
    shapes = ShapeCount(k)  # the turn's look-ahead: claim until K trials share a shape
    last_recovery = time.monotonic()
    claimed: list[TrialRecord] = []    # claimed, not yet recorded: marked on a signal
    unstarted: list[TrialRecord] = []  # claimed, not yet run: given back on an error

    # Model samplers read the round's finished and running trials, loaded in the claim's
    # transaction; their fit is prepared before each claim, outside the study lock
    # (hpsearch.run.proposing). Index samplers need the index alone.
    with_history = uses_history(smp)
    propose = (PreparedProposer(smp, storage, study, round_) if with_history
               else index_proposer(smp))

    def claim() -> str | None:
        """Claim up to ``window`` trials into ``claimed``, until K of them share a shape (one
        trial without --pack); why it stopped short ("added", "busy", "target",
        "exhausted"), or None."""
        shapes.clear()
        while len(claimed) < window:
            if tickets is not None and not tickets.take():
                return "added"
            if with_history:
                propose.prepare(limit)  # the fit, before the lock (run/proposing.py)
            try:
                # A signal while the claim commits would leave its trial running with
                # nobody to mark it: it waits until ``claimed`` holds the trial.
                with stop.deferred():
                    trial = storage.claim(study, round_, propose=propose, limit=limit,
                                          worker=me, device=device,
                                          max_running=options.max_concurrent,
                                          with_history=with_history)
                    if trial is not None:
                        claimed.append(trial)
            except StudyBusy as exc:
                if tickets is not None:
                    tickets.give_back()
                summary.busy = (exc.running, exc.limit)
                return "busy"
            if trial is None:
                if tickets is not None:
                    tickets.give_back()
                exhausted = smp.size is not None and limit == smp.size
                return "exhausted" if exhausted else "target"
            beat.running.add(trial.id)
            if shapes.add(trial):
                break
        return None

    def record(rec: TrialRecord) -> None:
        """A claimed trial was recorded (alone, or a member of a pack, as it stopped)."""
        claimed[:] = [t for t in claimed if t.id != rec.id]
        beat.running.discard(rec.id)
        summary.count(rec, maximize=study.maximize)
        if on_event:
            on_event(TrialEvent("end", rec, summary.best_so_far(), summary.ran, total))
        streak.add(rec.state)

    def give_back() -> None:
        """The claimed trials not started yet are marked interrupted: the next run runs them."""
        ids = {t.id for t in unstarted}
        storage.mark_interrupted(sorted(ids))
        claimed[:] = [t for t in claimed if t.id not in ids]
        beat.running.difference_update(ids)
        unstarted.clear()

    def run_group(group: list[TrialRecord]) -> list[TrialRecord]:
        """Run a group of claimed trials (one, or a pack of one shape) and return them as
        recorded."""
        if len(group) > 1:
            return run_pack(storage, study, objective, group, device, watch=pruning.watch,
                            on_step=lambda t: step_events(on_event, t, summary, total),
                            on_record=record)
        rec = run_trial(storage, study, objective, group[0], device, stop,
                        watch=pruning.watch(group[0]),
                        on_step=step_events(on_event, group[0], summary, total))
        record(rec)
        return [rec]

    stop = StopOnSignal()
    with stop, beat:
        try:
            warm_up(objective)  # imports, data: the run's start-up, not trial 0's duration
            summary.startup_s = time.monotonic() - started
            while True:
                # The objective may have swallowed the stop request: start nothing more.
                stop.check()
                check_failures(storage, study, streak, None)  # another worker's streak
                if deadline is not None and time.monotonic() >= deadline:
                    summary.stopped = "timeout"
                    break
                if time.monotonic() - last_recovery > stale_after / 2:
                    summary.stale_recovered += storage.recover_stale(
                        study.id, older_than_s=stale_after)
                    last_recovery = time.monotonic()
                reason = claim()
                if not claimed:
                    summary.stopped = reason
                    break
                groups = pack_groups(claimed, objective, k)
                unstarted[:] = claimed
                for n, group in enumerate(groups):
                    if n and deadline is not None and time.monotonic() >= deadline:
                        give_back()  # the timeout passed during this turn's earlier groups
                        reason = "timeout"
                        break
                    unstarted[:] = [t for t in unstarted if t.id not in {g.id for g in group}]
                    if on_event:
                        for trial in group:
                            on_event(TrialEvent("start", trial, summary.best_so_far(),
                                                summary.ran, total))
                    records = run_group(group)
                    check_failures(storage, study, streak, records[-1])
                    stop.check()
                if reason is not None:  # the claims stopped short, or the timeout passed
                    summary.stopped = reason
                    break
            stop.check()  # a signal held back while the last claim failed (a busy study)
        except (KeyboardInterrupt, Stop, Interrupted) as exc:
            signum = getattr(exc, "signum", signal.SIGINT)
            # A second signal must not cut the marking short (Ctrl-C reaches every worker of a
            # process group, and the parent of --workers forwards it as well).
            stop.hold(signum)
            # A trial may have been finished just before the signal: then nothing is marked.
            marked = bool(claimed) and storage.mark_interrupted([t.id for t in claimed]) > 0
            numbers = ", ".join(str(t.number) for t in claimed)
            detail = (f"trial{'s' if len(claimed) > 1 else ''} {numbers} marked interrupted; "
                      if marked else "")
            raise interrupted(signum, detail) from None
        except Exception:
            # A pack's later groups, never started (the failure streak or a setup error
            # stopped the run): re-run by the next run, not left running until stale.
            if unstarted:
                try:
                    storage.mark_interrupted([t.id for t in unstarted])
                except Exception as exc:  # noqa: BLE001 - the first error is the one to say
                    log.warning("trials not given back: %s", exc)
            raise
        finally:
            objective.close()
    return close_summary(storage, study, summary, stale_after=stale_after)


def step_events(on_event: Callable[[TrialEvent], None] | None, trial: TrialRecord,
                summary: RunSummary, total: int | None):
    """``on_step`` for :func:`run_trial`: each report of ``trial`` as a "step" event."""
    if on_event is None:
        return None

    def on_step(step: int, metrics: dict) -> None:
        on_event(TrialEvent("step", trial, summary.best_so_far(), summary.ran, total,
                            step=step, metrics=metrics))

    return on_step


class TrialsHeartbeat:
    """Refreshes the heartbeats of the claimed, unfinished trials (``running``: their ids;
    one trial, or a pack) from a background thread."""

    def __init__(self, storage: Storage, interval: float) -> None:
        self.storage, self.interval = storage, interval
        self.running: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="hpsearch-heartbeat",
                                        daemon=True)

    def __enter__(self) -> TrialsHeartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            ids = sorted(self.running)
            if ids:
                try:
                    self.storage.heartbeat(ids)
                except Exception as exc:  # noqa: BLE001 - a missed beat is not fatal
                    log.warning("heartbeat failed: %s", exc)


__all__ = ["step_events", "work", "round_limit", "sampler_limit", "trials_to_run",
           "TrialsHeartbeat"]
