"""csv, json and markdown straight from the database's rows, for studies of any size.

:func:`write_rows` takes the plain tuples of ``Storage.iter_rows`` (the columns of
:data:`FIELDS`, the JSON columns as their text) and writes the same text as
:func:`~hpsearch.report.exports.write_trials` does from records, without building a record per
trial: only the JSON columns a format shows are decoded (through the C scanner), and a json
record is laid out from pieces the C encoder made. A 100,000-trial csv thus costs a few tenths
of a second instead of seconds.
"""

from __future__ import annotations

import csv
import json
from itertools import islice
from typing import Any, Iterable, Sequence, TextIO

from hpsearch.report.rows import fmt_value, iso

__all__ = ["FIELDS", "write_rows"]

#: The trial columns each format reads (in this order).
FIELDS = {
    "csv": ("number", "round", "state", "value", "params", "started_at", "finished_at",
            "proposed_by"),
    "markdown": ("number", "round", "state", "value", "params", "started_at", "finished_at",
                 "proposed_by"),
    "json": ("number", "state", "round", "value", "params", "metrics", "seed", "started_at",
             "finished_at", "device", "worker", "error", "retry_of", "pruned_step", "note",
             "proposed_by"),
}

# The C scanner json.loads ends up in, without its checks (set in JSONDecoder.__init__; typeshed
# does not declare the attribute).
_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _encoder(item_sep: str) -> Any:
    """``json.JSONEncoder(separators=(item_sep, ": ")).encode`` without its per-call set-up:
    the C encoder made once (json.dumps' own pieces: ensure_ascii, NaN allowed)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # a Python without the _json accelerator
        return json.JSONEncoder(separators=(item_sep, ": "), check_circular=False).encode
    enc = make(None, None, json.encoder.encode_basestring_ascii, None, ": ", item_sep,
               False, False, True)
    return lambda o: "".join(enc(o, 0))


# Scalars of one record in one C call, split on a separator no encoded value can contain
# (control characters inside strings come out escaped).
_encode_scalars = _encoder("\x00")
_encode_nested = _encoder(",\n   ")  # a params / metrics dict's items
_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})
_RECORD = ('{\n  "number": %s,\n  "state": %s,\n  "round": %s,\n  "value": %s,\n  "params": %s,'
           '\n  "metrics": %s,\n  "seed": %s,\n  "started": %s,\n  "finished": %s,\n  "duration": %s,'
           '\n  "device": %s,\n  "worker": %s,\n  "error": %s,\n  "retry_of": %s,'
           '\n  "pruned_step": %s,\n  "note": %s,\n  "proposed_by": %s\n }')


def _decode(text: Any) -> Any:
    """``json.loads(text)`` (None for SQL NULL), through the scanner when the text is plain;
    a value already decoded (a record's dict) is returned as it is."""
    if not isinstance(text, str):
        return text
    try:
        obj, end = _scan(text, 0)
    except StopIteration:
        return json.loads(text)  # raises json's own error
    return obj if end == len(text) else json.loads(text)


def write_rows(out: TextIO, rows: Iterable[tuple], fmt: str, *, names: Sequence[str]) -> int:
    """Write ``rows`` (tuples of :data:`FIELDS` ``[fmt]``; ``params``/``metrics`` as JSON
    text or already decoded) to ``out``; returns how many.

    The text is :func:`~hpsearch.report.exports.write_trials`'s for the same trials: csv and
    markdown with the columns number, round, state, value, ``names``, duration, proposed_by
    (the sampler that proposed each trial; empty for trials stored before it was recorded);
    json as ``json.dumps([trial_json(t), ...], indent=1)``.

    The columns are the same for every study, so a script reading them does not depend on
    the sampler."""
    if fmt == "json":
        return _write_json(out, rows)
    if fmt == "csv":
        return _write_csv(out, rows, names)
    if fmt == "markdown":
        return _write_markdown(out, rows, names)
    raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FIELDS)})")


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if v is True or v is False:
        return "true" if v else "false"  # as in the space file, not Python's True
    return v


def _write_csv(out: TextIO, rows: Iterable[tuple], names: Sequence[str]) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["number", "round", "state", "value", *names, "duration", "proposed_by"])
    count = [0]
    cell = _cell

    def lines() -> Iterable[list[Any]]:
        for number, rnd, state, value, params, started, finished, by in rows:
            p = _decode(params) or {}
            get = p.get
            count[0] += 1
            yield [number, rnd, state, cell(value), *[cell(get(k)) for k in names],
                   "" if started is None or finished is None else round(finished - started, 3),
                   cell(by)]

    writer.writerows(lines())
    return count[0]


def _write_markdown(out: TextIO, rows: Iterable[tuple], names: Sequence[str]) -> int:
    columns = ["number", "round", "state", "value", *names, "duration", "proposed_by"]
    out.write("| " + " | ".join(columns) + " |\n|" + "|".join("---" for _ in columns) + "|\n")
    n = 0
    fmt = fmt_value
    buf: list[str] = []
    for number, rnd, state, value, params, started, finished, by in rows:
        get = (_decode(params) or {}).get
        dur = None if started is None or finished is None else round(finished - started, 3)
        buf.append("| " + " | ".join([str(number), str(rnd), state, fmt(value),
                                      *[fmt(get(k)) for k in names], fmt(dur), fmt(by)])
                   + " |\n")
        n += 1
        if len(buf) >= 1000:
            out.write("".join(buf))
            buf.clear()
    out.write("".join(buf))
    return n


def _nested(v: Any) -> str:
    """A params / metrics value as ``json.dumps(..., indent=1)`` lays it out inside a record."""
    if not isinstance(v, (dict, list)) or not v:
        return _encode_scalars(v)
    if not set(map(type, v.values() if isinstance(v, dict) else v)) <= _SCALAR_TYPES:
        return _indented(v, 2)
    inner = _encode_nested(v)[1:-1]
    return ("{\n   " + inner + "\n  }") if isinstance(v, dict) else ("[\n   " + inner + "\n  ]")


def _indented(value: Any, level: int) -> str:
    """``json.dumps(value, indent=1)`` at nesting ``level`` (nested containers in a record):
    the same text, the scalars through the C encoder."""
    if isinstance(value, dict):
        if not value:
            return "{}"
        pad = "\n" + " " * (level + 1)
        items = [pad + _encode_scalars(k if isinstance(k, str) else json.dumps(k).strip('"'))
                 + ": " + _indented(v, level + 1) for k, v in value.items()]
        return "{" + ",".join(items) + "\n" + " " * level + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        pad = "\n" + " " * (level + 1)
        return "[" + ",".join(pad + _indented(v, level + 1) for v in value) + "\n" + " " * level + "]"
    return _encode_scalars(value)


class _Iso:
    """:func:`~hpsearch.report.rows.iso` with the text of each second kept (trials of a big
    study finish many to a second): the same text, a fraction of the cost."""

    def __init__(self) -> None:
        self.seen: dict[int, str | None] = {}

    def __call__(self, ts: float | None) -> str | None:
        if ts is None:
            return None
        sec = int(ts)
        # iso() rounds to the microsecond first: near the next second, ask it.
        if ts < 0 or ts - sec >= 0.999999:
            return iso(ts)
        text = self.seen.get(sec)
        if text is None:
            if len(self.seen) > 4096:
                self.seen.clear()
            text = self.seen[sec] = iso(float(sec))
        return text


def _write_json(out: TextIO, rows: Iterable[tuple], *, batch: int = 500) -> int:
    """The json array, ``batch`` records at a time: the scalars of a whole batch go through
    the C encoder in one call (one flat list, split on the separator), each record is then
    filled into :data:`_RECORD`."""
    n = 0
    to_iso = _Iso()
    it = iter(rows)
    while True:
        chunk = list(islice(it, batch))
        if not chunk:
            break
        flat: list[Any] = []
        nested: list[tuple[str, str]] = []
        for (number, state, rnd, value, params, metrics, seed, started, finished, device,
             worker, error, retry_of, pruned_step, note, by) in chunk:
            dur = None if started is None or finished is None else round(finished - started, 4)
            flat += (number, state, rnd, value, seed, to_iso(started), to_iso(finished), dur,
                     device, worker, error, retry_of, pruned_step, note, by)
            m = _decode(metrics)
            nested.append((_nested(_decode(params)), _nested(m if m else {})))
        s = _encode_scalars(flat)[1:-1].split("\x00")
        text = [_RECORD % (s[k], s[k + 1], s[k + 2], s[k + 3], p, m, *s[k + 4:k + 15])
                for k, (p, m) in zip(range(0, len(s), 15), nested)]
        out.write(("[\n " if n == 0 else ",\n ") + ",\n ".join(text))
        n += len(chunk)
    out.write("\n]\n" if n else "[]\n")
    return n
