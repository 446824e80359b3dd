"""Grid search: the cartesian product of each parameter's grid points, in a fixed order,
without the duplicates an inactive (conditional) parameter would create."""

from __future__ import annotations

import math
from typing import Any

from hpsearch.errors import SpaceError
from hpsearch.samplers.base import Sampler
from hpsearch.space import DEFAULT_GRID_POINTS, Space

__all__ = ["GridSampler", "MAX_GRID_SIZE"]

MAX_GRID_SIZE = 100_000
"""A larger grid is refused: it would not be searched anyway, and listing it costs memory."""


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
