"""The one contract every sampler implements: ``proposal(index, history) -> Proposal``.

A sampler is a pure function of ``(space, seed, index, history)``: the ``index``-th proposal of
a round is the same on every machine and in every process, whatever ran before, so a resumed or
distributed study proposes exactly what a single uninterrupted run would have. ``history`` is
the round's :class:`~hpsearch.storage.RoundHistory` (its finished trials and the params of its
running ones); index samplers (:class:`IndexSampler`: random, Sobol, grid) ignore it and say so
with ``uses_history = False``, so the claim does not read it for them; model samplers
(:class:`~hpsearch.samplers.model.ModelSampler`) learn from it.

Index samplers propose points of the unit cube; the space turns them into configurations. A
point that the space's ``[[forbid]]`` rules forbid is replaced by a redraw keyed by
``(seed, index)`` (random, Sobol) or left out (grid). Samplers never see scales (log, 1-x,
integer rounding, choice cells): :class:`~hpsearch.space.Space` owns them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from hpsearch.errors import SpaceError, StudyError
from hpsearch.space import Space
from hpsearch.storage.records import Proposal, RoundHistory

__all__ = ["Sampler", "IndexSampler", "Proposal", "MAX_REDRAWS", "check_seed", "redraw"]

MAX_REDRAWS = 10_000
"""Random draws for an allowed configuration before the space is declared all forbidden."""


def check_seed(seed: Any) -> int:
    """``seed``, refused unless it is a non-negative integer."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise SpaceError(f"seed must be a non-negative integer (got {seed!r})")
    return seed


def redraw(space: Space, rng: Any) -> list[float]:
    """Uniform unit points from ``rng`` until one whose configuration ``space.forbid`` allows;
    raises :class:`SpaceError` after :data:`MAX_REDRAWS` draws."""
    forbid = space.forbid
    for _ in range(MAX_REDRAWS):
        u = rng.random(space.dim).tolist()
        if not forbid or not forbid.is_forbidden(space.from_unit(u)):
            return u
    raise SpaceError(f"{space.source}: forbid: no allowed configuration in {MAX_REDRAWS} "
                     f"random draws (the [[forbid]] tables exclude nearly the whole space)")


class Sampler(ABC):
    """Base class of every sampler (see the module docstring).

    Parameters
    ----------
    space:
        The round's space.
    seed:
        The study's (or round's) seed, a non-negative integer.
    """

    name: ClassVar[str] = ""
    size: int | None = None  # number of distinct points; None = unbounded
    #: Whether :meth:`proposal` reads ``history`` (the claim reads it only then).
    uses_history: ClassVar[bool] = False

    def __init__(self, space: Space, *, seed: int) -> None:
        self.space = space
        self.seed = check_seed(seed)

    @abstractmethod
    def proposal(self, index: int, history: RoundHistory | None = None) -> Proposal:
        """The configuration for the round's sample ``index`` and what proposed it."""


class IndexSampler(Sampler):
    """A sampler of the index alone: ``unit(index)`` is the index-th point of the round
    (0-based), or None when exhausted."""

    @abstractmethod
    def unit(self, index: int) -> list[float] | None:
        """The index-th unit vector (length ``space.dim``), or None when exhausted."""

    def propose(self, index: int) -> dict[str, Any] | None:
        """The index-th configuration, or None when the sampler is exhausted."""
        u = self.unit(index)
        return None if u is None else self.space.from_unit(u)

    def proposal(self, index: int, history: RoundHistory | None = None) -> Proposal:
        config = self.propose(index)
        if config is None:  # cannot happen below the round's limit; guards a grid that shrank
            raise StudyError(f"the {self.name} sampler has no point {index}")
        return Proposal(config, self.name)

    def _allowed(self, u: list[float], index: int) -> list[float]:
        """``u``, or when ``space.forbid`` forbids its configuration, a uniform redraw from a
        stream of its own keyed by ``(seed, index)``: the same seed gives the same proposals,
        and a space without ``[[forbid]]`` is sampled exactly as before."""
        forbid = self.space.forbid
        if not forbid or not forbid.is_forbidden(self.space.from_unit(u)):
            return u
        import numpy as np

        return redraw(self.space, np.random.default_rng([self.seed, index, 1]))

    @staticmethod
    def _check_index(index: int) -> None:
        if index < 0:
            raise ValueError(f"index must be >= 0 (got {index})")
