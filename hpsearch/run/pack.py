"""``--pack K``: a worker claims up to K trials of the built-in trainer and trains those that
share a shape as one stacked model (:func:`hpsearch.trainer.packed.fit_packed`).

Sample first, then group: proposals are claimed in the order the sampler makes them (packing
never changes what is sampled), with a look-ahead: a turn claims until K of them share a shape
(:func:`~hpsearch.trainer.packed.pack_key`) or the window (:func:`pack_window`: up to
``LOOK_AHEAD`` × K, no more than this worker's share of the trials to run) is full. Every
trial claimed in a turn runs in that turn: each group of two or more of one shape trains as one
pack (of at most K), a trial alone in its group runs as it would without ``--pack``
(:func:`~hpsearch.run.trial.run_trial`). The claim loop is :func:`hpsearch.run.loop.work`'s,
for one trial or many: this module only says K, the window, the groups, and how a pack trains
and is recorded. Each trial is recorded exactly as a sequential one (steps, metrics, best
epoch, device, pruning, notes of dropped reports), with the note "packed with trials 3, 5, 7";
a member pruned mid-pack is recorded when it is pruned, the others when the pack ends.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import traceback
from typing import Any, Callable

from hpsearch.errors import ConfigError, HpsearchError, Interrupted, StorageError
from hpsearch.objectives import extract_outcome
from hpsearch.run.pruning import TrialWatch, pruned_outcome
from hpsearch.run.reports import Notes, check_metrics, check_report, clean_text
from hpsearch.run.trial import STEP_FLUSH_S, StepBuffer
from hpsearch.space import Space
from hpsearch.storage import Storage, StudyRecord, TrialRecord

log = logging.getLogger(__name__)

__all__ = ["pack_size", "pack_window", "pack_groups", "run_pack", "group_trials", "shape_key",
           "ShapeCount", "LOOK_AHEAD"]

#: A turn of ``--pack K`` claims at most this many times K trials while looking for K of one
#: shape (see :func:`pack_window`).
LOOK_AHEAD = 4


def pack_size(space: Space, pack: int | None) -> int:
    """K for this run: ``--pack`` (``RunOptions.pack``), else ``[trainer] pack``, else 1.

    Raises :class:`ConfigError` (exit 2) for K < 1 and for K > 1 with an objective other than
    the built-in trainer.
    """
    k = pack if pack is not None else space.trainer.get("pack", 1)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"--pack: {k!r} must be an integer >= 1")
    kind = space.objective.get("kind", "builtin")
    if k > 1 and kind != "builtin":
        raise ConfigError(f"--pack {k}: packing trains the built-in trainer's models together; "
                          f"this study's objective is {kind!r} (run it without --pack)")
    return k


def packable(objective: Any) -> bool:
    """Whether ``objective``'s trials may train as packs: fp16 needs a gradient scaler per
    trial, so such trials run one by one."""
    return getattr(getattr(objective, "settings", None), "precision", "") != "fp16"


def pack_window(k: int, objective: Any, *, expected: int | None, workers: int = 1) -> int:
    """How many trials one turn of the loop may claim with ``--pack K``: ``LOOK_AHEAD`` × K,
    but no more than this worker's share of the ``expected`` trials of the run (``workers``
    processes share them: one must not take them all while the others idle), and never fewer
    than K. 1 without packing (K = 1, or fp16)."""
    if k <= 1 or not packable(objective):
        return 1
    window = LOOK_AHEAD * k
    if expected is not None:
        window = min(window, max(k, -(-expected // max(1, workers))))
    return window


def shape_key(trial: TrialRecord) -> Any:
    """The shape a trial packs by (:func:`~hpsearch.trainer.packed.pack_key`); a trial whose
    params do not check has a key of its own: it fails alone, as it would without packing."""
    from hpsearch.trainer import TrialParams
    from hpsearch.trainer.packed import pack_key

    try:
        return pack_key(TrialParams.from_mapping(trial.params))
    except ConfigError:
        return ("alone", trial.id)


class ShapeCount:
    """The claim loop's look-ahead: how many trials of each shape a turn claimed so far."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.counts: dict[Any, int] = {}

    def add(self, trial: TrialRecord) -> bool:
        """Count ``trial``; True when its shape now has K trials (a full pack: claim no more)."""
        if self.k <= 1:
            return True
        key = shape_key(trial)
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key] >= self.k

    def clear(self) -> None:
        self.counts.clear()


def group_trials(trials: list[TrialRecord], k: int | None = None) -> list[list[TrialRecord]]:
    """The claimed trials grouped by shape (:func:`shape_key`), in claim order; a group of more
    than ``k`` is split into packs of at most ``k``, of sizes as even as can be."""
    groups: dict[Any, list[TrialRecord]] = {}
    for t in trials:
        groups.setdefault(shape_key(t), []).append(t)
    out: list[list[TrialRecord]] = []
    for group in groups.values():
        n = len(group)
        parts = 1 if k is None or k < 1 else -(-n // k)
        size, extra = divmod(n, parts)
        at = 0
        for i in range(parts):
            step = size + (1 if i < extra else 0)
            out.append(group[at:at + step])
            at += step
    return out


def pack_groups(trials: list[TrialRecord], objective: Any,
                k: int | None = None) -> list[list[TrialRecord]]:
    """The claimed trials as the loop runs them: one group (of one trial, or of one shape,
    trained as a pack of at most ``k``) at a time (:func:`group_trials`). fp16 trials run one
    by one (:func:`packable`)."""
    if len(trials) < 2:
        return [list(trials)]
    if not packable(objective):
        return [[t] for t in trials]
    return group_trials(trials, k)


def run_pack(storage: Storage, study: StudyRecord, objective: Any, trials: list[TrialRecord],
             device: str | None, *, watch: Callable[[TrialRecord], Any] | None = None,
             on_step: Callable[[TrialRecord], Callable[[int, dict[str, Any]], None] | None]
             | None = None,
             on_record: Callable[[TrialRecord], None] | None = None) -> list[TrialRecord]:
    """Train ``trials`` (one shape) as one pack with ``objective``'s settings and record each;
    return them as recorded.

    ``watch(trial)`` gives the round pruner's watch of a trial (None: no pruning);
    ``on_step(trial)`` the callback of its reports (:func:`hpsearch.run.loop.step_events`);
    ``on_record(record)`` is called as each trial is recorded: a member pruned mid-pack at
    once, the others when the pack ends. Reports are checked as :func:`run_trial`'s are
    (:func:`~hpsearch.run.reports.check_report`). A setup error every trial would hit
    (:class:`HpsearchError`) is recorded on each, then raised. On a signal (or any
    BaseException) in training, pruned members are recorded as pruned (never resumed) and the
    others keep their steps; the loop marks them interrupted. A member that cannot be recorded
    (the database refused it) is marked interrupted, the others recorded, and the error raised.
    """
    from hpsearch.objectives.builtin import apply_threads
    from hpsearch.trainer import TrialParams
    from hpsearch.trainer.fit import resolve_device
    from hpsearch.trainer.packed import fit_packed

    settings = objective.settings
    if device is not None and device != settings.device:
        settings = dataclasses.replace(settings, device=device)
    pack = Pack(storage, study, trials, watch, on_step, on_record)
    fatal: HpsearchError | None = None
    try:
        checked = [TrialParams.from_mapping(t.params) for t in trials]
        pack.device = str(resolve_device(settings.device))
        apply_threads(settings, checked[0])  # the trial's thread count, as the objective sets it
        results: list[Any] = fit_packed(checked, settings, seeds=[t.seed for t in trials],
                                        reports=[pack.reporter(i) for i in range(len(trials))])
    except Interrupted:
        pack.wind_down()
        raise
    except HpsearchError as exc:
        fatal, results = exc, [exc] * len(trials)
    except Exception as exc:  # noqa: BLE001 - a bug in packing fails these trials, not the study
        results = [RuntimeError(f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-6)}")
                   ] * len(trials)
    except BaseException:  # a signal (Stop, KeyboardInterrupt): the loop marks the rest
        pack.wind_down()
        raise
    pack.record_all(results)
    if fatal is not None:
        raise fatal
    return [m.record for m in pack.members if m.record is not None]


@dataclasses.dataclass
class Member:
    """One trial of a pack while it trains: its steps, notes, pruner watch, record once done."""

    trial: TrialRecord
    watch: TrialWatch | None
    on_step: Callable[[int, dict[str, Any]], None] | None
    steps: StepBuffer = dataclasses.field(default_factory=StepBuffer)
    notes: Notes = dataclasses.field(default_factory=Notes)
    flushed: float = dataclasses.field(default_factory=time.monotonic)
    record: TrialRecord | None = None

    @property
    def pruned(self) -> bool:
        return self.watch is not None and self.watch.pruned


class Pack:
    """The members of one pack: their reports as :func:`run_trial` keeps them, and their
    records."""

    def __init__(self, storage: Storage, study: StudyRecord, trials: list[TrialRecord],
                 watch: Callable[[TrialRecord], Any] | None,
                 on_step: Callable[[TrialRecord], Any] | None,
                 on_record: Callable[[TrialRecord], None] | None) -> None:
        self.storage, self.study, self.on_record = storage, study, on_record
        self.device: str | None = None
        self.members = [Member(t, watch(t) if watch is not None else None,
                               on_step(t) if on_step is not None else None) for t in trials]

    def packed_note(self, trial: TrialRecord) -> str:
        others = [str(m.trial.number) for m in self.members if m.trial.id != trial.id]
        return f"packed with trial{'s' if len(others) > 1 else ''} {', '.join(others)}"

    def write_steps(self, m: Member, *, final: bool) -> None:
        batch = m.steps.pending(final=final)
        if batch:
            self.storage.add_steps(m.trial.id, batch)
            m.steps.written(batch)

    def reporter(self, i: int) -> Callable[[int, dict[str, float]], bool]:
        m = self.members[i]

        def report(step: int, metrics: dict[str, float]) -> bool:
            if m.record is not None:  # recorded (pruned) already
                return True
            checked = check_report(step, metrics, m.notes)
            if checked is None:  # a step the database cannot hold: dropped, noted
                return m.pruned
            step, stored = checked
            m.steps.add(step, stored)
            if m.on_step is not None:
                m.on_step(step, stored)
            w = m.watch
            if w is not None and w.observe(step, metrics) and w.due():
                # Written before asking, as run_trial does: a peer asking later sees it.
                try:
                    self.write_steps(m, final=True)
                    m.flushed = time.monotonic()
                    w.decide()
                except StorageError as exc:
                    log.warning("trial %d: no pruning decision at step %d: %s",
                                m.trial.number, step, exc)
            if m.pruned:
                # Recorded now: a signal later in the pack must not leave it running (to be
                # resumed as interrupted); the pack drops it after this epoch.
                try:
                    self.record_pruned(m)
                except StorageError as exc:
                    log.warning("trial %d: pruned, recorded when the pack ends: %s",
                                m.trial.number, exc)
            elif time.monotonic() - m.flushed > STEP_FLUSH_S:
                try:
                    self.write_steps(m, final=False)
                except StorageError as exc:  # kept in the buffer, written with the result
                    log.warning("trial %d: intermediate steps not written yet: %s",
                                m.trial.number, exc)
                m.flushed = time.monotonic()
            return m.pruned
        return report

    def finish(self, m: Member, state: str, *, value: Any = None,
               metrics: dict[str, Any] | None = None, error: str | None = None,
               pruned_step: int | None = None, reason: str | None = None,
               **outcome: Any) -> None:
        """Record ``m`` (with all its steps) in one transaction, then tell ``on_record``.
        ``outcome``: every objective's value and the constraint verdict of a complete trial."""
        if metrics is not None:
            metrics = check_metrics(metrics, m.notes, where="result")
        note = clean_text("; ".join(filter(None, [reason, self.packed_note(m.trial),
                                                  m.notes.text()])))
        error = clean_text(error)
        self.storage.finish(m.trial.id, state=state, value=value, metrics=metrics, error=error,
                            steps=m.steps.pending(final=True), device=self.device,
                            pruned_step=pruned_step, note=note, **outcome)
        m.record = dataclasses.replace(
            m.trial, state=state, value=value, metrics=metrics, error=error,
            device=self.device or m.trial.device, finished_at=time.time(),
            pruned_step=pruned_step, note=note, **outcome)
        if self.on_record is not None:
            self.on_record(m.record)

    def record_pruned(self, m: Member, fallback: dict[str, Any] | None = None,
                      step: int | None = None) -> None:
        """Record ``m`` as pruned: its best value so far, the step where it stopped, why."""
        study = self.study
        if m.watch is not None:
            out = m.watch.outcome(m.steps.steps, study.metric, maximize=study.maximize,
                                  exc_step=step, exc_metrics=fallback)
        else:
            out = pruned_outcome(m.steps.steps, study.metric, maximize=study.maximize,
                                 step=step, reason=None, fallback=fallback)
        self.finish(m, "pruned", value=out["value"], metrics=out["metrics"],
                    pruned_step=out["pruned_step"], reason=out["note"])

    def record_result(self, m: Member, result: Any) -> None:
        """Record ``m`` from what :func:`fit_packed` gave for it (or the error of the pack)."""
        if isinstance(result, Exception):
            self.finish(m, "failed", error=str(result))
            return
        check_metrics(result.metrics, m.notes, where="result")  # noted as run_trial notes them
        if result.state == "pruned":
            self.record_pruned(m, result.metrics, result.pruned_step)
        elif result.state == "complete":
            try:
                value, metrics, outcome = extract_outcome(result.metrics, self.study)
            except Exception as exc:  # noqa: BLE001 - TrialFailed: the metric is missing
                self.finish(m, "failed", error=str(exc), metrics=dict(result.metrics))
            else:
                self.finish(m, "complete", value=value, metrics=metrics, **outcome)
        else:
            self.finish(m, "failed", error=result.error or "failed",
                        metrics=dict(result.metrics) or None)

    def record_all(self, results: list[Any]) -> None:
        """Record every member not recorded yet. One the database refuses does not stop the
        others; it is marked interrupted (the next run re-runs it) and the first error raised."""
        first: Exception | None = None
        try:
            for m, result in zip(self.members, results):
                if m.record is None:
                    try:
                        self.record_result(m, result)
                    except Exception as exc:  # noqa: BLE001 - raised once the others are in
                        log.warning("trial %d not recorded: %s", m.trial.number, exc)
                        first = first or exc
        except BaseException:  # a signal while recording: the rest is marked interrupted
            self.give_back()
            raise
        if first is not None:
            self.give_back()
            raise first

    def give_back(self) -> None:
        """Mark the members not recorded interrupted: the next run re-runs them."""
        left = [m.trial.id for m in self.members if m.record is None]
        try:
            self.storage.mark_interrupted(left)
        except Exception as exc:  # noqa: BLE001 - the first error is the one to say
            log.warning("trials not given back: %s", exc)

    def wind_down(self) -> None:
        """Training stopped by a signal: a pruned member is finished (recorded as pruned, never
        resumed); the others keep their steps so far, and the loop marks them interrupted."""
        for m in self.members:
            if m.record is not None:
                continue
            try:
                if m.pruned:
                    self.record_pruned(m)
                else:
                    self.write_steps(m, final=True)
            except Exception as exc:  # noqa: BLE001 - the signal is what the run ends with
                log.warning("trial %d: not recorded after the signal: %s", m.trial.number, exc)
