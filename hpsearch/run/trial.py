"""Running one claimed trial: call the objective, keep its intermediate steps, record the end.

A trial ends ``complete`` or ``failed`` (the objective's :class:`TrialFailed`, an exception or
``sys.exit`` in the user's code); a signal (:class:`~hpsearch.run.signals.Stop`) propagates
after the steps so far are written, and the loop marks the trial interrupted.
"""

from __future__ import annotations

import logging
import time
import traceback
from typing import Any, Mapping

from hpsearch.errors import HpsearchError, Interrupted, StorageError
from hpsearch.objectives import Objective, TrialContext, TrialFailed, extract_value, json_safe
from hpsearch.run.signals import Stop, StopOnSignal
from hpsearch.storage import Storage, StudyRecord, TrialRecord

log = logging.getLogger(__name__)

#: Intermediate reports are written at least this often while a trial runs.
STEP_FLUSH_S = 5.0


def run_trial(storage: Storage, study: StudyRecord, objective: Objective, trial: TrialRecord,
              device: str | None, stop: StopOnSignal) -> TrialRecord:
    """Run ``trial`` with ``objective``, record how it ended, and return it as recorded.

    A :class:`HpsearchError` (a setup problem every trial would hit, such as a missing data
    file) is recorded as the trial's failure and then raised, to stop the run.
    """
    steps = StepBuffer()
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

    def report(step: int, metrics: Mapping[str, Any]) -> None:
        steps.add(int(step), {str(k): json_safe(v) for k, v in metrics.items()})
        if time.monotonic() - last_flush[0] > STEP_FLUSH_S:
            write_steps(final=False)
            last_flush[0] = time.monotonic()

    ctx = TrialContext(number=trial.number, seed=trial.seed, device=device, report=report)
    value = None
    metrics: dict[str, Any] | None = None
    error = None
    fatal: HpsearchError | None = None
    try:
        result = objective.run(trial.params, ctx)
        value, metrics = extract_value(result, study.metric)
        state = "complete"
    except TrialFailed as exc:
        state, error, metrics = "failed", str(exc), exc.metrics or None
    except (KeyboardInterrupt, Stop, Interrupted):
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
        write_steps(final=True)
        raise Stop(stop.signum)
    if metrics is not None:  # objectives other than ours may hand back NaN
        metrics = {str(k): json_safe(v) for k, v in metrics.items()}
    storage.finish(trial.id, state=state, value=value, metrics=metrics, error=error,
                   steps=steps.pending(final=True), device=ctx.device_used)
    if fatal is not None:
        raise fatal
    return TrialRecord(
        id=trial.id, number=trial.number, round=trial.round, state=state, params=trial.params,
        value=value, metrics=metrics, seed=trial.seed, worker=trial.worker,
        device=ctx.device_used or trial.device, started_at=trial.started_at,
        finished_at=time.time(), error=error, retry_of=trial.retry_of,
        sample_index=trial.sample_index)


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
