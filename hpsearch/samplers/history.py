"""Samplers that remember: earlier trials for a model, finished work never proposed again.

Three wrappers around a sampler of :data:`~hpsearch.samplers.SAMPLERS`, each a pure function
of (seed, index, what it was given), so determinism holds as for the samplers themselves::

    WithPrior(model, prior)        a model sampler that learns from ``prior`` (earlier trials
                                   mapped into this round's space: hpsearch.space.carry) before
                                   the round's own; its Sobol start-up shrinks by the usable
                                   prior trials (none left once there are n_startup of them)
    Deduplicated(random|sobol)     redraws a proposal whose configuration a finished or running
                                   trial of the round already has (spaces where a repeat can
                                   happen: no always-active continuous parameter),
                                   from a stream keyed by (seed, index, attempt); it reads the
                                   round's history, as a model sampler does
    GridWithout(grid, done)        the grid less the points already finished (earlier rounds):
                                   index n is the n-th point not done, ``size`` what remains
    FirstConfigs(sampler, configs) indices 0..K-1 are ``configs`` (warm start's best K, run
                                   again), the sampler's own proposals after them

The run builds them (:mod:`hpsearch.run.history`); the samplers themselves are unchanged. Each
answers the one proposal contract, ``proposal(index, history)`` (what the claim calls), and
keeps its inner sampler's own ``propose`` signature for direct use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from hpsearch.errors import StudyError
from hpsearch.samplers.model import (Finished, Proposal, allowed_random, derived_seed,
                                     history_of)

__all__ = ["WithPrior", "Deduplicated", "GridWithout", "FirstConfigs", "config_key",
           "has_discrete", "MAX_DEDUPE_DRAWS"]

#: Redraws of a duplicate before the duplicate is taken (a space with fewer configurations than
#: trials has to repeat one).
MAX_DEDUPE_DRAWS = 100


def config_key(params: Mapping[str, Any]) -> str:
    """A key equal for equal configurations, whatever the key order (PostgreSQL's JSONB sorts
    keys) and keeping ``1``, ``1.0`` and ``True`` apart."""
    return json.dumps(sorted((k, type(v).__name__, v) for k, v in params.items()), default=str)


def has_discrete(space: Any) -> bool:
    """Whether two uniform draws can give the same configuration: no parameter that is always
    active is continuous (choices, integers and stepped values only, or continuous ones behind
    a condition). Otherwise a repeat has probability zero and the sampler is left alone."""
    return not any(p.kind not in ("choice", "int") and getattr(p, "step", None) is None
                   and not p.when for p in space.search_params)


class _Wrapper:
    """Forwards what the run reads (name, size, space, seed...) to the wrapped sampler."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._views: dict[int, Any] = {}  # history_of's, between proposals

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["inner"], name)


class WithPrior(_Wrapper):
    """A model sampler whose history starts with ``prior`` (:class:`Finished` trials)."""

    uses_history = True

    def __init__(self, inner: Any, prior: Sequence[Finished], *, keep_startup: bool = False
                 ) -> None:
        super().__init__(inner)
        self.prior = list(prior)
        usable = sum(1 for t in self.prior if t.usable)
        # The start-up phase exists to give the model data; prior trials are data. Unless
        # ``keep_startup``: a space that grew needs its new region explored before the model
        # (trained on the old region) takes over.
        if not keep_startup:
            inner.n_startup = max(0, inner.n_startup - usable)

    def propose(self, history: Sequence[Finished], pending: Sequence[Mapping[str, Any]] = (),
                *, index: int) -> Proposal:
        return self.inner.propose([*self.prior, *history], pending, index=index)

    def proposal(self, index: int, history: Any = None) -> Proposal:
        finished, pending = history_of(history, self._views)
        return self.propose(finished, pending, index=index)


class Deduplicated(_Wrapper):
    """A random or Sobol sampler that does not repeat a configuration of the round."""

    uses_history = True

    def __init__(self, inner: Any, *, max_draws: int = MAX_DEDUPE_DRAWS) -> None:
        super().__init__(inner)
        self.max_draws = max_draws
        self.redraws = 0

    def propose(self, history: Sequence[Finished], pending: Sequence[Mapping[str, Any]] = (),
                *, index: int) -> Proposal:
        config = self.inner.propose(index)
        seen = {config_key(t.params) for t in history}
        seen.update(config_key(p) for p in pending)
        space = self.inner.space
        for attempt in range(1, self.max_draws + 1):
            if config is None or config_key(config) not in seen:
                break
            self.redraws += 1
            config = allowed_random(space, space.forbid,
                                    seed=derived_seed(self.inner.seed, index, attempt),
                                    index=index)
        return Proposal(config, self.inner.name)

    def proposal(self, index: int, history: Any = None) -> Proposal:
        finished, pending = history_of(history, self._views)
        return self.propose(finished, pending, index=index)


class GridWithout(_Wrapper):
    """The grid's points less those in ``done`` (configurations, compared by value)."""

    def __init__(self, inner: Any, done: Sequence[Mapping[str, Any]]) -> None:
        super().__init__(inner)
        keys = {config_key(c) for c in done}
        self.points = [p for p in (inner.propose(i) for i in range(inner.size))
                       if config_key(p) not in keys]
        self.skipped = inner.size - len(self.points)
        self.size = len(self.points)

    def propose(self, index: int) -> dict[str, Any] | None:
        return dict(self.points[index]) if index < len(self.points) else None

    def proposal(self, index: int, history: Any = None) -> Proposal:
        config = self.propose(index)
        if config is None:  # cannot happen below the round's limit (``size``)
            raise StudyError(f"the grid has no point {index} left")
        return Proposal(config, self.inner.name)


class FirstConfigs(_Wrapper):
    """``configs`` at indices 0..K-1 (method ``warm-start``), then the sampler's own."""

    def __init__(self, inner: Any, configs: Sequence[Mapping[str, Any]]) -> None:
        super().__init__(inner)
        self.configs = [dict(c) for c in configs]
        if inner.size is not None:
            self.size = inner.size + len(self.configs)

    def propose(self, *args: Any, index: int | None = None) -> Any:
        if index is None:  # an index sampler: propose(index)
            (index,) = args
            if index < len(self.configs):
                return dict(self.configs[index])
            return self.inner.propose(index - len(self.configs))
        if index < len(self.configs):
            return Proposal(dict(self.configs[index]), "warm-start")
        return self.inner.propose(*args, index=index)

    def proposal(self, index: int, history: Any = None) -> Proposal:
        if index < len(self.configs):
            return Proposal(dict(self.configs[index]), "warm-start")
        # A model keeps the round's index (its start-up counts the warm-start trials); an
        # index sampler starts its own sequence after them.
        shift = 0 if self.inner.uses_history else len(self.configs)
        return self.inner.proposal(index - shift, history)
