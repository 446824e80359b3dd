"""A minimal TOML writer: enough for space files and stored spaces (tomllib only reads).

Top-level mappings become ``[table]`` sections and deeper mappings inline tables, which is how
space files are written by hand; strings are escaped, floats keep Python's round-tripping
``repr`` (``1e-05``, ``inf``), and the output always reads back equal through :mod:`tomllib`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["dump_toml"]


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
            "\r": "\\r"}


def _toml_str(s: str) -> str:
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_key(key: str) -> str:
    if not isinstance(key, str):
        raise TypeError(f"TOML keys must be strings (got {key!r})")
    return key if _BARE_KEY.fullmatch(key) else _toml_str(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return repr(value)  # 1e-05, 0.1, inf, -inf: all valid TOML floats
    if isinstance(value, str):
        return _toml_str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML: {value!r}")


def dump_toml(d: Mapping[str, Any]) -> str:
    """Write ``d`` as TOML that :mod:`tomllib` reads back equal (NaN aside: nan != nan).

    Top-level mappings become ``[table]`` sections and deeper mappings inline tables, which is
    how space files are written by hand.
    """
    lines = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in d.items()
             if not isinstance(v, Mapping)]
    for key, table in d.items():
        if isinstance(table, Mapping):
            if lines:
                lines.append("")
            lines.append(f"[{_toml_key(key)}]")
            lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items())
    return "\n".join(lines) + "\n"
