"""Quasi-random search: scipy's scrambled Sobol' sequence; index n is its n-th point."""

from __future__ import annotations

from typing import Any

from hpsearch.errors import SpaceError
from hpsearch.samplers.base import IndexSampler
from hpsearch.space import Space

__all__ = ["SobolSampler", "MAX_SOBOL_DIM"]

MAX_SOBOL_DIM = 21201
"""scipy's Sobol' engine has direction numbers for this many dimensions."""


class SobolSampler(IndexSampler):
    """Scrambled Sobol' points (scipy); the first 2^k points are balanced in every coordinate.

    The engine and its position are cached, so consecutive indices cost O(1); a jump forward
    fast-forwards, a jump back resets and fast-forwards, so index n is always the n-th point.
    """

    name = "sobol"

    def __init__(self, space: Space, *, seed: int) -> None:
        super().__init__(space, seed=seed)
        if space.dim > MAX_SOBOL_DIM:
            raise SpaceError(f"{space.source}: study.sampler: Sobol' sequences have at most "
                             f"{MAX_SOBOL_DIM} dimensions and the space has {space.dim} "
                             f"searchable parameters; use random")
        self._engine: Any = None
        self._position = 0

    def _make_engine(self) -> Any:
        # scipy's qmc.Sobol points, without importing scipy.stats (hpsearch.samplers.sobol_engine)
        from hpsearch.samplers.sobol_engine import make_sobol

        return make_sobol(self.space.dim, self.seed)

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
        return self._allowed(point, index)
