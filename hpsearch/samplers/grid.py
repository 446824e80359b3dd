"""Grid search: the cartesian product of each parameter's grid points, in a fixed order,
without the duplicates an inactive (conditional) parameter would create."""

from __future__ import annotations

import math
from typing import Any

from hpsearch.errors import SpaceError
from hpsearch.samplers.base import IndexSampler
from hpsearch.space import DEFAULT_GRID_POINTS, MAX_GRID_POINTS, Space, same_value

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
        # Distinct values only (by repr, as a configuration is told apart): a repeated value
        # would repeat every configuration below it.
        self._axes = {p.name: list({repr(v): v for v in p.grid_values(default)}.values())
                      for p in space.search_params}
        self._params = list(space.params.values())
        self._slot = {p.name: i for i, p in enumerate(space.search_params)}
        # Each point is the last node of its path: (parent, param index, value, unit or None).
        # Paths share their prefixes, so a chain of conditions costs memory linear in depth.
        self._points: list[tuple | None] = []
        # Unconditional parameters alone give a lower bound on the size: refuse early and cheaply.
        if math.prod(len(self._axes[p.name]) for p in space.search_params if not p.when) \
                > MAX_GRID_SIZE:
            self._too_large()
        self._enumerate()
        self.size = len(self._points)
        if not self._points:  # only [[forbid]] can empty a grid
            raise SpaceError(f"{space.source}: forbid: every point of the grid is forbidden")

    def _enumerate(self) -> None:
        """Depth-first over the parameters in dependency order, with one mutable configuration
        that is cut back to the branching parameter when the next branch starts (entries are
        added in parameter order, so ``popitem`` removes exactly the later ones). A parameter
        whose condition fails, or that has one value, does not branch; only the values of
        active parameters are ever in the configuration, so a condition is checked against its
        parents' values directly. Each point costs time linear in the number of parameters."""
        params, forbid = self._params, self.space.forbid
        n = len(params)
        config: dict[str, Any] = {}
        depths: list[int] = []          # the parameter index of each entry of ``config``
        start = object()
        stack: list[tuple[int, tuple | None, Any, float | None]] = [(0, None, start, None)]
        while stack:
            i, node, value, unit = stack.pop()
            while depths and depths[-1] >= i:
                config.popitem()
                depths.pop()
            if value is not start:
                config[params[i].name] = value
                depths.append(i)
                node = (node, i, value, unit)
                i += 1
            while i < n:  # the parameters that do not branch here
                param = params[i]
                if param.when and not _holds(param.when, config):
                    i += 1
                elif not param.searchable:
                    fixed = param.from_unit(0.5)
                    config[param.name] = fixed
                    depths.append(i)
                    node = (node, i, fixed, None)
                    i += 1
                else:
                    break
            if i == n:
                if forbid and forbid.is_forbidden(config):
                    continue
                self._points.append(node)
                if len(self._points) > MAX_GRID_SIZE:
                    self._too_large()
                continue
            param = params[i]
            # Reversed, so that they come off the stack in order: last parameter fastest.
            for v in reversed(self._axes[param.name]):
                stack.append((i, node, v, param.to_unit(v)))

    def _path(self, index: int) -> list[tuple[int, Any, float | None]]:
        out = []
        node = self._points[index]
        while node is not None:
            node, i, value, unit = node
            out.append((i, value, unit))
        out.reverse()
        return out

    def _too_large(self) -> None:
        raise SpaceError(f"{self.space.source}: study.sampler: the grid has more than "
                         f"{MAX_GRID_SIZE} points; lower grid_points or use sobol")

    def unit(self, index: int) -> list[float] | None:
        self._check_index(index)
        if index >= len(self._points):
            return None
        units = [0.5] * len(self._slot)  # an inactive parameter sits at the centre
        for i, _value, unit in self._path(index):
            if unit is not None:
                units[self._slot[self._params[i].name]] = unit
        return units

    def propose(self, index: int) -> dict[str, Any] | None:
        """The grid's configuration with its exact values (``grid = [1e-5]`` gives 1e-05, where
        ``space.from_unit(self.unit(index))`` may differ in the last digit)."""
        self._check_index(index)
        if index >= len(self._points):
            return None
        return {self._params[i].name: value for i, value, _unit in self._path(index)}


def _holds(when: dict[str, Any], config: dict[str, Any]) -> bool:
    """Whether ``when`` holds: in the grid's configuration a parent is present exactly when
    it is active, so a missing parent fails the condition (as in :meth:`Space.is_active`)."""
    for key, allowed in when.items():
        if key not in config:
            return False
        value = config[key]
        if not any(same_value(value, v) for v in allowed):
            return False
    return True
