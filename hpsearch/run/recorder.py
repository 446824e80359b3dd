"""One claimed trial while it runs, and the one place that records how it ended.

A :class:`TrialRecorder` serves a trial run alone (:func:`hpsearch.run.trial.run_trial`) and
each member of a pack (:mod:`hpsearch.run.pack`) alike: it keeps the trial's reported steps
(:class:`StepBuffer`) and the notes on what could not be stored (:class:`~.reports.Notes`),
asks the round's pruner after each step that carries its metric (written first, so a peer
asking later sees it), writes the curve at least every :data:`STEP_FLUSH_S` seconds, and
records the trial's end (complete, pruned, failed) with all its steps in one transaction.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Mapping

from hpsearch.errors import StorageError
from hpsearch.run.pruning import TrialWatch, pruned_outcome
from hpsearch.run.reports import Notes, check_metrics, check_report, clean_text
from hpsearch.storage import Storage, StudyRecord, TrialRecord

log = logging.getLogger(__name__)

__all__ = ["TrialRecorder", "StepBuffer", "STEP_FLUSH_S", "OnStep"]

#: Intermediate reports are written at least this often while a trial runs.
STEP_FLUSH_S = 5.0

OnStep = Callable[[int, dict[str, Any]], None]


class StepBuffer:
    """A trial's intermediate reports, merged per step and written in whole steps.

    A step reported again updates its metrics (later values win), so each step is one row.
    The storage replaces every step from a batch's first one on, so all steps stay in memory
    and a batch always runs from the earliest changed step to the last one written: a step
    reported again after it was written costs a rewrite, not a lost row. Until the trial ends
    the latest step is held back, as more metrics of it may follow (train, then validation).
    """

    def __init__(self) -> None:
        self.steps: dict[int, dict[str, Any]] = {}
        self.dirty: int | None = None   # the earliest step changed since the last write

    def add(self, step: int, metrics: dict[str, Any]) -> None:
        self.steps.setdefault(step, {}).update(metrics)
        self.dirty = step if self.dirty is None else min(self.dirty, step)

    def pending(self, *, final: bool) -> list[tuple[int, dict[str, Any]]]:
        """The steps to write now: through the latest one when ``final``, else before it."""
        if self.dirty is None:
            return []
        last = max(self.steps) if final else max(self.steps) - 1
        return [(s, dict(m)) for s, m in sorted(self.steps.items()) if self.dirty <= s <= last]

    def written(self, batch: list[tuple[int, dict[str, Any]]]) -> None:
        top = batch[-1][0]
        self.dirty = min((s for s in self.steps if s > top), default=None)


class TrialRecorder:
    """A claimed trial's reports and its end, recorded once (see the module docstring).

    ``watch`` is the round pruner's watch of the trial (None: no pruning); ``on_step`` hears
    each stored report (the progress bar); ``on_record`` the trial as recorded. With
    ``record_when_pruned`` (a pack member) the trial is recorded as pruned the moment the
    pruner decides, and reports after that are ignored; alone, the objective stops and
    :func:`~hpsearch.run.trial.run_trial` records it. ``note`` is added to the recorded note
    ("packed with trials 3, 5").
    """

    def __init__(self, storage: Storage, study: StudyRecord, trial: TrialRecord, *,
                 watch: TrialWatch | None = None, on_step: OnStep | None = None,
                 on_record: Callable[[TrialRecord], None] | None = None,
                 record_when_pruned: bool = False) -> None:
        self.storage, self.study, self.trial = storage, study, trial
        self.watch, self.on_step, self.on_record = watch, on_step, on_record
        self.record_when_pruned = record_when_pruned
        self.steps = StepBuffer()
        self.notes = Notes()
        self.note: str | None = None
        #: The device recorded when :meth:`finish` is given none (a pack's, once resolved).
        self.device: str | None = None
        self.flushed = time.monotonic()
        self.record: TrialRecord | None = None

    @property
    def pruned(self) -> bool:
        return self.watch is not None and self.watch.pruned

    def write_steps(self, *, final: bool) -> None:
        """Write the steps not written yet (through the latest one when ``final``). An
        intermediate write that fails is kept for the next one and the result: a busy
        database in the middle of a trial is no reason to fail it."""
        batch = self.steps.pending(final=final)
        if not batch:
            return
        try:
            self.storage.add_steps(self.trial.id, batch)
        except StorageError as exc:
            if final:
                raise
            log.warning("trial %d: intermediate steps not written yet: %s", self.trial.number,
                        exc)
            return
        self.steps.written(batch)

    def report(self, step: int, metrics: Mapping[str, Any]) -> bool:
        """The objective's ``report(step, metrics)``: stored, judged; True once to stop."""
        if self.record is not None:  # recorded (pruned) already
            return True
        checked = check_report(step, metrics, self.notes)
        if checked is None:  # a step the database cannot hold: dropped, noted (run/reports.py)
            return self.pruned
        step, stored = checked
        self.steps.add(step, stored)
        if self.on_step is not None:  # the progress bar's "step 3: val_loss=..."
            self.on_step(step, stored)
        self.judge(step, metrics)
        if self.pruned and self.record_when_pruned:
            # Recorded now: a signal later in the pack must not leave it running (to be
            # resumed as interrupted); the pack drops it after this epoch.
            try:
                self.record_pruned()
            except StorageError as exc:
                log.warning("trial %d: pruned, recorded when the pack ends: %s",
                            self.trial.number, exc)
        elif time.monotonic() - self.flushed > STEP_FLUSH_S:
            self.write_steps(final=False)
            self.flushed = time.monotonic()
        return self.pruned

    def judge(self, step: int, metrics: Mapping[str, Any]) -> None:
        """Ask the pruner when the step carries its metric and a decision is due. The step is
        written before asking: of two trials at a rung at once, the later to ask sees the
        other's value (docs/pruning.md)."""
        w = self.watch
        if w is None or not w.observe(step, metrics) or not w.due():
            return
        try:
            self.write_steps(final=True)
            self.flushed = time.monotonic()
            w.decide()
        except StorageError as exc:
            log.warning("trial %d: no pruning decision at step %d: %s", self.trial.number,
                        step, exc)

    def finish(self, state: str, *, value: float | None = None,
               metrics: Mapping[str, Any] | None = None, error: str | None = None,
               pruned_step: int | None = None, reason: str | None = None,
               device: str | None = None, **outcome: Any) -> TrialRecord:
        """Record the trial's end (with all its steps) in one transaction; the record.
        ``outcome``: every objective's value and the constraint verdict of a complete trial
        (:func:`~hpsearch.objectives.extract_outcome`)."""
        if metrics is not None:  # objectives other than ours may hand back NaN
            metrics = check_metrics(metrics, self.notes, where="result")
        # A lone surrogate (a user's exception message) would make the database refuse it.
        note = clean_text("; ".join(filter(None, [reason, self.note, self.notes.text()])))
        note = note or None
        error = clean_text(error)
        device = device if device is not None else self.device
        self.storage.finish(self.trial.id, state=state, value=value, metrics=metrics,
                            error=error, steps=self.steps.pending(final=True), device=device,
                            pruned_step=pruned_step, note=note, **outcome)
        self.record = self.trial.replaced(
            state=state, value=value, metrics=metrics, error=error,
            device=device or self.trial.device, finished_at=time.time(),
            pruned_step=pruned_step, note=note, **outcome)
        if self.on_record is not None:
            self.on_record(self.record)
        return self.record

    def record_pruned(self, *, step: int | None = None, reason: str | None = None,
                      fallback: Mapping[str, Any] | None = None,
                      device: str | None = None) -> TrialRecord:
        """Record the trial as pruned: its best value so far of the study's metric (partial:
        never compared with finished trials), the step where it stopped, and why (the
        pruner's reason, else the objective's ``reason``). ``fallback``: the metrics the
        objective handed over, used when no reported step holds the study's metric."""
        study = self.study
        if self.watch is not None:
            out = self.watch.outcome(self.steps.steps, study.metric, maximize=study.maximize,
                                     exc_step=step, exc_reason=reason, exc_metrics=fallback)
        else:
            out = pruned_outcome(self.steps.steps, study.metric, maximize=study.maximize,
                                 step=step, reason=reason, fallback=fallback)
        return self.finish("pruned", value=out["value"], metrics=out["metrics"],
                           pruned_step=out["pruned_step"], reason=out["note"], device=device)
