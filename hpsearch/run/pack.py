"""``--pack K``: a worker claims up to K trials and trains those that share a shape together
(the objective's packing hooks: :meth:`~hpsearch.objectives.Objective.pack_key` and
:meth:`~hpsearch.objectives.Objective.run_packed`; the built-in trainer stacks them as one
model).

Sample first, then group: proposals are claimed in the order the sampler makes them (packing
never changes what is sampled), with a look-ahead: a turn claims until K of them share a shape
(:meth:`~hpsearch.objectives.Objective.pack_key`) or the window (:func:`pack_window`: up to
``LOOK_AHEAD`` × K, no more than this worker's share of the trials to run) is full. Every
trial claimed in a turn runs in that turn: each group of two or more of one shape trains as one
pack (of at most K), a trial alone in its group runs as it would without ``--pack``
(:func:`~hpsearch.run.trial.run_trial`). The claim loop is :func:`hpsearch.run.loop.work`'s,
for one trial or many: this module only says K, the window, the groups, and how a pack trains
and is recorded. Each trial is recorded exactly as a sequential one (steps, metrics, best
epoch, device, pruning, notes of dropped reports), with the note "packed with trials 3, 5, 7";
a member pruned mid-pack is recorded when it is pruned, one that ends before the pack (its
last epoch, early stopping, divergence: the objective's ``on_end``) when it ends, the others
when the pack ends.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any, Callable, Mapping

from hpsearch.errors import ConfigError, HpsearchError, Interrupted
from hpsearch.objectives import Objective, PackedResult, extract_outcome, objective_class
from hpsearch.run.pruning import TrialWatch
from hpsearch.run.recorder import OnStep, TrialRecorder
from hpsearch.run.reports import check_metrics
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

    Raises :class:`ConfigError` (exit 2) for K < 1 and for K > 1 with an objective that cannot
    pack (:attr:`~hpsearch.objectives.Objective.can_pack`).
    """
    k = pack if pack is not None else space.trainer.get("pack", 1)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"--pack: {k!r} must be an integer >= 1")
    cls = objective_class(space)
    if k > 1 and not cls.can_pack:
        raise ConfigError(f"--pack {k}: packing trains the built-in trainer's models together; "
                          f"this study's objective is {cls.kind!r} (run it without --pack)")
    return k


def pack_window(k: int, objective: Objective, *, expected: int | None, workers: int = 1) -> int:
    """How many trials one turn of the loop may claim with ``--pack K``: ``LOOK_AHEAD`` × K,
    but no more than this worker's share of the ``expected`` trials of the run (``workers``
    processes share them: one must not take them all while the others idle), and never fewer
    than K. 1 without packing (K = 1, or an objective that cannot pack now: fp16)."""
    if k <= 1 or not objective.packable():
        return 1
    window = LOOK_AHEAD * k
    if expected is not None:
        window = min(window, max(k, -(-expected // max(1, workers))))
    return window


def shape_key(objective: Objective, trial: TrialRecord) -> Any:
    """The shape a trial packs by (:meth:`~hpsearch.objectives.Objective.pack_key`); a trial
    whose params do not check has a key of its own: it fails alone, as it would without
    packing."""
    try:
        return objective.pack_key(trial.params)
    except ConfigError:
        return ("alone", trial.id)


class ShapeCount:
    """The claim loop's look-ahead: how many trials of each shape a turn claimed so far."""

    def __init__(self, k: int, objective: Objective) -> None:
        self.k, self.objective = k, objective
        self.counts: dict[Any, int] = {}

    def add(self, trial: TrialRecord) -> bool:
        """Count ``trial``; True when its shape now has K trials (a full pack: claim no more)."""
        if self.k <= 1:
            return True
        key = shape_key(self.objective, trial)
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key] >= self.k

    def clear(self) -> None:
        self.counts.clear()


def group_trials(trials: list[TrialRecord], objective: Objective,
                 k: int | None = None) -> list[list[TrialRecord]]:
    """The claimed trials grouped by shape (:func:`shape_key`), in claim order; a group of more
    than ``k`` is split into packs of at most ``k``, of sizes as even as can be."""
    groups: dict[Any, list[TrialRecord]] = {}
    for t in trials:
        groups.setdefault(shape_key(objective, t), []).append(t)
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


def pack_groups(trials: list[TrialRecord], objective: Objective,
                k: int | None = None) -> list[list[TrialRecord]]:
    """The claimed trials as the loop runs them: one group (of one trial, or of one shape,
    trained as a pack of at most ``k``) at a time (:func:`group_trials`). Trials of an
    objective that cannot pack now (fp16) run one by one."""
    if len(trials) < 2:
        return [list(trials)]
    if not objective.packable():
        return [[t] for t in trials]
    return group_trials(trials, objective, k)


def run_pack(storage: Storage, study: StudyRecord, objective: Objective,
             trials: list[TrialRecord],
             device: str | None, *, watch: Callable[[TrialRecord], Any] | None = None,
             on_step: Callable[[TrialRecord], Callable[[int, dict[str, Any]], None] | None]
             | None = None,
             on_record: Callable[[TrialRecord], None] | None = None) -> list[TrialRecord]:
    """Train ``trials`` (one shape) as one pack (``objective.run_packed``) and record each;
    return them as recorded.

    ``watch(trial)`` gives the round pruner's watch of a trial (None: no pruning);
    ``on_step(trial)`` the callback of its reports (:func:`hpsearch.run.loop.step_events`);
    ``on_record(record)`` is called as each trial is recorded: a member pruned or ended
    mid-pack at once, the others when the pack ends. Reports are checked as :func:`run_trial`'s are
    (:func:`~hpsearch.run.reports.check_report`). A setup error every trial would hit
    (:class:`HpsearchError`) is recorded on each, then raised. On a signal (or any
    BaseException) in training, pruned members are recorded as pruned (never resumed) and the
    others keep their steps; the loop marks them interrupted. A member that cannot be recorded
    (the database refused it) is marked interrupted, the others recorded, and the error raised.
    """
    pack = Pack(storage, study, trials, watch, on_step, on_record)
    fatal: HpsearchError | None = None
    results: list[PackedResult | Exception]
    try:
        pack.set_device(objective.pack_device(device))
        results = list(objective.run_packed(
            [t.params for t in trials], seeds=[t.seed for t in trials],
            reports=[pack.reporter(i) for i in range(len(trials))], device=device,
            numbers=[t.number for t in trials], on_end=pack.ended))
    except Interrupted:
        pack.wind_down()
        raise
    except HpsearchError as exc:
        fatal, results = exc, [exc for _ in trials]
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


class Pack:
    """The members of one pack, each a :class:`~hpsearch.run.recorder.TrialRecorder` that
    records it when it is pruned or ends before the pack (:meth:`ended`), the others when the
    pack ends."""

    def __init__(self, storage: Storage, study: StudyRecord, trials: list[TrialRecord],
                 watch: Callable[[TrialRecord], TrialWatch | None] | None,
                 on_step: Callable[[TrialRecord], OnStep | None] | None,
                 on_record: Callable[[TrialRecord], None] | None) -> None:
        self.storage, self.study = storage, study
        self.members = [
            TrialRecorder(storage, study, t, watch=watch(t) if watch is not None else None,
                          on_step=on_step(t) if on_step is not None else None,
                          on_record=on_record, record_when_pruned=True) for t in trials]
        for m in self.members:
            others = [str(o.trial.number) for o in self.members if o is not m]
            m.note = f"packed with trial{'s' if len(others) > 1 else ''} {', '.join(others)}"

    def set_device(self, device: str | None) -> None:
        for m in self.members:
            m.device = device

    def reporter(self, i: int) -> Callable[[int, Mapping[str, Any]], bool]:
        return self.members[i].report

    def record_result(self, m: TrialRecorder, result: PackedResult | Exception) -> None:
        """Record ``m`` from what ``run_packed`` gave for it (or the error of the pack)."""
        if isinstance(result, Exception):
            m.finish("failed", error=str(result))
            return
        check_metrics(result.metrics, m.notes, where="result")  # noted as run_trial notes them
        if result.state == "pruned":
            m.record_pruned(step=result.pruned_step, fallback=result.metrics)
        elif result.state == "complete":
            try:
                value, metrics, outcome = extract_outcome(result.metrics, self.study)
            except Exception as exc:  # noqa: BLE001 - TrialFailed: an objective is missing
                m.finish("failed", error=str(exc), metrics=dict(result.metrics))
            else:
                m.finish("complete", value=value, metrics=metrics, **outcome)
        else:
            m.finish("failed", error=result.error or "failed",
                     metrics=dict(result.metrics) or None)

    def ended(self, i: int, result: PackedResult) -> None:
        """Member i ended before the pack (early stopping, divergence): recorded now, so a
        signal or a crash later in the pack does not run it again. One the database refuses
        now is recorded with the others at the end."""
        m = self.members[i]
        if m.record is not None:
            return
        try:
            self.record_result(m, result)
        except Exception as exc:  # noqa: BLE001 - tried again when the pack ends
            log.warning("trial %d not recorded yet: %s", m.trial.number, exc)

    def record_all(self, results: list[PackedResult | Exception]) -> None:
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
                    m.record_pruned()
                else:
                    m.write_steps(final=True)
            except Exception as exc:  # noqa: BLE001 - the signal is what the run ends with
                log.warning("trial %d: not recorded after the signal: %s", m.trial.number, exc)
