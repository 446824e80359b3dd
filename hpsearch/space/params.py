"""Parameter types of a search space and their scales (the unit-cube mapping): the base class
and the non-numeric types (the numeric ones are in :mod:`hpsearch.space.numeric`).

Every searchable parameter maps a unit coordinate ``u ∈ [0, 1]`` to a value on its own scale
(:meth:`Param.from_unit`) and back (:meth:`Param.to_unit`); samplers and refinement only ever
see unit coordinates. One small frozen dataclass per type::

    Uniform      linear on [low, high]            optional step: equally likely values low + k*step
    LogUniform   log(x) uniform, 0 < low          optional step: the value is snapped to low + k*step
    LogOneMinus  log(1 - x) uniform, 0 < low < high < 1   (momentum / Adam betas / BatchNorm)
    IntParam     integers low, low+step, ..., <= high; ``log = true`` spaces them on a log scale
    Choice       one of ``values``; u picks an equal-width cell
    Fixed        a constant (a bare value in the file); not searched, takes no coordinate

Discrete types map a value back to the *centre* of its cell, so ``from_unit(to_unit(v)) == v``
holds exactly; continuous types invert their formula and then correct the last few ulps.

Validation happens in ``__post_init__`` (so ``dataclasses.replace(p, low=...)`` re-validates)
and raises :class:`~hpsearch.errors.SpaceError` with ``params.<name>: <what>``; the loader
(:meth:`hpsearch.space.Space.from_dict`) prefixes the file name.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hpsearch.errors import SpaceError
from hpsearch.space.study import MAX_GRID_POINTS
from hpsearch.space.values import clamp_unit, fmt, is_finite_plain, same_value, tidy, value_key

__all__ = ["Param", "Choice", "Fixed", "invert"]


def invert(param: Param, u: float, value: Any) -> float:
    """Nudge ``u`` by a few ulps so that ``param.from_unit(u) == value`` exactly when possible."""
    u = clamp_unit(u)
    if param.from_unit(u) == value:
        return u
    for direction in (1.0, 0.0):
        w = u
        for _ in range(256):
            w = math.nextafter(w, direction)
            if param.from_unit(w) == value:
                return w
    return u


@dataclass(frozen=True)
class Param(ABC):
    """Base of all parameter types: a name, an optional condition and the unit-cube mapping.

    ``when`` is normalised to ``{other_param: [allowed values]}``; all keys must hold. ``grid``
    (explicit values) and ``grid_points`` (evenly spaced count) only matter to the grid sampler.
    """

    name: str
    when: dict[str, list[Any]] | None = field(default=None, kw_only=True)
    grid: list[Any] | None = field(default=None, kw_only=True)

    kind: ClassVar[str] = ""
    searchable: ClassVar[bool] = True
    numeric: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if self.grid is not None:
            if not isinstance(self.grid, list) or not self.grid:
                self._fail(f"grid must be a non-empty list of values (got {fmt(self.grid)})")
            if len(self.grid) > MAX_GRID_POINTS:
                self._fail(f"grid has {len(self.grid)} values; at most {MAX_GRID_POINTS} "
                           f"can be searched")
            grid: list[Any] = []
            seen: set[tuple[str, Any]] = set()
            for v in self.grid:
                if isinstance(v, (list, dict)) or not self.contains(v):
                    self._fail(f"grid value {fmt(v)} is not a possible value of this parameter")
                v = self._coerce(v)
                if value_key(v) in seen:
                    self._fail(f"grid value {fmt(v)} is listed twice")
                seen.add(value_key(v))
                grid.append(v)
            object.__setattr__(self, "grid", grid)

    def _coerce(self, value: Any) -> Any:
        """A value in this parameter's own type (a float parameter's grid point 1 is 1.0)."""
        return value

    def _fail(self, what: str) -> None:
        raise SpaceError(f"params.{self.name}: {what}")

    @abstractmethod
    def from_unit(self, u: float) -> Any:
        """Map ``u`` (clamped to [0, 1]) to a value on this parameter's scale."""

    @abstractmethod
    def to_unit(self, value: Any) -> float:
        """Inverse of :meth:`from_unit` for every value it can produce."""

    @abstractmethod
    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a value this parameter can take."""

    def grid_values(self, default_points: int) -> list[Any]:
        """This parameter's grid: its ``grid`` values, else ``grid_points`` (or the default)
        evenly spaced unit coordinates ``i/(N-1)`` mapped through the scale, distinct values
        only, in order. Floats are rounded to 12 significant digits (1e-3, not
        0.0010000000000000002), since a grid is read by people."""
        if self.grid is not None:
            return list(self.grid)
        n = getattr(self, "grid_points", None) or default_points
        units = [0.5] if n == 1 else [i / (n - 1) for i in range(n)]
        values: dict[tuple[str, Any], Any] = {}
        for u in units:
            v = self.from_unit(u)
            if isinstance(v, float) and self.contains(tidy(v)):
                v = tidy(v)
            values.setdefault(value_key(v), v)
        return list(values.values())

    def _extra(self) -> dict[str, Any]:
        """Type-specific keys of :meth:`to_dict`."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        """The TOML inline-table form, ``when`` included."""
        d: dict[str, Any] = {"type": self.kind, **self._extra()}
        if self.grid is not None:
            d["grid"] = list(self.grid)
        if getattr(self, "grid_points", None) is not None:
            d["grid_points"] = self.grid_points  # type: ignore[attr-defined]
        if self.when:
            d["when"] = {k: v[0] if len(v) == 1 else list(v) for k, v in self.when.items()}
        return d

    def condition_text(self) -> str:
        """``optimizer = sgd and n_layers in [2, 3]``, or ``""``."""
        if not self.when:
            return ""
        return " and ".join(
            f"{k} = {fmt(v[0])}" if len(v) == 1 else f"{k} in {fmt(v)}" for k, v in self.when.items()
        )

    def describe(self) -> dict[str, str]:
        """Strings for a table: name, type, range, scale, condition."""
        return {"name": self.name, "type": self.kind, "range": self._range_text(),
                "scale": self._scale_text(), "condition": self.condition_text()}

    def _range_text(self) -> str:
        return ""

    def _scale_text(self) -> str:
        return ""


@dataclass(frozen=True)
class Choice(Param):
    """One of ``values`` (numbers, strings, booleans), each equally likely."""

    values: tuple[Any, ...]

    kind: ClassVar[str] = "choice"

    def __post_init__(self) -> None:
        values = self.values
        if not isinstance(values, (list, tuple)) or not values:
            self._fail(f"values must be a non-empty list (got {fmt(values)})")
        if len(values) > MAX_GRID_POINTS:
            self._fail(f"values has {len(values)} entries; at most {MAX_GRID_POINTS} can be "
                       f"searched")
        seen: set[tuple[str, Any]] = set()
        for v in values:
            if not is_finite_plain(v):
                self._fail(f"values must be finite numbers, strings or booleans (got {fmt(v)})")
            if value_key(v) in seen:
                self._fail(f"duplicate value {fmt(v)} in values {fmt(list(values))}")
            seen.add(value_key(v))
        object.__setattr__(self, "values", tuple(values))
        super().__post_init__()

    def index(self, value: Any) -> int:
        """Position of ``value`` in ``values`` (ValueError if absent)."""
        for i, v in enumerate(self.values):
            if same_value(v, value):
                return i
        raise ValueError(f"{value!r} is not among {self.values!r}")

    def from_unit(self, u: float) -> Any:
        n = len(self.values)
        return self.values[min(int(clamp_unit(u) * n), n - 1)]

    def to_unit(self, value: Any) -> float:
        return (self.index(value) + 0.5) / len(self.values)

    def contains(self, value: Any) -> bool:
        return any(same_value(v, value) for v in self.values)

    def grid_values(self, default_points: int) -> list[Any]:
        return list(self.grid if self.grid is not None else self.values)

    def _extra(self) -> dict[str, Any]:
        return {"values": list(self.values)}

    def _range_text(self) -> str:
        return " | ".join(fmt(v) for v in self.values)

    def _scale_text(self) -> str:
        return "categorical"


@dataclass(frozen=True)
class Fixed(Param):
    """A constant: present in every configuration where its condition holds; never searched."""

    value: Any

    kind: ClassVar[str] = "fixed"
    searchable: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if not _is_plain(self.value):
            self._fail(f"a fixed value must be a finite number, string, boolean or a list of "
                       f"them (got {fmt(self.value)})")
        if self.grid is not None:
            self._fail("a fixed parameter takes no grid")

    def from_unit(self, u: float) -> Any:
        return self.value

    def to_unit(self, value: Any) -> float:
        return 0.5

    def contains(self, value: Any) -> bool:
        return same_value(value, self.value)

    def to_dict(self) -> Any:
        if not self.when:
            return self.value
        return {"type": "fixed", "value": self.value, **{"when": super().to_dict()["when"]}}

    def _range_text(self) -> str:
        return fmt(self.value)

    def _scale_text(self) -> str:
        return "fixed"


def _is_plain(value: Any) -> bool:
    # Iterative: a fixed list nested thousands deep must not hit the recursion limit.
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, list):
            stack.extend(v)
        elif not is_finite_plain(v):
            return False
    return True
