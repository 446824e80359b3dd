"""What a complete trial is recorded with when a study has several objectives or constraints:
the first objective's value (``value``, as always), every objective's value and the constraint
verdict (:func:`hpsearch.space.objectives.trial_values`).

The run loop calls :func:`extract_outcome` where it used to call
:func:`~hpsearch.objectives.extract_value`, and hands the returned fields to
``Storage.finish``. An objective or constrained metric that is missing or NaN fails the trial
with one line (its metrics kept), as a missing study metric always did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from hpsearch.objectives.base import TrialFailed, extract_value

if TYPE_CHECKING:
    from hpsearch.storage import StudyRecord

__all__ = ["extract_outcome"]


def extract_outcome(result: Mapping[str, Any] | float | int, study: StudyRecord
                    ) -> tuple[float, dict[str, Any], dict[str, Any]]:
    """``(value, metrics, fields)``: the first objective's value, the metrics to store, and the
    keyword arguments of ``Storage.finish`` (``values``, ``feasible``, ``violation``) that
    record every objective's value and the constraint verdict.

    Raises :class:`~hpsearch.objectives.TrialFailed` when an objective or a constrained metric
    is missing or not a finite number.
    """
    from hpsearch.space.objectives import MissingValue, objectives_of, trial_values

    value, metrics = extract_value(result, study.metric)
    objectives = objectives_of(study.space)
    raw = dict(metrics)
    if isinstance(result, Mapping):  # the raw numbers: NaN is null in the JSON-safe metrics
        raw.update({str(k): v for k, v in result.items() if str(k) in raw})
    try:
        outcome = trial_values(objectives, raw)
    except MissingValue as exc:
        raise TrialFailed(str(exc), metrics=metrics) from exc
    return value, metrics, outcome.storage_fields()
