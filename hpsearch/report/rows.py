"""Trials as rows: each as a flat dict or a JSON record (which trials, in what order: that
is :mod:`hpsearch.report.select`). No formatting for people here (that is :mod:`hpsearch.render`), no file formats
(that is :mod:`hpsearch.report.exports`)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

from hpsearch.values import fmt

if TYPE_CHECKING:  # storage imports SQLAlchemy: not at `hpsearch --help`
    from hpsearch.storage import Storage, StudyRecord, TrialRecord

__all__ = [
    "study_rows", "get_trial", "best_space", "param_names", "trial_json", "flat_rows",
    "iter_flat_rows", "iso", "fmt_value",
]


def fmt_value(v: Any, *, digits: int = 4) -> str:
    """A value in a table or an export: :func:`hpsearch.values.fmt` (the one formatter) with
    ``-`` for none, TOML booleans, ``digits`` significant digits (4 in terminal tables; the HTML
    page shows 6), nothing cut or escaped (the terminal table escapes for itself)."""
    return fmt(v, digits=digits, none="-", limit=None, escape=False)


def iso(ts: float | None) -> str | None:
    """A UNIX time as an ISO 8601 UTC string (None stays None)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds")


def study_rows(storage: Storage) -> list[dict[str, Any]]:
    """One flat row per study: counts per state, rounds, the best value and trial (ties on
    the value go to the study's tie breaker, as in ``best`` and ``report``)."""
    from hpsearch.storage import STATES

    rows = [
        {"name": s.name, "metric": s.metric, "direction": s.direction, "trials": s.n_trials,
         **{state: s.counts.get(state, 0) for state in STATES}, "rounds": s.rounds,
         "best_value": s.best_value, "best_trial": s.best_number}
        for s in storage.summaries()
    ]
    _add_front_sizes(storage, rows)
    _add_given_up(storage, rows)
    return rows


def _add_given_up(storage: Storage, rows: list[dict[str, Any]]) -> None:
    """With a study in the database that gave configurations up (killed by their
    infrastructure ``1 + [study] max_retries`` times), a ``given_up`` column: how many, per
    study. Databases without one keep their columns."""
    given = {row["name"]: len(storage.given_up(storage.get_study(row["name"]))) for row in rows}
    if any(given.values()):
        for row in rows:
            row["given_up"] = given[row["name"]]


def _add_front_sizes(storage: Storage, rows: list[dict[str, Any]]) -> None:
    """With a study of several objectives in the database, a ``front`` column: the size of
    each such study's feasible Pareto front (None for the others); ``metric`` then names every
    objective. Databases without one keep their columns."""
    from hpsearch.report.front import study_front, study_objectives

    multi: dict[str, Any] = {}
    for row in rows:
        objectives = study_objectives(storage.get_study(row["name"]))
        if objectives.multi:
            multi[row["name"]] = objectives
    if not multi:
        return
    for row in rows:
        mo = multi.get(row["name"])
        row["front"] = None
        if mo is not None:
            row["metric"] = ",".join(mo.metrics)
            row["direction"] = ",".join(mo.directions)
            row["front"] = len(study_front(storage, row["name"]).members)





def get_trial(storage: Storage, name: str, number: int) -> tuple[StudyRecord, TrialRecord]:
    """Study ``name`` and its trial ``number`` (StudyError when either is unknown)."""
    study = storage.get_study(name)
    return study, storage.trial(study, number)


def param_names(trials: Sequence[TrialRecord], space: dict[str, Any] | None = None) -> list[str]:
    """Parameter columns: the space's order first, then any others the trials have."""
    names = list((space or {}).get("params", {}))
    for t in trials:
        for k in t.params:
            if k not in names:
                names.append(k)
    return names


def trial_json(t: TrialRecord, *, steps: bool = False) -> dict[str, Any]:
    """One trial as a JSON object (the ``--format json`` record); ``steps`` adds its curve."""
    data = {
        "number": t.number, "state": t.state, "round": t.round, "value": t.value,
        "params": t.params, "metrics": t.metrics or {}, "seed": t.seed,
        "started": iso(t.started_at), "finished": iso(t.finished_at),
        "duration": None if t.duration is None else round(t.duration, 4),
        "device": t.device, "worker": t.worker, "error": t.error, "retry_of": t.retry_of,
        "pruned_step": t.pruned_step, "note": t.note, "proposed_by": t.proposed_by,
    }
    if steps:
        data["steps"] = [{"step": s, **m} for s, m in t.steps]
    return data


def flat_rows(trials: Sequence[TrialRecord], names: Sequence[str]) -> list[dict[str, Any]]:
    """One flat dict per trial: number, round, state, value, each param, duration (s)."""
    return list(iter_flat_rows(trials, names))


def iter_flat_rows(trials: Iterable[TrialRecord], names: Sequence[str]) -> Iterator[dict[str, Any]]:
    """:func:`flat_rows` one at a time."""
    for t in trials:
        row: dict[str, Any] = {"number": t.number, "round": t.round, "state": t.state, "value": t.value}
        for n in names:
            row[n] = t.params.get(n)
        row["duration"] = None if t.duration is None else round(t.duration, 3)
        yield row


def best_space(study: StudyRecord, trial: TrialRecord) -> dict[str, Any]:
    """A space-file dict whose params are the trial's, all fixed: `run` on it retrains them
    (with the study's objectives and constraints, so the retrained trial reports them too)."""
    space = study.space
    table = space.get("study", {})
    out: dict[str, Any] = {
        "study": {
            "name": f"{study.name}-best", "metric": table.get("metric", study.metric),
            "direction": table.get("direction", study.direction),
            "sampler": "random", "trials": 1, "seed": study.seed,
        },
        "objective": dict(space.get("objective", {})),
        "trainer": dict(space.get("trainer", {})),
        "params": dict(trial.params),
    }
    if space.get("constraint"):
        out["constraint"] = [dict(c) for c in space["constraint"]]
    return out
