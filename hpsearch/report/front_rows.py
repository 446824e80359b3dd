"""csv, json and markdown of a study with several objectives or constraints: each trial's
``value`` (the first objective, as for every study) plus ``values`` (metric -> value),
``pareto`` (on the study's feasible front) and ``feasible`` (the constraint verdict; None for a
trial that is not complete).

Studies with one objective and no constraint keep the lean writer (:mod:`.lean`) and its
exact columns; these are built from records (the front needs every complete trial's values
anyway).
"""

from __future__ import annotations

import csv
import json
from typing import TYPE_CHECKING, Any, Iterable, Sequence, TextIO

from hpsearch.report.front import Front, feasible_of, front_order, trial_values_of
from hpsearch.report.rows import fmt_value, trial_json

if TYPE_CHECKING:
    from hpsearch.ranking import SortKey
    from hpsearch.storage import Storage, StudyRecord, TrialRecord

__all__ = ["write_front_rows", "front_json"]


def front_json(t: TrialRecord, front: Front) -> dict[str, Any]:
    """A trial's ``--format json`` record with ``values``, ``pareto`` and ``feasible``."""
    return {**trial_json(t), "values": trial_values_of(t, front.objectives.metrics),
            "pareto": front.ranks.get(t.number) == 0, "feasible": feasible_of(t)}


def write_front_rows(storage: Storage, study: StudyRecord, out: TextIO, fmt: str, *,
                     names: Sequence[str], round_: int | None = None,
                     states: Sequence[str] | None = None, top: int | None = None,
                     sort: SortKey | None = None) -> int:
    """Write the selected trials (front order, or ``sort``) as ``fmt``; returns how many."""
    from hpsearch.report.front import study_front
    from hpsearch.report.select import iter_selection

    if sort is None:
        trials, front = front_order(storage, study, round_=round_, states=states, top=top)
    else:
        front = study_front(storage, study.name)
        trials = list(iter_selection(storage, study, round_=round_, states=states, top=top,
                                     sort=sort))
    if fmt == "json":
        out.write(json.dumps([front_json(t, front) for t in trials], indent=1))
        return len(trials)
    metrics = list(front.objectives.metrics)
    columns = ["number", "round", "state", "value", *metrics, "pareto", "feasible", *names,
               "duration", "proposed_by"]
    rows = (_flat(t, front, metrics, names) for t in trials)
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_csv(v) for v in row] for row in rows)
    elif fmt == "markdown":
        out.write("| " + " | ".join(columns) + " |\n|" + "|".join("---" for _ in columns) + "|\n")
        for row in rows:
            out.write("| " + " | ".join(fmt_value(v) for v in row) + " |\n")
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return len(trials)


def _flat(t: TrialRecord, front: Front, metrics: Sequence[str], names: Iterable[str]) -> list[Any]:
    values = trial_values_of(t, metrics)
    dur = None if t.duration is None else round(t.duration, 3)
    return [t.number, t.round, t.state, t.value, *(values[m] for m in metrics),
            front.ranks.get(t.number) == 0, feasible_of(t), *(t.params.get(n) for n in names),
            dur, t.proposed_by]


def _csv(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return v
