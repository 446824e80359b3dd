"""The loop of one worker: claim a trial, run it, record it; budgets, heartbeats and signals.

Every trial is committed as soon as it ends, so a crash loses nothing that completed; a trial
interrupted by SIGINT/SIGTERM is marked ``interrupted`` and the next run re-runs it under the
same number; an objective that swallows the signal (``except BaseException``) still ends the
run, its trial marked interrupted, not complete. A trial whose process died stays ``running``
until its heartbeat is older than ``stale_after``; then any run fails it as stale and queues
its params once more, until the configuration had ``1 + [study] max_retries`` attempts.

The objects: a :class:`RoundContext` (the round a process works on, its space built once), a
:class:`Worker` (one worker's loop over it, its claims and budgets), its
:class:`TrialsHeartbeat`; each trial's reports and end go through a
:class:`~hpsearch.run.recorder.TrialRecorder` (:mod:`.trial`, :mod:`.pack`).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from hpsearch.errors import Interrupted
from hpsearch.objectives import make_objective
from hpsearch.run.options import RunOptions
from hpsearch.run.history import remembering_sampler, round_memory
from hpsearch.run.pack import ShapeCount, pack_groups, pack_window, run_pack
from hpsearch.run.pack_auto import PackChooser, clock_for, pack_setting
from hpsearch.run.proposing import SamplerProposer
from hpsearch.run.pruning import RoundPruner
from hpsearch.run.records import (Budget, FailureStreak, RunSummary, Tickets, TrialEvent,
                                  worker_id)
from hpsearch.run.signals import Stop, StopOnSignal, interrupted
from hpsearch.run.studies import round_space
from hpsearch.run.summary import check_failures, close_summary, failure_limit, retry_limit
from hpsearch.run.trial import run_trial
from hpsearch.samplers import Sampler, make_sampler
from hpsearch.space import Space
from hpsearch.storage import RoundRecord, Storage, StudyBusy, StudyRecord, TrialRecord
from hpsearch.storage.artifacts import Keeper

log = logging.getLogger(__name__)

OnEvent = Callable[[TrialEvent], None]


@dataclass(frozen=True)
class RoundContext:
    """The round a process works on: where it is stored, its study and round, its space (built
    once, from the stored round and the space file when there is one), how the run goes, and
    who hears its events."""

    storage: Storage
    study: StudyRecord
    round_: RoundRecord
    space: Space
    options: RunOptions
    on_event: OnEvent | None = None

    @classmethod
    def of(cls, storage: Storage, study: StudyRecord, round_: RoundRecord,
           options: RunOptions, *, file_space: Space | None = None,
           on_event: OnEvent | None = None) -> RoundContext:
        return cls(storage, study, round_, round_space(study, round_, file_space), options,
                   on_event)

    def sampler(self) -> Sampler:
        """The round's sampler (``--sampler`` overrides the stored one), with what the round
        remembers (:mod:`hpsearch.run.history`): earlier trials for a model, finished grid
        points skipped, duplicates of its own configurations redrawn."""
        smp = make_sampler(self.options.sampler or self.round_.sampler, self.space,
                           seed=self.round_.seed)
        return remembering_sampler(smp, round_memory(self.storage, self.study, self.round_,
                                                     self.space, smp.name))

    def limit(self, sampler: Sampler | None = None) -> int | None:
        """How many trials the round may draw in all (None: no limit, for ``--add``)."""
        return sampler_limit(sampler or self.sampler(), self.round_, self.options.add)

    def expected(self, limit: int | None) -> int | None:
        """How many trials the run expects to run (:func:`trials_to_run`)."""
        return trials_to_run(self.storage, self.study, self.round_, limit=limit,
                             add=self.options.add)


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
    on_event: OnEvent | None = None, tickets: Budget | None = None,
    worker: str | None = None, streak: FailureStreak | None = None,
) -> RunSummary:
    """The claim → run → record loop of one worker on one round of an existing study
    (:class:`Worker` on the round's :class:`RoundContext`; see there)."""
    ctx = RoundContext.of(storage, study, round_, options, file_space=file_space,
                          on_event=on_event)
    return Worker(ctx, tickets=tickets, name=worker, streak=streak).run()


class Worker:
    """The claim → run → record loop of one worker on one round.

    Of ``ctx.options``, ``workers`` and ``devices`` are ignored here: this is one worker on
    ``options.device``. ``tickets`` shares the ``add`` budget between the worker processes of
    one run (default: a budget of ``add`` for this worker alone); ``name`` is the name
    recorded on its trials (default host:pid). ``streak`` counts failed trials in a row
    (shared by the workers of one run; see :func:`hpsearch.run.summary.check_failures`).

    With ``--pack K`` (``options.pack`` or ``[trainer] pack``) each turn claims until K
    trials share a shape or its look-ahead window is full (:func:`~hpsearch.run.pack.pack_window`),
    then runs every trial it claimed: those of one shape as packs, the others one by one
    (:mod:`hpsearch.run.pack`); budgets, limits, signals, heartbeats, events, pruning and the
    failure streak are the same loop's. Past the timeout it starts no further group: the
    claimed trials it did not start are marked interrupted, and the next run runs them first.
    """

    def __init__(self, ctx: RoundContext, *, tickets: Budget | None = None,
                 name: str | None = None, streak: FailureStreak | None = None) -> None:
        self.started = time.monotonic()
        o = ctx.options
        self.ctx, self.storage, self.study, self.device = ctx, ctx.storage, ctx.study, o.device
        # --pack K / auto / [trainer] pack (hpsearch.run.pack, hpsearch.run.pack_auto)
        self.k, auto = pack_setting(ctx.space, o.pack)
        self.chooser = PackChooser(self.k, auto)
        # Before the objective: a pruner that cannot be made (hyperband with no max_resource)
        # stops the run before any set-up.
        self.pruning = RoundPruner(ctx.storage, ctx.study, ctx.space, o.pruner)
        self.objective = make_objective(ctx.space, device=o.device,
                                        threads=o.threads).isolated()
        if self.chooser.measuring:  # --pack auto: CPU time on a CPU, wall time elsewhere
            self.chooser.clock, self.chooser.clock_name = clock_for(
                self.objective.pack_device(o.device))
        self.sampler = ctx.sampler()
        self.limit = ctx.limit(self.sampler)
        self.deadline = None if o.timeout is None else time.monotonic() + o.timeout
        self.summary = RunSummary(study=ctx.study.name, round=ctx.round_.number)
        # [trainer] keep_best / [study] artifacts: the files of the study's best trials
        objectives = ctx.space.objectives  # several: the first keep_best fronts are kept
        self.keeper = Keeper.for_run(ctx.storage, ctx.study, ctx.space.to_dict(),
                                     ctx.space.source,
                                     fronts=objectives.front_ranks if objectives.multi else None)
        self.streak = streak or FailureStreak(failure_limit(o, ctx.space))
        self.name = name or worker_id()
        self.tickets: Budget | None = (tickets if tickets is not None or o.add is None
                                       else Tickets(o.add))
        # Beat well within --stale-after, or a short one would fail trials that are alive.
        self.beat = TrialsHeartbeat(ctx.storage, min(o.heartbeat_interval, o.stale_after / 4))
        self.total: int | None = None
        self.window = 1
        self.shapes = ShapeCount(self.k, self.objective)  # claim until K share a shape
        self.claimed: list[TrialRecord] = []    # claimed, not yet recorded: marked on a signal
        self.unstarted: list[TrialRecord] = []  # claimed, not yet run: given back on an error
        # Model samplers read the round's finished and running trials, loaded in the claim's
        # transaction; their fit is prepared before each claim, outside the study lock
        # (hpsearch.run.proposing). Index samplers need the index alone.
        self.propose = SamplerProposer(self.sampler, ctx.storage, ctx.study, ctx.round_)
        self.stop = StopOnSignal()
        self.last_recovery = time.monotonic()

    # ------------------------------------------------------------------ the loop
    def run(self) -> RunSummary:
        """Run until the round's target, the budget, the timeout or a signal; the summary."""
        stale_after = self.ctx.options.stale_after
        self.recover_stale()
        self.summary.study_best = self.storage.best(self.study)
        self.total = self.ctx.expected(self.limit)
        self.window = pack_window(self.k, self.objective, expected=self.total,
                                  workers=self.ctx.options.workers)
        with self.stop, self.beat:
            try:
                self.objective.warm_up()  # imports, data: the run's start-up, not trial 0's
                self.summary.startup_s = time.monotonic() - self.started
                self.summary.stopped = self.turns()
                self.summary.pack_note = self.chooser.final_line()
                self.stop.check()  # a signal held back while the last claim failed (busy)
            except (KeyboardInterrupt, Stop, Interrupted) as exc:
                raise self.interrupted(exc) from None
            except Exception:
                self.give_back_unstarted()
                raise
            finally:
                self.objective.close()
        return close_summary(self.storage, self.study, self.summary, stale_after=stale_after)

    def turns(self) -> str:
        """Claim and run, a turn at a time; why the loop stopped."""
        while True:
            # The objective may have swallowed the stop request: start nothing more.
            self.stop.check()
            check_failures(self.storage, self.study, self.streak, None)  # another's streak
            if self.past_deadline():
                return "timeout"
            if time.monotonic() - self.last_recovery > self.ctx.options.stale_after / 2:
                self.recover_stale()
            reason = self.claim_turn()
            if not self.claimed:
                return reason or "target"  # None only with trials claimed
            reason = self.run_turn() or reason
            if reason is not None:  # the claims stopped short, or the timeout passed
                return reason

    def run_turn(self) -> str | None:
        """Run every trial claimed this turn, a group at a time; "timeout" when the deadline
        passed before the last group started (the rest is given back). With ``--pack auto``
        the groups are planned, timed and re-planned by the chooser (:mod:`.pack_auto`)."""
        groups = self.chooser.plan(pack_groups(self.claimed, self.objective, self.k))
        self.unstarted[:] = self.claimed
        n = 0
        while groups:
            group = groups.pop(0)
            if n and self.past_deadline():
                self.give_back()  # the timeout passed during this turn's earlier groups
                return "timeout"
            n += 1
            ids = {g.id for g in group}
            self.unstarted[:] = [t for t in self.unstarted if t.id not in ids]
            for trial in group:
                self.event("start", trial)
            began = self.chooser.clock()
            records = self.run_group(group)
            if self.chooser.observe(group, records, self.chooser.clock() - began):
                groups = self.packing_decided(groups)
            check_failures(self.storage, self.study, self.streak, records[-1])
            self.stop.check()
        return None

    def packing_decided(self, groups: list[list[TrialRecord]]) -> list[list[TrialRecord]]:
        """``--pack auto`` decided: the rest of this turn and the next turns follow it."""
        self.summary.pack_note = self.chooser.line
        if self.chooser.k != self.k:
            self.k, self.window = self.chooser.k, 1
            self.shapes = ShapeCount(1, self.objective)
        return self.chooser.plan(groups)

    def past_deadline(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def recover_stale(self) -> None:
        self.summary.stale_recovered += self.storage.recover_stale(
            self.study.id, older_than_s=self.ctx.options.stale_after,
            max_retries=retry_limit(self.ctx.space))
        self.last_recovery = time.monotonic()

    # ------------------------------------------------------------------ claims
    def claim_turn(self) -> str | None:
        """Claim up to ``window`` trials into ``claimed``, until K of them share a shape (one
        trial without --pack); why it stopped short ("added", "busy", "target",
        "exhausted"), or None."""
        self.shapes.clear()
        while len(self.claimed) < self.window:
            if self.tickets is not None and not self.tickets.take():
                return "added"
            self.propose.prepare(self.limit)  # a model's fit, before the lock
            try:
                trial = self.claim_one()
            except StudyBusy as exc:
                self.give_ticket_back()
                self.summary.busy = (exc.running, exc.limit)
                return "busy"
            if trial is None:
                self.give_ticket_back()
                exhausted = self.sampler.size is not None and self.limit == self.sampler.size
                return "exhausted" if exhausted else "target"
            self.beat.running.add(trial.id)
            if self.shapes.add(trial):
                break
        return None

    def claim_one(self) -> TrialRecord | None:
        """One claim. A signal while it commits would leave its trial running with nobody to
        mark it: it waits until ``claimed`` holds the trial."""
        with self.stop.deferred():
            trial = self.storage.claim(self.study, self.ctx.round_, propose=self.propose,
                                       limit=self.limit, worker=self.name, device=self.device,
                                       max_running=self.ctx.options.max_concurrent)
            if trial is not None:
                self.claimed.append(trial)
        return trial

    def give_ticket_back(self) -> None:
        if self.tickets is not None:
            self.tickets.give_back()

    # ------------------------------------------------------------------ trials
    def run_group(self, group: list[TrialRecord]) -> list[TrialRecord]:
        """Run a group of claimed trials (one, or a pack of one shape) and return them as
        recorded."""
        if len(group) > 1:
            return run_pack(self.storage, self.study, self.objective, group, self.device,
                            watch=self.pruning.watch, on_step=self.step_events,
                            on_record=self.record)
        trial = group[0]
        rec = run_trial(self.storage, self.study, self.objective, trial, self.device,
                        self.stop, watch=self.pruning.watch(trial),
                        on_step=self.step_events(trial))
        self.record(rec)
        return [rec]

    def record(self, rec: TrialRecord) -> None:
        """A claimed trial was recorded (alone, or a member of a pack, as it stopped)."""
        self.claimed[:] = [t for t in self.claimed if t.id != rec.id]
        self.beat.running.discard(rec.id)
        if self.keeper is not None:  # its files kept if among the best K, the rest dropped
            self.keeper.after_record(rec, self.objective.take_artifact(rec.number, rec.metrics))
        self.summary.count(rec, maximize=self.study.maximize)
        self.event("end", rec)
        self.streak.add(rec.state)

    def event(self, kind: str, trial: TrialRecord, step: int | None = None,
              metrics: dict[str, Any] | None = None) -> None:
        if self.ctx.on_event is not None:
            self.ctx.on_event(TrialEvent(kind, trial, self.summary.best_so_far(),
                                         self.summary.ran, self.total, step=step,
                                         metrics=metrics))

    def step_events(self, trial: TrialRecord) -> Callable[[int, dict[str, Any]], None] | None:
        """``on_step`` of a trial: each of its reports as a "step" event."""
        if self.ctx.on_event is None:
            return None

        def on_step(step: int, metrics: dict[str, Any]) -> None:
            self.event("step", trial, step, metrics)

        return on_step

    # ------------------------------------------------------------------ ends
    def give_back(self) -> None:
        """The claimed trials not started yet are marked interrupted: the next run runs them."""
        ids = {t.id for t in self.unstarted}
        self.storage.mark_interrupted(sorted(ids))
        self.claimed[:] = [t for t in self.claimed if t.id not in ids]
        self.beat.running.difference_update(ids)
        self.unstarted.clear()

    def give_back_unstarted(self) -> None:
        """After an error: a pack's later groups, never started (the failure streak or a setup
        error stopped the run), are re-run by the next run, not left running until stale."""
        if not self.unstarted:
            return
        try:
            self.storage.mark_interrupted([t.id for t in self.unstarted])
        except Exception as exc:  # noqa: BLE001 - the first error is the one to say
            log.warning("trials not given back: %s", exc)

    def interrupted(self, exc: BaseException) -> Interrupted:
        """A signal ended the loop: the claimed trials are marked interrupted."""
        signum = getattr(exc, "signum", signal.SIGINT)
        # A second signal must not cut the marking short (Ctrl-C reaches every worker of a
        # process group, and the parent of --workers forwards it as well).
        self.stop.hold(signum)
        claimed = self.claimed
        # A trial may have been finished just before the signal: then nothing is marked.
        marked = bool(claimed) and self.storage.mark_interrupted([t.id for t in claimed]) > 0
        numbers = ", ".join(str(t.number) for t in claimed)
        detail = (f"trial{'s' if len(claimed) > 1 else ''} {numbers} marked interrupted; "
                  if marked else "")
        return interrupted(signum, detail)


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


__all__ = ["RoundContext", "Worker", "work", "round_limit", "sampler_limit", "trials_to_run",
           "TrialsHeartbeat"]
