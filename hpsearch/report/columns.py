"""Which columns of a terminal table fit its width, without cutting a cell.

A table is drawn by :mod:`hpsearch.render`; this module only decides. Each column needs the
width of its longest cell (or header); the *fixed* columns (a report's number, round, state,
value and duration; a study's name) are always shown whole, and the *optional* ones (the
parameters, most important first) are added while the table still fits. What is left out is
named under the table, with the options that show it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

__all__ = ["FittedColumns", "fit_columns", "table_width", "CELL_OVERHEAD"]

#: What rich's default box adds to each column: one space of padding each side and a border.
CELL_OVERHEAD = 3


def table_width(widths: Sequence[int]) -> int:
    """The width of a rich table whose columns' contents are ``widths`` wide."""
    return 1 + sum(w + CELL_OVERHEAD for w in widths)


@dataclass
class FittedColumns:
    """The chosen columns in display order, the left-out ones, and the table's width."""

    shown: list[str]
    hidden: list[str] = field(default_factory=list)
    width: int = 0


def fit_columns(fixed: Sequence[str], optional: Sequence[str], widths: dict[str, int],
                available: int, *, insert_at: int | None = None) -> FittedColumns:
    """Every ``fixed`` column, then as many of ``optional`` (in their order of preference) as
    fit ``available`` characters. ``widths``: each column's content width (its longest cell or
    header). The optional ones are shown at ``insert_at`` (default: after the fixed ones), in
    the order they were given. The fixed ones are kept even when they alone are too wide: the
    table is then wider than ``available`` (the terminal wraps it; nothing is cut)."""
    used = table_width([widths[c] for c in fixed])
    chosen: list[str] = []
    hidden: list[str] = []
    for name in optional:
        need = widths[name] + CELL_OVERHEAD
        if not hidden and used + need <= available:
            chosen.append(name)
            used += need
        else:
            hidden.append(name)  # keep the preference order: no smaller one jumps the queue
    at = len(fixed) if insert_at is None else insert_at
    shown = [*fixed[:at], *chosen, *fixed[at:]]
    return FittedColumns(shown, hidden, used)
