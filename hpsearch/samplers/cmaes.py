"""CMA-ES on the unit cube, with the ``cmaes`` package (the one Optuna's CmaEsSampler uses).

Optuna's CmaEsSampler keeps its search distribution in the system attributes of the trials it
proposed; our trials live in our database, so instead the distribution is *replayed* from the
round's completed trials: in trial-number order, every full batch of ``popsize`` trials is one
generation told to ``cmaes.CMA`` (start-up Sobol points included: they act as the first
uniform generations). The state after the last full generation is cached (pickled, with the
generations' points it was told), so a long round costs one ``tell`` per new generation, and the
proposal is ``ask()`` with the random stream reseeded from ``(seed, index)``: the same history
and index give the same point on any machine.

Every searchable coordinate is a CMA dimension, minimising (the value is negated for
``maximize``); a choice is then an ordered set of cells, which suits numeric spaces only, so
``auto`` uses CMA-ES only there. Running trials are not given to CMA-ES (it has no notion of
pending points); workers still differ because each index has its own stream.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Mapping
from typing import Any

from hpsearch.samplers.model import Finished, ModelSampler, content_key, derived_seed

__all__ = ["CmaEsSampler"]

SIGMA0 = 1 / 6
"""Initial step size in unit coordinates (Optuna's choice: a sixth of the range)."""


class CmaEsSampler(ModelSampler):
    """CMA-ES replayed from the round's completed trials; see the module docstring."""

    name = "cmaes"

    def __init__(self, space: Any, **kwargs: Any) -> None:
        super().__init__(space, **kwargs)
        self._cache: tuple[list[Any], bytes] | None = None
        self._converted: dict[tuple[Any, ...], Any] = {}

    def popsize(self) -> int:
        return 4 + math.floor(3 * math.log(max(self.space.dim, 1)))

    def _points(self, history: list[Finished]) -> list[tuple[tuple[float, ...], float]]:
        converted: dict[tuple[Any, ...], Any] = {}
        out = []
        for i, t in enumerate(history):
            if not t.usable:
                continue
            # One conversion per trial, cached by position and content: an unchanged history
            # gives back the same objects, so the generations below compare at identity speed.
            key = (i, t.value, content_key(t.params))
            point = self._converted[key] if key in self._converted else self._point(t)
            converted[key] = point
            if point is not None:
                out.append(point)
        self._converted = converted
        return out

    def _point(self, t: Finished) -> tuple[tuple[float, ...], float] | None:
        # Plain tuples (not arrays), so that points compare by value.
        names = [p.name for p in self.space.search_params]
        if any(n in t.params and not self.space.params[n].contains(t.params[n]) for n in names):
            return None  # a value outside this round's box
        sign = -1.0 if self._maximize() else 1.0
        u = tuple(min(max(0.5 if v is None else float(v), 0.0), 1.0)
                  for v in self.space.to_unit(t.params))
        return (u, sign * float(t.value or 0.0))  # usable: a finite value

    def _optimizer(self, points: list[tuple[tuple[float, ...], float]]) -> Any:
        import numpy as np
        from cmaes import CMA

        pop = self.popsize()
        told = points[:len(points) - len(points) % pop]  # the full generations
        start = 0
        opt = None
        if self._cache is not None and told[:len(self._cache[0])] == self._cache[0]:
            start, opt = len(self._cache[0]), pickle.loads(self._cache[1])
        if opt is None:
            dim = self.space.dim
            opt = CMA(mean=np.full(dim, 0.5), sigma=SIGMA0, seed=self.seed,
                      bounds=np.array([[0.0, 1.0]] * dim), population_size=pop)
        state = None
        for g in range(start, len(told), pop):
            opt.tell([(np.array(x, dtype=float), f) for x, f in told[g:g + pop]])
            # Through pickle after every generation, cached or not: pickling keeps one triangle
            # of the covariance, so a state that had been through it would differ from a fresh
            # replay in the last bits (and the same history must give the same proposal).
            state = pickle.dumps(opt)
            opt = pickle.loads(state)
        if state is not None or self._cache is None:
            self._cache = (told, state if state is not None else pickle.dumps(opt))
        return opt

    def propose_model(self, history: list[Finished], pending: list[Mapping[str, Any]],
                 index: int) -> dict[str, Any] | None:
        opt = self._optimizer(self._points(history))
        opt.reseed_rng(derived_seed(self.seed, index))
        for _ in range(self.max_retries + 1):
            config = self.space.from_unit(opt.ask().tolist())
            if not self.forbid or not self.forbid.is_forbidden(config):
                return config
        return None
