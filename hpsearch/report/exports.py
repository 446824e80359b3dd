"""Trials as text files: csv, json (one object per trial) and markdown; a configuration as a
space file. The ``table`` format is rich's, drawn by :mod:`hpsearch.render`."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence, TextIO

from hpsearch.report.lean import FIELDS, write_rows
from hpsearch.report.rows import fmt_value, param_names

if TYPE_CHECKING:
    from hpsearch.storage import Storage, StudyRecord, TrialRecord

__all__ = [
    "FORMATS", "SUFFIXES", "export_trials", "write_trials", "export_rows", "write_space_file",
    "format_for", "atomic_text", "export_study",
]

#: The text formats of ``report``/``studies`` besides the rich table (the registry the CLI's
#: ``--format`` choices come from).
FORMATS = ("csv", "json", "markdown")

#: ``report -o FILE`` without ``--format``: the format its suffix names.
SUFFIXES = {".csv": "csv", ".json": "json", ".md": "markdown", ".markdown": "markdown",
            ".html": "html", ".htm": "html"}


def format_for(path: Path) -> str | None:
    """The format a file name asks for by its suffix (None: no known suffix)."""
    return SUFFIXES.get(path.suffix.lower())


def export_trials(trials: Sequence[TrialRecord], study: StudyRecord, fmt: str) -> str:
    """csv / json / markdown text of ``trials``: the columns of :func:`flat_rows`, json records
    of :func:`trial_json`."""
    buf = io.StringIO()
    write_trials(buf, trials, fmt, names=param_names(trials, study.space))
    return buf.getvalue()


def write_trials(out: TextIO, trials: Iterable[TrialRecord], fmt: str, *,
                 names: Sequence[str]) -> int:
    """Write ``trials`` to ``out`` one row at a time (constant memory whatever their number):
    csv / markdown with the columns number, round, state, value, ``names``, duration,
    proposed_by; json as one array of :func:`trial_json` records (the
    same text as ``json.dumps(list, indent=1)``). Returns how many trials were written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    fields = FIELDS[fmt]
    rows = (tuple(getattr(t, f) for f in fields) for t in trials)
    return write_rows(out, rows, fmt, names=names)


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


@contextmanager
def atomic_text(path: Path) -> Iterator[TextIO]:
    """A text file written under a temporary name in the same folder, renamed to ``path`` when
    the block ends without error: a reader (or the next cron tick) never sees half a file."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    except OSError as exc:  # a read-only or missing folder: name the file asked for
        raise _naming(exc, path) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            yield f
        os.replace(tmp, path)
    except BaseException as exc:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename in (None, tmp):
            # A full disk (ENOSPC on write or close names no file) or the temporary file:
            # the message names the file asked for.
            raise _naming(exc, path) from exc
        raise


def _naming(exc: OSError, path: Path) -> OSError:
    """``exc`` again, its file ``path`` (what the user asked for, not a temporary name)."""
    return type(exc)(exc.errno, exc.strerror or str(exc), str(path))


def export_study(storage: Storage, name: str, out: TextIO, fmt: str, *, round_: int | None = None,
                 states: Sequence[str] | None = None, top: int | None = None,
                 sort: str | None = None, descending: bool | None = None) -> int:
    """Stream study ``name``'s selected trials to ``out`` as csv, json or markdown, best first
    or by ``sort`` (see :func:`~hpsearch.report.select.resolve_sort`); returns how many.

    Raises StudyError (unknown study or round) or ConfigError (unknown sort key) before
    anything is written."""
    from hpsearch.report.front import study_objectives
    from hpsearch.report.select import iter_selection_rows, resolve_sort, study_param_names

    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    study = storage.get_study(name)
    if round_ is not None:
        storage.get_round(study.id, round_)
    key = None if sort is None else resolve_sort(storage, study, sort, descending=descending)
    names = study_param_names(storage, study)
    objectives = study_objectives(study)
    if objectives.multi or objectives.constraints:
        # values, pareto and feasible per trial: built from records (report/front_rows.py)
        from hpsearch.report.front_rows import write_front_rows

        return write_front_rows(storage, study, out, fmt, names=names, round_=round_,
                                states=states, top=top, sort=key)
    # Plain rows, not records: a 100,000-trial export in a fraction of a second.
    rows = iter_selection_rows(storage, study, FIELDS[fmt], round_=round_, states=states, top=top,
                               sort=key)
    return write_rows(out, rows, fmt, names=names)
