"""Small value helpers shared by the parameter types, the loader and their messages (``fmt``,
``one_line`` and their limits are :mod:`hpsearch.values`'s, the formatter every layer shares).

TOML booleans are Python ``bool``, a subclass of ``int``: these helpers keep them apart from
numbers, so ``true`` is never a bound and ``when = { n = 1 }`` never matches ``n = true``.
"""

from __future__ import annotations

import math
from typing import Any

from hpsearch.values import MAX_MESSAGE, MAX_SHOWN, fmt, one_line

__all__ = ["is_number", "is_int", "is_finite_plain", "value_key", "same_value", "fmt", "tidy", "clamp_unit", "one_line",
           "MAX_MESSAGE", "MAX_SHOWN"]


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


def tidy(x: float) -> float:
    """Round away float noise of ``low + k*step`` (0.30000000000000004 -> 0.3)."""
    return float(f"{x:.12g}")


def clamp_unit(u: float) -> float:
    """``u`` clipped to [0, 1]; NaN is a bug of the caller, not a coordinate."""
    u = float(u)
    if math.isnan(u):
        raise ValueError("unit coordinate is NaN")
    return 0.0 if u < 0.0 else 1.0 if u > 1.0 else u
