"""Grid search: the cartesian product of each parameter's grid points, in a fixed order,
without the duplicates an inactive (conditional) parameter would create."""

from __future__ import annotations

import math
from typing import Any

from hpsearch.errors import SpaceError
from hpsearch.samplers.base import IndexSampler
from hpsearch.space import DEFAULT_GRID_POINTS, MAX_GRID_POINTS, Space

__all__ = ["GridSampler", "MAX_GRID_SIZE"]

MAX_GRID_SIZE = MAX_GRID_POINTS
"""A larger grid is refused: it would not be searched anyway, and listing it costs memory."""


class GridSampler(IndexSampler):
    """Every combination of the parameters' grid points, last parameter varying fastest.

    A parameter's points are its ``grid = [...]`` values, else ``grid_points`` (the param's,
    else ``[study] grid_points``, else 5) evenly spaced unit coordinates ``i/(N-1)`` — both
    bounds included, on the parameter's own scale, so a log parameter gets 1e-4, 1e-3, ...;
    ``N = 1`` takes the centre. Integers keep distinct values (all of them when there are at
    most N); choices take all their values. A parameter that is inactive under the values
    chosen so far does not multiply the grid: its coordinate is fixed at 0.5. Points that the
    space's ``[[forbid]]`` rules forbid are left out (``size`` counts the allowed ones). The
    seed is not used (a grid has one order).
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
        if not self._points:  # only [[forbid]] can empty a grid
            raise SpaceError(f"{space.source}: forbid: every point of the grid is forbidden")

    def _enumerate(self) -> None:
        space = self.space
        params = list(space.params.values())
        forbid = space.forbid
        seen: set[str] = set()
        # Depth-first with an explicit stack (thousands of parameters must not recurse); each
        # level's values are pushed in reverse so they come off in order, last parameter fastest.
        stack: list[tuple[int, dict[str, Any], list[float]]] = [(0, {}, [])]
        while stack:
            i, config, units = stack.pop()
            if i == len(params):
                key = repr(sorted(config.items()))
                if key in seen or (forbid and forbid.is_forbidden(config)):
                    continue
                seen.add(key)
                self._points.append((units, config))
                if len(self._points) > MAX_GRID_SIZE:
                    self._too_large()
                continue
            param = params[i]
            if not space.is_active(param.name, config):
                stack.append((i + 1, config, units + [0.5] if param.searchable else units))
            elif not param.searchable:
                stack.append((i + 1, {**config, param.name: param.from_unit(0.5)}, units))
            else:
                for value in reversed(self._axes[param.name]):
                    stack.append((i + 1, {**config, param.name: value},
                                  units + [param.to_unit(value)]))

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
