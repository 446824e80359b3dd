"""Small value helpers shared by the parameter types, the loader and their messages.

TOML booleans are Python ``bool``, a subclass of ``int``: these helpers keep them apart from
numbers, so ``true`` is never a bound and ``when = { n = 1 }`` never matches ``n = true``.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["is_number", "is_int", "is_finite_plain", "value_key", "same_value", "fmt", "tidy", "clamp_unit", "one_line",
           "MAX_MESSAGE", "MAX_SHOWN"]

MAX_MESSAGE = 1000
"""An error message is cut to this many characters: one readable line whatever the input."""
MAX_SHOWN = 200
"""A value echoed in a message or a table is cut to this many characters."""


def is_number(x: Any) -> bool:
    """True for int and float, but not bool (TOML ``true`` is not a bound)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def is_int(x: Any) -> bool:
    """True for int, but not bool."""
    return isinstance(x, int) and not isinstance(x, bool)


def is_finite_plain(x: Any) -> bool:
    """A finite number, a string or a boolean: what a choice, a condition or a fixed value may
    hold (NaN and infinities cannot be stored as JSON by every database)."""
    return isinstance(x, (str, bool)) or (is_number(x) and math.isfinite(x))


def value_key(x: Any) -> tuple[str, Any]:
    """A hashable key with ``value_key(a) == value_key(b)`` exactly when ``same_value(a, b)``
    (for plain values): duplicate checks in linear time."""
    return ("b" if isinstance(x, bool) else "n" if is_number(x) else "s", x)


def same_value(a: Any, b: Any) -> bool:
    """Equality that keeps booleans apart from numbers (``True != 1`` here)."""
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def fmt(value: Any) -> str:
    """A short human form of a value for tables and messages: one line (control characters
    escaped), at most :data:`MAX_SHOWN` characters."""
    return _cut(_fmt(value, MAX_SHOWN + 1), MAX_SHOWN)


def _fmt(value: Any, budget: int) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        parts: list[str] = []
        used = 1
        for v in value:  # stop early: a 100,000-value list is not formatted in full
            if used > budget:
                parts.append("...")
                break
            parts.append(_fmt(v, budget - used) if isinstance(v, (list, tuple)) and
                         budget - used > 0 else _plain(v))
            used += len(parts[-1]) + 2
        return "[" + ", ".join(parts) + "]"
    return _plain(value)


def _plain(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[...]"
    if isinstance(value, (bool, float)):
        return _fmt(value, 0)
    text = str(value)
    return text if text.isprintable() else _escape(text)


def _escape(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def one_line(message: str, limit: int = MAX_MESSAGE) -> str:
    """``message`` with line breaks and other control characters escaped, cut to ``limit``."""
    return _cut(message if message.isprintable() else _escape(message), limit)


def tidy(x: float) -> float:
    """Round away float noise of ``low + k*step`` (0.30000000000000004 -> 0.3)."""
    return float(f"{x:.12g}")


def clamp_unit(u: float) -> float:
    """``u`` clipped to [0, 1]; NaN is a bug of the caller, not a coordinate."""
    u = float(u)
    if math.isnan(u):
        raise ValueError("unit coordinate is NaN")
    return 0.0 if u < 0.0 else 1.0 if u > 1.0 else u
