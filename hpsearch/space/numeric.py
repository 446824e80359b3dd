"""The numeric parameter types: uniform, log_uniform, log_one_minus and int.

Each maps a unit coordinate to a value through its scale (linear, log, log of 1-x, integer
cells) and back; see :mod:`hpsearch.space.params` for the contract they keep. The two
continuous log scales differ only in the :class:`Transform` of the value axis on which samples
are uniform (``log x`` or ``log(1 - x)``); :class:`LogScaled` does the mapping once for both,
and a log-spaced integer uses the same ``LOG`` transform for its cells.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hpsearch.space.params import Param, invert
from hpsearch.space.study import MAX_GRID_POINTS
from hpsearch.space.values import clamp_unit, fmt, is_int, is_number, tidy

__all__ = ["MAX_STEPS", "NumericParam", "Transform", "LOG", "LOG_ONE_MINUS", "LogScaled", "Uniform",
           "LogUniform", "LogOneMinus", "IntParam"]


@dataclass(frozen=True)
class Transform:
    """A monotone map of the value axis (``forward``) and its inverse: samples are uniform in
    ``forward(x)`` between ``forward(low)`` and ``forward(high)``."""

    name: str
    forward: Callable[[float], float]
    inverse: Callable[[float], float]

    def bounds(self, low: float, high: float) -> tuple[float, float]:
        return self.forward(low), self.forward(high)


MAX_STEPS = 2**53
"""The most values a float parameter's ``step`` may give (floats are exact up to 2**53)."""

LOG = Transform("log", math.log, math.exp)
# log1p/expm1 keep full precision for x close to 1 (β = 0.9999 has 1 - β = 1e-4 exactly).
LOG_ONE_MINUS = Transform("log(1-x)", lambda x: math.log1p(-x), lambda y: -math.expm1(y))


@dataclass(frozen=True)
class NumericParam(Param):
    """Shared bounds validation for the numeric types."""

    low: float
    high: float
    step: float | None = None
    grid_points: int | None = field(default=None, kw_only=True)

    numeric: ClassVar[bool] = True

    def __post_init__(self) -> None:
        for key in ("low", "high"):
            v = getattr(self, key)
            if not is_number(v) or not math.isfinite(v):
                self._fail(f"{key} must be a finite number (got {fmt(v)})")
        if self.low >= self.high:
            self._fail(f"low ({fmt(self.low)}) must be below high ({fmt(self.high)})")
        if not math.isfinite(self.high - self.low):
            self._fail(f"the range [{fmt(self.low)}, {fmt(self.high)}] is too wide")
        if self.step is not None:
            if not is_number(self.step) or not math.isfinite(self.step) or self.step <= 0:
                self._fail(f"step must be a positive number (got {fmt(self.step)})")
            if self.step > self.high - self.low:
                self._fail(f"step ({fmt(self.step)}) is larger than the range "
                           f"[{fmt(self.low)}, {fmt(self.high)}]")
            if self.kind != "int" and (self.high - self.low) / self.step > MAX_STEPS:
                # Beyond 2**53 steps low + k*step is no longer exact (and 1e308/0.3 overflows).
                self._fail(f"step ({fmt(self.step)}) cuts [{fmt(self.low)}, {fmt(self.high)}] "
                           f"into more than {MAX_STEPS} values; use a larger step or none")
        gp = self.grid_points
        if gp is not None and (not is_int(gp) or gp < 1):
            self._fail(f"grid_points must be a positive integer (got {fmt(gp)})")
        if gp is not None and gp > MAX_GRID_POINTS:
            self._fail(f"grid_points must be at most {MAX_GRID_POINTS} (got {fmt(gp)})")
        super().__post_init__()

    @property
    def _n_steps(self) -> int:
        """Index of the largest value ``low + k*step`` that is still <= high."""
        return int(math.floor((self.high - self.low) / self.step + 1e-9))  # type: ignore[operator]

    def _snap(self, x: float) -> float:
        """Nearest ``low + k*step`` within the bounds (for the log scales)."""
        if self.step is None:
            return min(max(x, self.low), self.high)
        k = min(max(round((x - self.low) / self.step), 0), self._n_steps)
        return tidy(self.low + k * self.step)

    def _coerce(self, value: Any) -> Any:
        return float(value)

    def _on_step(self, value: float) -> bool:
        if self.step is None:
            return True
        k = round((value - self.low) / self.step)
        return 0 <= k <= self._n_steps and tidy(self.low + k * self.step) == value

    def contains(self, value: Any) -> bool:
        if not is_number(value) or not math.isfinite(value):
            return False
        return self.low <= value <= self.high and self._on_step(value)

    def _extra(self) -> dict[str, Any]:
        d: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.step is not None:
            d["step"] = self.step
        return d

    def _range_text(self) -> str:
        text = f"[{fmt(self.low)}, {fmt(self.high)}]"
        return text + (f" step {fmt(self.step)}" if self.step is not None else "")

    def _scale_text(self) -> str:
        return "linear"


@dataclass(frozen=True)
class Uniform(NumericParam):
    """Uniform on [low, high]; with ``step``, each of low, low+step, ... is equally likely."""

    kind: ClassVar[str] = "uniform"

    def from_unit(self, u: float) -> float:
        u = clamp_unit(u)
        if self.step is not None:
            n = self._n_steps + 1
            return tidy(self.low + min(int(u * n), n - 1) * self.step)
        if u >= 1.0:
            return float(self.high)
        return min(float(self.low + u * (self.high - self.low)), float(self.high))

    def to_unit(self, value: Any) -> float:
        if self.step is not None:
            n = self._n_steps + 1
            return (min(max(round((value - self.low) / self.step), 0), n - 1) + 0.5) / n
        return invert(self, (value - self.low) / (self.high - self.low), value)


@dataclass(frozen=True)
class LogScaled(NumericParam):
    """Uniform in ``transform.forward(x)``; ``step`` snaps to the nearest low + k*step."""

    transform: ClassVar[Transform] = LOG

    def from_unit(self, u: float) -> float:
        u = clamp_unit(u)
        if u <= 0.0:
            return self._snap(float(self.low))
        if u >= 1.0:
            return self._snap(float(self.high))
        a, b = self.transform.bounds(self.low, self.high)
        return self._snap(self.transform.inverse(a + u * (b - a)))

    def to_unit(self, value: Any) -> float:
        a, b = self.transform.bounds(self.low, self.high)
        return invert(self, (self.transform.forward(value) - a) / (b - a), value)

    def _scale_text(self) -> str:
        return self.transform.name


@dataclass(frozen=True)
class LogUniform(LogScaled):
    """log(x) uniform on [log low, log high]; ``step`` snaps to the nearest low + k*step."""

    kind: ClassVar[str] = "log_uniform"
    transform: ClassVar[Transform] = LOG

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.low <= 0:
            self._fail(f"log scale needs low > 0 (got low = {fmt(self.low)})")


@dataclass(frozen=True)
class LogOneMinus(LogScaled):
    """log(1 - x) uniform: for β in [0.9, 0.999], half the samples land in [0.99, 0.999]."""

    kind: ClassVar[str] = "log_one_minus"
    transform: ClassVar[Transform] = LOG_ONE_MINUS

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.low < self.high < 1:
            self._fail(f"log_one_minus needs 0 < low < high < 1 (got low = {fmt(self.low)}, "
                       f"high = {fmt(self.high)})")


@dataclass(frozen=True)
class IntParam(NumericParam):
    """Integers low, low+step, ... <= high; equally likely, or spaced on a log scale."""

    low: int
    high: int
    step: int | None = None
    log: bool = False

    kind: ClassVar[str] = "int"

    def _coerce(self, value: Any) -> Any:
        return int(value)

    def __post_init__(self) -> None:
        for key in ("low", "high"):
            v = getattr(self, key)
            if not is_int(v):
                self._fail(f"{key} must be an integer (got {fmt(v)})")
        if self.step is not None and not is_int(self.step):
            self._fail(f"step must be a positive integer (got {fmt(self.step)})")
        if not isinstance(self.log, bool):
            self._fail(f"log must be true or false (got {fmt(self.log)})")
        super().__post_init__()
        if self.log and self.low <= 0:
            self._fail(f"log scale needs low > 0 (got low = {fmt(self.low)})")

    @property
    def _stride(self) -> int:
        return self.step or 1

    @property
    def _count(self) -> int:
        return (self.high - self.low) // self._stride + 1

    def _log_bounds(self) -> tuple[float, float]:
        # Each integer owns [v - step/2, v + step/2] on the log axis, so the ends are not halved.
        a = self.low - self._stride / 2
        return LOG.bounds(a if a > 0 else self.low / 2, self.high + self._stride / 2)

    def _index(self, x: float) -> int:
        return min(max(round((x - self.low) / self._stride), 0), self._count - 1)

    def from_unit(self, u: float) -> int:
        u = clamp_unit(u)
        if self.log:
            a, b = self._log_bounds()
            k = self._index(LOG.inverse(a + u * (b - a)))
        else:
            k = min(int(u * self._count), self._count - 1)
        return self.low + k * self._stride

    def to_unit(self, value: Any) -> float:
        if self.log:
            a, b = self._log_bounds()
            v = self.low + self._index(value) * self._stride
            return (LOG.forward(v) - a) / (b - a)
        return (self._index(value) + 0.5) / self._count

    def contains(self, value: Any) -> bool:
        return (isinstance(value, int) and not isinstance(value, bool)
                and self.low <= value <= self.high and (value - self.low) % self._stride == 0)

    def grid_values(self, default_points: int) -> list[Any]:
        # Evenly spaced between the bounds themselves (16, 32, ..., 256 on a log scale), not
        # through from_unit, whose log cells reach half a step beyond them.
        if self.grid is not None:
            return list(self.grid)
        n = self.grid_points or default_points
        if self.grid_points is None and self._count <= n:
            return [self.low + k * self._stride for k in range(self._count)]
        ts = [0.5] if n == 1 else [i / (n - 1) for i in range(n)]
        if self.log:
            xs = [self.low * (self.high / self.low) ** t for t in ts]
        else:
            xs = [self.low + t * (self.high - self.low) for t in ts]
        return list(dict.fromkeys(self.low + self._index(x) * self._stride for x in xs))

    def _extra(self) -> dict[str, Any]:
        d = super()._extra()
        if self.log:
            d["log"] = True
        return d

    def _scale_text(self) -> str:
        return "log int" if self.log else "int"
