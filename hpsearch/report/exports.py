"""Trials as text files: csv, json (one object per trial) and markdown; a configuration as a
space file. The ``table`` format is rich's, drawn by :mod:`hpsearch.render`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from hpsearch.report.rows import flat_rows, fmt_value, param_names, trial_json

if TYPE_CHECKING:
    from hpsearch.storage import StudyRecord, TrialRecord

__all__ = ["FORMATS", "export_trials", "export_rows", "write_space_file"]

#: The text formats of ``report``/``studies`` besides the rich table (the registry the CLI's
#: ``--format`` choices come from).
FORMATS = ("csv", "json", "markdown")


def export_trials(trials: Sequence[TrialRecord], study: StudyRecord, fmt: str) -> str:
    """csv / json / markdown text of ``trials``: the columns of :func:`flat_rows`, json records
    of :func:`trial_json`."""
    if fmt == "json":
        return json.dumps([trial_json(t) for t in trials], indent=1)
    names = param_names(trials, study.space)
    columns = ["number", "round", "state", "value", *names, "duration"]
    return export_rows(flat_rows(trials, names), fmt, columns=columns)


def export_rows(rows: Sequence[dict[str, Any]], fmt: str, *, columns: Sequence[str] | None = None) -> str:
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
            lines.append("| " + " | ".join(fmt_value(row.get(c)) for c in columns) + " |")
        return "\n".join(lines) + "\n"
    raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")


def _csv_cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"  # as in the space file, not Python's True
    return v


def write_space_file(space: dict[str, Any], path: Path) -> Path:
    """Write a space-file dict (``best_space``, a round's space) as TOML to ``path``."""
    from hpsearch.space import dump_toml

    path.write_text(dump_toml(space))
    return path
