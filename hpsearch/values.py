"""The one formatter of a value for people, and one-line messages (stdlib only, any layer).

TOML booleans are Python ``bool``, a subclass of ``int``: they are written ``true``/``false``,
never ``1``. Floats get ``digits`` significant digits; lists (and tuples) are written
``[a, b]`` with bare elements, cut short early so a huge list costs little. The options give
each caller its style from the same rules: the space's messages (the defaults), a ``forbid``
expression (``quote``: strings in double quotes), a table or an export (``none="-"``, 4
digits, nothing cut or escaped: the table escapes for its terminal itself).
"""

from __future__ import annotations

from typing import Any

__all__ = ["fmt", "one_line", "MAX_MESSAGE", "MAX_SHOWN"]

MAX_MESSAGE = 1000
"""An error message is cut to this many characters: one readable line whatever the input."""
MAX_SHOWN = 200
"""A value echoed in a message or a table is cut to this many characters."""


def fmt(value: Any, *, digits: int = 6, limit: int | None = MAX_SHOWN, quote: bool = False,
        none: str | None = None, escape: bool = True) -> str:
    """A short human form of ``value``.

    ``digits``: significant digits of a float. ``limit``: the most characters (None: no cut).
    ``quote``: strings in double quotes. ``none``: how None reads (default ``None``).
    ``escape``: control characters escaped, so the result is one line.
    """
    if value is None and none is not None:
        return none
    style = _Style(digits, quote, escape)
    if limit is None:
        return style.format(value, None)
    return _cut(style.format(value, limit + 1), limit)


class _Style:
    def __init__(self, digits: int, quote: bool, escape: bool) -> None:
        self.digits, self.quote, self.escape = digits, quote, escape

    def format(self, value: Any, budget: int | None) -> str:
        """``value`` in this style; ``budget``: after about this many characters a list stops
        early with ``...`` (None: never)."""
        if isinstance(value, (list, tuple)):
            parts: list[str] = []
            used = 1
            for v in value:  # stop early: a 100,000-value list is not formatted in full
                if budget is not None and used > budget:
                    parts.append("...")
                    break
                if not isinstance(v, (list, tuple)):
                    parts.append(self.scalar(v))
                elif budget is None:
                    parts.append(self.format(v, None))
                else:
                    parts.append(self.format(v, budget - used) if budget - used > 0 else "[...]")
                used += len(parts[-1]) + 2
            return "[" + ", ".join(parts) + "]"
        return self.scalar(value)

    def scalar(self, value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return f"{value:.{self.digits}g}"
        text = str(value)
        if self.escape and not text.isprintable():
            text = _escape(text)
        return f'"{text}"' if self.quote and isinstance(value, str) else text


def one_line(message: str, limit: int = MAX_MESSAGE) -> str:
    """``message`` with line breaks and other control characters escaped, cut to ``limit``."""
    return _cut(message if message.isprintable() else _escape(message), limit)


def _escape(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."
