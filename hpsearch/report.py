"""Result tables and exports: table (rich), csv, json, markdown; and the best trial as a space file."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from typing import Any, Sequence

from hpsearch.storage import StudyRecord, TrialRecord

def param_names(trials: Sequence[TrialRecord], space: dict[str, Any] | None = None) -> list[str]:
    """Parameter columns: the space's order first, then any others the trials have."""
    names = list((space or {}).get("params", {}))
    for t in trials:
        for k in t.params:
            if k not in names:
                names.append(k)
    return names


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds")


def sort_trials(trials: Sequence[TrialRecord], key: str, *, maximize: bool) -> list[TrialRecord]:
    """Order by ``key``: a metric (best first, in the study's direction), or a parameter,
    ``number`` or ``duration`` (ascending). Trials without a numeric value for it go last."""
    def get(t: TrialRecord):
        if key in ("number", "duration", "value"):
            return getattr(t, key)
        if t.metrics and key in t.metrics:
            return t.metrics[key]
        return t.params.get(key)

    is_metric = key == "value" or any(t.metrics and key in t.metrics for t in trials)
    sign = -1 if (is_metric and maximize) else 1

    def order(t: TrialRecord):
        v = get(t)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
            return (1, 0.0, str(v), t.number)
        return (0, sign * v, "", t.number)

    return sorted(trials, key=order)


def trial_json(t: TrialRecord) -> dict[str, Any]:
    """One trial as a JSON object (the ``--format json`` record)."""
    return {
        "number": t.number, "state": t.state, "round": t.round, "value": t.value,
        "params": t.params, "metrics": t.metrics or {}, "seed": t.seed,
        "started": iso(t.started_at), "finished": iso(t.finished_at),
        "duration": None if t.duration is None else round(t.duration, 4),
        "device": t.device, "worker": t.worker, "error": t.error, "retry_of": t.retry_of,
    }


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


def render(trials: Sequence[TrialRecord], study: StudyRecord, fmt: str) -> str:
    """csv / json / markdown text of ``trials`` (the table format is rendered by the CLI)."""
    if fmt == "json":
        return json.dumps([trial_json(t) for t in trials], indent=1)
    names = param_names(trials, study.space)
    columns = ["number", "round", "state", "value", *names, "duration"]
    return render_rows(flat_rows(trials, names), fmt, columns=columns)


def render_rows(rows: Sequence[dict[str, Any]], fmt: str, *, columns: Sequence[str] | None = None) -> str:
    """Flat dicts as csv, markdown or json text."""
    if fmt == "json":
        return json.dumps(list(rows), indent=1)
    columns = list(columns if columns is not None else (rows[0] if rows else []))
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_cell(row.get(k)) for k in columns})
        return buf.getvalue()
    if fmt == "markdown":
        lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
        for row in rows:
            lines.append("| " + " | ".join(fmt_cell(row.get(c)) for c in columns) + " |")
        return "\n".join(lines) + "\n"
    raise ValueError(f"unknown format {fmt!r}")


def _csv_cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"  # as in the space file, not Python's True
    return v


def fmt_cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


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
