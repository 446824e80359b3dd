"""The :class:`Sampler` interface every sampler implements.

A sampler proposes points of the unit cube; the space turns them into configurations. Every
sampler is a pure function of ``(space, seed, index)``: the ``index``-th proposal of a round is
the same on every machine and in every process, whatever ran before, so a resumed or
distributed study proposes exactly what a single uninterrupted run would have. A point that
the space's ``[[forbid]]`` rules forbid is replaced by a redraw keyed by ``(seed, index)``
(random, Sobol) or left out (grid). Samplers never
see scales (log, 1-x, integer rounding, choice cells): :class:`~hpsearch.space.Space` owns them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from hpsearch.errors import SpaceError
from hpsearch.space import Space

__all__ = ["Sampler", "MAX_REDRAWS"]

MAX_REDRAWS = 10_000
"""Redraws of a forbidden point (random, Sobol) before the space is declared all forbidden."""


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
    uses_history: ClassVar[bool] = False  # model samplers (hpsearch.samplers.model) say True

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

    def _allowed(self, u: list[float], index: int) -> list[float]:
        """``u``, or when ``space.forbid`` forbids its configuration, a uniform redraw from a
        stream of its own keyed by ``(seed, index)``: the same seed gives the same proposals,
        and a space without ``[[forbid]]`` is sampled exactly as before."""
        forbid = self.space.forbid
        if not forbid or not forbid.is_forbidden(self.space.from_unit(u)):
            return u
        import numpy as np

        rng = np.random.default_rng([self.seed, index, 1])
        for _ in range(MAX_REDRAWS):
            u = rng.random(self.space.dim).tolist()
            if not forbid.is_forbidden(self.space.from_unit(u)):
                return u
        raise SpaceError(f"{self.space.source}: forbid: no allowed configuration in "
                         f"{MAX_REDRAWS} random draws (the [[forbid]] tables exclude nearly "
                         f"the whole space)")

    @staticmethod
    def _check_index(index: int) -> None:
        if index < 0:
            raise ValueError(f"index must be >= 0 (got {index})")
