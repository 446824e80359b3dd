"""Small value helpers shared by the parameter types, the loader and their messages.

TOML booleans are Python ``bool``, a subclass of ``int``: these helpers keep them apart from
numbers, so ``true`` is never a bound and ``when = { n = 1 }`` never matches ``n = true``.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["is_number", "is_int", "same_value", "fmt", "tidy", "clamp_unit"]


def is_number(x: Any) -> bool:
    """True for int and float, but not bool (TOML ``true`` is not a bound)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def is_int(x: Any) -> bool:
    """True for int, but not bool."""
    return isinstance(x, int) and not isinstance(x, bool)


def same_value(a: Any, b: Any) -> bool:
    """Equality that keeps booleans apart from numbers (``True != 1`` here)."""
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def fmt(value: Any) -> str:
    """A short human form of a value for tables and messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "[" + ", ".join(fmt(v) for v in value) + "]"
    return str(value)


def tidy(x: float) -> float:
    """Round away float noise of ``low + k*step`` (0.30000000000000004 -> 0.3)."""
    return float(f"{x:.12g}")


def clamp_unit(u: float) -> float:
    """``u`` clipped to [0, 1]; NaN is a bug of the caller, not a coordinate."""
    u = float(u)
    if math.isnan(u):
        raise ValueError("unit coordinate is NaN")
    return 0.0 if u < 0.0 else 1.0 if u > 1.0 else u
