"""Durations as people write them: ``90``, ``90s``, ``30m``, ``2h``, ``1h30m``, ``1.5h``."""

from __future__ import annotations

import re

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([smhd])")


def parse_duration(text: str | int | float) -> float:
    """Seconds in ``text``; a bare number is seconds. Raises ValueError with the text echoed."""
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        s = str(text).strip().lower()
        try:
            seconds = float(s)
        except ValueError:
            pos, seconds = 0, 0.0
            for m in _PART.finditer(s):
                if s[pos:m.start()].strip():
                    raise ValueError(f"not a duration: {text!r} (try 90s, 30m, 2h, 1h30m)") from None
                seconds += float(m.group(1)) * _UNITS[m.group(2)]
                pos = m.end()
            if pos == 0 or s[pos:].strip():
                raise ValueError(f"not a duration: {text!r} (try 90s, 30m, 2h, 1h30m)") from None
    if seconds <= 0:
        raise ValueError(f"a duration must be positive, got {text!r}")
    return seconds
