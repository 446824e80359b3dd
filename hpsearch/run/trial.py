"""Running one claimed trial: call the objective, keep its intermediate steps, record the end.

A trial ends ``complete``, ``pruned`` (the pruner gave up on it: :mod:`hpsearch.run.pruning`)
or ``failed`` (the objective's :class:`TrialFailed`, an exception or ``sys.exit`` in the user's
code); a signal (:class:`~hpsearch.run.signals.Stop`) propagates
after the steps so far are written, and the loop marks the trial interrupted.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import traceback
from typing import Any, Callable, Mapping

from hpsearch.errors import HpsearchError, Interrupted, StorageError
from hpsearch.objectives import Objective, TrialContext, TrialFailed, extract_outcome
from hpsearch.pruners import Pruned
from hpsearch.run.pruning import TrialWatch, pruned_outcome
from hpsearch.run.reports import Notes, check_metrics, check_report, clean_result, clean_text
from hpsearch.run.signals import Stop, StopOnSignal
from hpsearch.storage import Storage, StudyRecord, TrialRecord

log = logging.getLogger(__name__)

#: Intermediate reports are written at least this often while a trial runs.
STEP_FLUSH_S = 5.0


def run_trial(storage: Storage, study: StudyRecord, objective: Objective, trial: TrialRecord,
              device: str | None, stop: StopOnSignal, *,
              watch: TrialWatch | None = None,
              on_step: Callable[[int, dict[str, Any]], None] | None = None) -> TrialRecord:
    """Run ``trial`` with ``objective``, record how it ended, and return it as recorded.

    A :class:`HpsearchError` (a setup problem every trial would hit, such as a missing data
    file) is recorded as the trial's failure and then raised, to stop the run.

    With ``watch`` (the round's pruner on this trial), each report holding the pruner's metric
    is written to the database, then judged; ``report`` returns True once the trial is to stop
    and the objective raises :class:`~hpsearch.pruners.Pruned`. A pruned trial is recorded as
    ``pruned`` even when a signal arrives while it winds down: it is finished, never re-run.
    """
    steps = StepBuffer()
    notes = Notes()
    last_flush = [time.monotonic()]

    def write_steps(*, final: bool) -> None:
        batch = steps.pending(final=final)
        if not batch:
            return
        try:
            storage.add_steps(trial.id, batch)
        except StorageError as exc:
            if final:
                raise
            # The curve so far stays in the buffer and goes with the trial's result; a busy
            # database in the middle of a trial is no reason to fail it.
            log.warning("trial %d: intermediate steps not written yet: %s", trial.number, exc)
            return
        steps.written(batch)

    def report(step: int, metrics: Mapping[str, Any]) -> bool:
        checked = check_report(step, metrics, notes)
        if checked is None:  # a step the database cannot hold: dropped, noted (run/reports.py)
            return watch is not None and watch.pruned
        step, stored = checked
        steps.add(step, stored)
        if on_step is not None:  # the progress bar's "step 3: val_loss=..."
            on_step(step, stored)
        if watch is not None and watch.observe(step, metrics) and watch.due():
            # Written before asking: of two trials at a rung at once, the later to ask sees
            # the other's value (docs/pruning.md).
            try:
                write_steps(final=True)
                last_flush[0] = time.monotonic()
                watch.decide()
            except StorageError as exc:
                log.warning("trial %d: no pruning decision at step %d: %s", trial.number,
                            step, exc)
        if time.monotonic() - last_flush[0] > STEP_FLUSH_S:
            write_steps(final=False)
            last_flush[0] = time.monotonic()
        return watch is not None and watch.pruned

    ctx = TrialContext(number=trial.number, seed=trial.seed, device=device, report=report)
    value = None
    metrics: dict[str, Any] | None = None
    error = None
    fatal: HpsearchError | None = None
    extra: dict[str, Any] = {}
    try:
        # Read without raising: an int past a float's range, a key 5,000 digits long.
        result = clean_result(objective.run(trial.params, ctx), notes)
        # multi-objective: every objective's value and the constraint verdict ride in `extra`
        value, metrics, extra = extract_outcome(result, study)
        state = "complete"
    except Pruned as exc:
        state = "pruned"
        extra = pruned_fields(steps, study, watch, exc)
        value, metrics = extra.pop("value"), extra.pop("metrics")
    except TrialFailed as exc:
        if watch is not None and watch.pruned:
            # Stopped by us (a command killed after SIGTERM exits non-zero): pruned, not failed.
            state = "pruned"
            extra = pruned_fields(steps, study, watch, None)
            value, metrics = extra.pop("value"), extra.pop("metrics")
        else:
            state, error, metrics = "failed", str(exc), exc.metrics or None
    except (KeyboardInterrupt, Stop, Interrupted) as exc:
        if (isinstance(exc, KeyboardInterrupt) and stop.signum is None
                and not (watch is not None and watch.pruned)):
            # No signal came (StopOnSignal turns a real SIGINT into Stop): the user's code
            # raised it itself, so its trial fails like any error and the study goes on.
            tb = traceback.format_exc(limit=-6)
            state, error = "failed", f"KeyboardInterrupt: {exc}\n{tb}"
            log.info("trial %d failed: KeyboardInterrupt without a signal", trial.number)
        else:
            if watch is not None and watch.pruned:
                # A signal while a pruned trial winds down: it is finished (pruned), not
                # interrupted, so no later run resumes it. The signal still ends the run.
                finish_pruned(storage, trial, steps, study, watch, None, ctx)
            else:
                write_steps(final=True)
            raise
    except HpsearchError as exc:
        # A setup problem that every trial would hit (a missing data file): record, then stop.
        state, error, fatal = "failed", str(exc), exc
    except SystemExit as exc:
        # sys.exit() in the user's code ends its trial, not the study.
        tb = traceback.format_exc(limit=-6)
        state, error = "failed", f"SystemExit: {exc.code}\n{tb}"
        log.info("trial %d failed: SystemExit: %s", trial.number, exc.code)
    except Exception as exc:  # noqa: BLE001 - the user's code failed; the study goes on
        tb = traceback.format_exc(limit=-6)
        state, error = "failed", f"{type(exc).__name__}: {exc}\n{tb}"
        log.info("trial %d failed: %s: %s", trial.number, type(exc).__name__, exc)
    if stop.signum is not None:
        # The objective caught the stop request and went on: whatever it returned, the trial
        # did not run to its end, so it is interrupted (and re-run), not complete or failed.
        # A pruned one is finished all the same: recorded as such, never resumed.
        if state == "pruned":
            storage.finish(trial.id, state=state, value=value, metrics=metrics,
                           steps=steps.pending(final=True), device=ctx.device_used, **extra)
        else:
            write_steps(final=True)
        raise Stop(stop.signum)
    if metrics is not None:  # objectives other than ours may hand back NaN
        metrics = check_metrics(metrics, notes, where="result")
    if notes.text() is not None:
        extra["note"] = "; ".join(filter(None, [extra.get("note"), notes.text()]))
    # A lone surrogate (a user's exception message) would make the database refuse the row.
    error = clean_text(error)
    if extra.get("note") is not None:
        extra["note"] = clean_text(extra["note"])
    storage.finish(trial.id, state=state, value=value, metrics=metrics, error=error,
                   steps=steps.pending(final=True), device=ctx.device_used, **extra)
    if fatal is not None:
        raise fatal
    return dataclasses.replace(
        trial, state=state, value=value, metrics=metrics,
        device=ctx.device_used or trial.device, finished_at=time.time(), error=error, **extra)


def pruned_fields(steps: "StepBuffer", study: StudyRecord, watch: TrialWatch | None,
                  exc: Pruned | None) -> dict[str, Any]:
    """value, metrics, pruned_step and note of a pruned trial: its best value so far of the
    study's metric (partial: never compared with finished trials), the step it stopped at,
    and why (the pruner's reason, or the objective's own)."""
    exc_step = None if exc is None else exc.step
    exc_reason = None if exc is None else exc.reason
    exc_metrics = getattr(exc, "metrics", None)
    if watch is not None:
        return watch.outcome(steps.steps, study.metric, maximize=study.maximize,
                             exc_step=exc_step, exc_reason=exc_reason, exc_metrics=exc_metrics)
    return pruned_outcome(steps.steps, study.metric, maximize=study.maximize, step=exc_step,
                          reason=exc_reason, fallback=exc_metrics)


def finish_pruned(storage: Storage, trial: TrialRecord, steps: "StepBuffer", study: StudyRecord,
                  watch: TrialWatch | None, exc: Pruned | None, ctx: TrialContext) -> None:
    """Record a pruned trial (with all its steps) in one transaction."""
    extra = pruned_fields(steps, study, watch, exc)
    value, metrics = extra.pop("value"), extra.pop("metrics")
    storage.finish(trial.id, state="pruned", value=value, metrics=metrics,
                   steps=steps.pending(final=True), device=ctx.device_used, **extra)


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


__all__ = ["run_trial", "StepBuffer", "STEP_FLUSH_S"]
