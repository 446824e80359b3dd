"""Samplers: propose points of the unit cube; the space turns them into configurations.

Every sampler is a pure function of ``(space, seed, index)``: the ``index``-th proposal of a
round is the same on every machine and in every process, whatever ran before, so a resumed or
distributed study proposes exactly what a single uninterrupted run would have. Samplers never
see scales (log, 1-x, integer rounding, choice cells): :class:`~hpsearch.space.Space` owns them.

    random   numpy's PCG64 seeded with ``[seed, index]``: independent uniform draws
    sobol    scipy's scrambled Sobol' sequence; index n is the n-th point of the sequence
    grid     the cartesian product of each parameter's grid points, in a fixed order,
             without the duplicates an inactive (conditional) parameter would create
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from hpsearch.errors import SpaceError
from hpsearch.space import DEFAULT_GRID_POINTS, Space

__all__ = ["Sampler", "RandomSampler", "SobolSampler", "GridSampler", "SAMPLERS", "make_sampler",
           "MAX_GRID_SIZE"]

MAX_GRID_SIZE = 100_000
"""A larger grid is refused: it would not be searched anyway, and listing it costs memory."""


class Sampler(ABC):
    """Base class: ``unit(index)`` is the index-th point of the round (0-based), or None.

    Parameters
    ----------
    space:
        The space whose ``dim`` unit coordinates are proposed.
    seed:
        The study's (or round's) seed, a non-negative integer.
    """

    name: ClassVar[str] = ""
    size: int | None = None  # number of distinct points; None = unbounded

    def __init__(self, space: Space, *, seed: int) -> None:
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise SpaceError(f"seed must be a non-negative integer (got {seed!r})")
        self.space = space
        self.seed = seed

    @abstractmethod
    def unit(self, index: int) -> list[float] | None:
        """The index-th unit vector (length ``space.dim``), or None when exhausted."""

    def propose(self, index: int) -> dict[str, Any] | None:
        """The index-th configuration, or None when the sampler is exhausted."""
        u = self.unit(index)
        return None if u is None else self.space.from_unit(u)

    @staticmethod
    def _check_index(index: int) -> None:
        if index < 0:
            raise ValueError(f"index must be >= 0 (got {index})")


class RandomSampler(Sampler):
    """Independent uniform points; index i of seed s is ``default_rng([s, i]).random(dim)``."""

    name = "random"

    def unit(self, index: int) -> list[float]:
        import numpy as np

        self._check_index(index)
        return np.random.default_rng([self.seed, index]).random(self.space.dim).tolist()


class SobolSampler(Sampler):
    """Scrambled Sobol' points (scipy); the first 2^k points are balanced in every coordinate.

    The engine and its position are cached, so consecutive indices cost O(1); a jump forward
    fast-forwards, a jump back resets and fast-forwards, so index n is always the n-th point.
    """

    name = "sobol"

    def __init__(self, space: Space, *, seed: int) -> None:
        super().__init__(space, seed=seed)
        self._engine: Any = None
        self._position = 0

    def _make_engine(self) -> Any:
        import numpy as np
        from scipy.stats import qmc

        rng = np.random.default_rng(self.seed)
        try:  # scipy >= 1.15 calls it rng; older versions seed (both accept a Generator)
            return qmc.Sobol(d=self.space.dim, scramble=True, rng=rng)
        except TypeError:
            return qmc.Sobol(d=self.space.dim, scramble=True, seed=rng)

    def unit(self, index: int) -> list[float]:
        self._check_index(index)
        if self.space.dim == 0:
            return []
        if self._engine is None:
            self._engine = self._make_engine()
        if index < self._position:
            self._engine.reset()
            self._position = 0
        if index > self._position:
            self._engine.fast_forward(index - self._position)
        point = self._engine.random(1)[0].tolist()
        self._position = index + 1
        return point


class GridSampler(Sampler):
    """Every combination of the parameters' grid points, last parameter varying fastest.

    A parameter's points are its ``grid = [...]`` values, else ``grid_points`` (the param's,
    else ``[study] grid_points``, else 5) evenly spaced unit coordinates ``i/(N-1)`` — both
    bounds included, on the parameter's own scale, so a log parameter gets 1e-4, 1e-3, ...;
    ``N = 1`` takes the centre. Integers keep distinct values (all of them when there are at
    most N); choices take all their values. A parameter that is inactive under the values
    chosen so far does not multiply the grid: its coordinate is fixed at 0.5. The seed is
    not used (a grid has one order).
    """

    name = "grid"

    def __init__(self, space: Space, *, seed: int) -> None:
        super().__init__(space, seed=seed)
        default = space.study.grid_points or DEFAULT_GRID_POINTS
        self._axes = {p.name: p.grid_values(default) for p in space.search_params}
        self._points: list[tuple[list[float], dict[str, Any]]] = []
        # Unconditional parameters alone give a lower bound on the size: refuse early and cheaply.
        if math.prod(len(self._axes[p.name]) for p in space.search_params if not p.when) \
                > MAX_GRID_SIZE:
            self._too_large()
        self._enumerate()
        self.size = len(self._points)

    def _enumerate(self) -> None:
        space = self.space
        names = list(space.params)
        seen: set[str] = set()

        def walk(i: int, config: dict[str, Any], units: list[float]) -> None:
            if i == len(names):
                key = repr(sorted(config.items()))
                if key not in seen:
                    seen.add(key)
                    self._points.append((units, config))
                    if len(self._points) > MAX_GRID_SIZE:
                        self._too_large()
                return
            param = space.params[names[i]]
            if not space.is_active(param.name, config):
                walk(i + 1, config, units + [0.5] if param.searchable else units)
            elif not param.searchable:
                walk(i + 1, {**config, param.name: param.from_unit(0.5)}, units)
            else:
                for value in self._axes[param.name]:
                    walk(i + 1, {**config, param.name: value}, units + [param.to_unit(value)])

        walk(0, {}, [])

    def _too_large(self) -> None:
        raise SpaceError(f"{self.space.source}: study.sampler: the grid has more than "
                         f"{MAX_GRID_SIZE} points; lower grid_points or use sobol")

    def unit(self, index: int) -> list[float] | None:
        self._check_index(index)
        return list(self._points[index][0]) if index < len(self._points) else None

    def propose(self, index: int) -> dict[str, Any] | None:
        """The grid's configuration with its exact values (``grid = [1e-5]`` gives 1e-05, where
        ``space.from_unit(self.unit(index))`` may differ in the last digit)."""
        self._check_index(index)
        return dict(self._points[index][1]) if index < len(self._points) else None


SAMPLERS: dict[str, type[Sampler]] = {
    cls.name: cls for cls in (RandomSampler, SobolSampler, GridSampler)
}


def make_sampler(name: str, space: Space, *, seed: int) -> Sampler:
    """The sampler registered as ``name`` (:data:`SAMPLERS`), for ``space`` and ``seed``."""
    try:
        cls = SAMPLERS[name]
    except (KeyError, TypeError):
        raise SpaceError(f"unknown sampler {name!r} (known: {', '.join(SAMPLERS)})") from None
    return cls(space, seed=seed)
