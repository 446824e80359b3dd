"""Running one claimed trial: call the objective, record how it ended.

A trial ends ``complete``, ``pruned`` (the pruner gave up on it: :mod:`hpsearch.run.pruning`)
or ``failed`` (the objective's :class:`TrialFailed`, an exception or ``sys.exit`` in the user's
code); a signal (:class:`~hpsearch.run.signals.Stop`) propagates after the steps so far are
written, and the loop marks the trial interrupted. Its reports and its record go through a
:class:`~hpsearch.run.recorder.TrialRecorder`, as a pack member's do.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from hpsearch.errors import HpsearchError, Interrupted
from hpsearch.objectives import Objective, TrialContext, TrialFailed, extract_outcome
from hpsearch.pruners import Pruned
from hpsearch.run.pruning import TrialWatch
from hpsearch.run.recorder import TrialRecorder
from hpsearch.run.reports import clean_result
from hpsearch.run.signals import Stop, StopOnSignal
from hpsearch.storage import Storage, StudyRecord, TrialRecord

log = logging.getLogger(__name__)

__all__ = ["run_trial"]


@dataclass
class Outcome:
    """How the objective's call ended, before it is recorded."""

    state: str
    value: float | None = None
    metrics: dict[str, Any] | None = None
    error: str | None = None
    pruned: Pruned | None = None      # the objective's own Pruned (step, reason, metrics)
    fatal: HpsearchError | None = None
    extra: dict[str, Any] = field(default_factory=dict)


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
    rec = TrialRecorder(storage, study, trial, watch=watch, on_step=on_step)
    ctx = TrialContext(number=trial.number, seed=trial.seed, device=device, report=rec.report)
    try:
        out = call(objective, trial, ctx, rec, stop, study)
    except (KeyboardInterrupt, Stop, Interrupted):
        # A signal while a pruned trial winds down: it is finished (pruned), not
        # interrupted, so no later run resumes it. The signal still ends the run.
        if rec.pruned:
            rec.record_pruned(device=ctx.device_used)
        else:
            rec.write_steps(final=True)
        raise
    if stop.signum is not None:
        # The objective caught the stop request and went on: whatever it returned, the trial
        # did not run to its end, so it is interrupted (and re-run), not complete or failed.
        # A pruned one is finished all the same: recorded as such, never resumed.
        if out.state == "pruned":
            record_outcome(rec, out, ctx.device_used)
        else:
            rec.write_steps(final=True)
        raise Stop(stop.signum)
    record = record_outcome(rec, out, ctx.device_used)
    if out.fatal is not None:
        raise out.fatal
    return record


def record_outcome(rec: TrialRecorder, out: Outcome, device: str | None) -> TrialRecord:
    if out.state == "pruned":
        exc = out.pruned
        return rec.record_pruned(
            step=None if exc is None else exc.step, reason=None if exc is None else exc.reason,
            fallback=getattr(exc, "metrics", None), device=device)
    return rec.finish(out.state, value=out.value, metrics=out.metrics, error=out.error,
                      device=device, **out.extra)


def objective_metrics(study: StudyRecord) -> list[str]:
    """The study's objectives' metrics, the first one first (from its stored ``[study]``)."""
    stored = ((getattr(study, "space", None) or {}).get("study") or {}).get("metric")
    names = stored if isinstance(stored, list) else []
    return [study.metric, *(n for n in names if isinstance(n, str) and n != study.metric)]


def call(objective: Objective, trial: TrialRecord, ctx: TrialContext, rec: TrialRecorder,
         stop: StopOnSignal, study: StudyRecord) -> Outcome:
    """Call the objective; how it ended. A signal propagates (see :func:`run_trial`)."""
    try:
        # Read without raising: an int past a float's range, a key 5,000 digits long.
        result = clean_result(objective.run(trial.params, ctx), rec.notes,
                              objective_metrics(study))
        # every objective's value and the constraint verdict ride in ``extra``
        value, metrics, extra = extract_outcome(result, study)
        return Outcome("complete", value, metrics, extra=extra)
    except Pruned as exc:
        return Outcome("pruned", pruned=exc)
    except TrialFailed as exc:
        if rec.pruned:
            # Stopped by us (a command killed after SIGTERM exits non-zero): pruned, not failed.
            return Outcome("pruned")
        return Outcome("failed", error=str(exc), metrics=exc.metrics or None)
    except KeyboardInterrupt as exc:
        if stop.signum is not None or rec.pruned:
            raise
        # No signal came (StopOnSignal turns a real SIGINT into Stop): the user's code
        # raised it itself, so its trial fails like any error and the study goes on.
        log.info("trial %d failed: KeyboardInterrupt without a signal", trial.number)
        return Outcome("failed", error=f"KeyboardInterrupt: {exc}\n{tb()}")
    except (Stop, Interrupted):
        raise
    except HpsearchError as exc:
        # A setup problem that every trial would hit (a missing data file): record, then stop.
        return Outcome("failed", error=str(exc), fatal=exc)
    except SystemExit as exc:
        # sys.exit() in the user's code ends its trial, not the study.
        log.info("trial %d failed: SystemExit: %s", trial.number, exc.code)
        return Outcome("failed", error=f"SystemExit: {exc.code}\n{tb()}")
    except Exception as exc:  # noqa: BLE001 - the user's code failed; the study goes on
        log.info("trial %d failed: %s: %s", trial.number, type(exc).__name__, exc)
        return Outcome("failed", error=f"{type(exc).__name__}: {exc}\n{tb()}")


def tb() -> str:
    """The traceback being handled, its last frames (the user's code)."""
    return traceback.format_exc(limit=-6)
