"""Trials as rows: which trials a report shows, in what order, and each as a flat dict or a
JSON record. No formatting for people here (that is :mod:`hpsearch.render`), no file formats
(that is :mod:`hpsearch.report.exports`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Sequence

from hpsearch.errors import StudyError

if TYPE_CHECKING:  # storage imports SQLAlchemy: not at `hpsearch --help`
    from hpsearch.storage import Storage, StudyRecord, TrialRecord

__all__ = [
    "TrialSelection", "select_trials", "study_rows", "get_trial", "get_best", "best_space",
    "param_names", "sort_trials", "trial_json", "flat_rows", "iso", "fmt_value",
]


def fmt_value(v: Any) -> str:
    """The one formatter of a value for people: ``-`` for none, TOML booleans, 4 digits."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def iso(ts: float | None) -> str | None:
    """A UNIX time as an ISO 8601 UTC string (None stays None)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds")


@dataclass
class TrialSelection:
    """What ``hpsearch report`` shows: the study, its chosen trials, and the state counts of the
    study (or of the round) for the title."""

    study: StudyRecord
    trials: list[TrialRecord]
    counts: dict[str, int] = field(default_factory=dict)
    round: int | None = None


def select_trials(
    storage: Storage, name: str, *, round_: int | None = None,
    states: Sequence[str] | None = None, top: int | None = None, sort: str | None = None,
) -> TrialSelection:
    """The trials of study ``name``: best first (or ordered by ``sort``, see
    :func:`sort_trials`), of one round and some states only, the first ``top`` of them.

    Raises
    ------
    StudyError
        Unknown study, or a round it does not have (an error, not an empty table).
    """
    study = storage.get_study(name)
    if round_ is not None:
        storage.get_round(study.id, round_)
    states = list(states) if states else None
    if sort is None:
        trials = storage.trials(study, round_=round_, states=states, limit=top)
    else:
        trials = sort_trials(storage.trials(study, round_=round_, states=states, best_first=False),
                             sort, maximize=study.maximize)[:top]
    return TrialSelection(study, list(trials), storage.counts(study, round_=round_), round_)


def study_rows(storage: Storage) -> list[dict[str, Any]]:
    """One flat row per study: counts per state, rounds, the best value and trial."""
    from hpsearch.storage import STATES

    return [
        {"name": s.name, "metric": s.metric, "direction": s.direction, "trials": s.n_trials,
         **{state: s.counts.get(state, 0) for state in STATES}, "rounds": s.rounds,
         "best_value": s.best_value, "best_trial": s.best_number}
        for s in storage.summaries()
    ]


def get_trial(storage: Storage, name: str, number: int) -> tuple[StudyRecord, TrialRecord]:
    """Study ``name`` and its trial ``number`` (StudyError when either is unknown)."""
    study = storage.get_study(name)
    return study, storage.trial(study, number)


def get_best(storage: Storage, name: str) -> tuple[StudyRecord, TrialRecord]:
    """Study ``name`` and its best completed trial (StudyError when it has none)."""
    study = storage.get_study(name)
    best = storage.best(study)
    if best is None:
        raise StudyError(f"study {name!r} has no completed trial yet")
    return study, best


def param_names(trials: Sequence[TrialRecord], space: dict[str, Any] | None = None) -> list[str]:
    """Parameter columns: the space's order first, then any others the trials have."""
    names = list((space or {}).get("params", {}))
    for t in trials:
        for k in t.params:
            if k not in names:
                names.append(k)
    return names


def sort_trials(trials: Sequence[TrialRecord], key: str, *, maximize: bool) -> list[TrialRecord]:
    """Order by ``key``: a metric (best first, in the study's direction), or a parameter,
    ``number`` or ``duration`` (ascending). Trials without a numeric value for it go last."""
    def get(t: TrialRecord) -> Any:
        if key in ("number", "duration", "value"):
            return getattr(t, key)
        if t.metrics and key in t.metrics:
            return t.metrics[key]
        return t.params.get(key)

    is_metric = key == "value" or any(t.metrics and key in t.metrics for t in trials)
    sign = -1 if (is_metric and maximize) else 1

    def order(t: TrialRecord) -> tuple[int, float, str, int]:
        v = get(t)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v):
            return (1, 0.0, str(v), t.number)
        return (0, sign * v, "", t.number)

    return sorted(trials, key=order)


def trial_json(t: TrialRecord, *, steps: bool = False) -> dict[str, Any]:
    """One trial as a JSON object (the ``--format json`` record); ``steps`` adds its curve."""
    data = {
        "number": t.number, "state": t.state, "round": t.round, "value": t.value,
        "params": t.params, "metrics": t.metrics or {}, "seed": t.seed,
        "started": iso(t.started_at), "finished": iso(t.finished_at),
        "duration": None if t.duration is None else round(t.duration, 4),
        "device": t.device, "worker": t.worker, "error": t.error, "retry_of": t.retry_of,
    }
    if steps:
        data["steps"] = [{"step": s, **m} for s, m in t.steps]
    return data


def flat_rows(trials: Sequence[TrialRecord], names: Sequence[str]) -> list[dict[str, Any]]:
    """One flat dict per trial: number, round, state, value, each param, duration (s)."""
    rows = []
    for t in trials:
        row: dict[str, Any] = {"number": t.number, "round": t.round, "state": t.state, "value": t.value}
        for n in names:
            row[n] = t.params.get(n)
        row["duration"] = None if t.duration is None else round(t.duration, 3)
        rows.append(row)
    return rows


def best_space(study: StudyRecord, trial: TrialRecord) -> dict[str, Any]:
    """A space-file dict whose params are the trial's, all fixed: `run` on it retrains them."""
    space = study.space
    return {
        "study": {
            "name": f"{study.name}-best", "metric": study.metric, "direction": study.direction,
            "sampler": "random", "trials": 1, "seed": study.seed,
        },
        "objective": dict(space.get("objective", {})),
        "trainer": dict(space.get("trainer", {})),
        "params": dict(trial.params),
    }
