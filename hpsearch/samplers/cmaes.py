"""CMA-ES on the unit cube, with the ``cmaes`` package (the one Optuna's CmaEsSampler uses).

Optuna's CmaEsSampler keeps its search distribution in the system attributes of the trials it
proposed; our trials live in our database, so instead the distribution is *replayed* from the
round's completed trials: in trial-number order, every full batch of ``popsize`` trials is one
generation told to ``cmaes.CMA`` (start-up Sobol points included: they act as the first
uniform generations). The state after the last full generation is cached (pickled, keyed by the
generations' contents), so a long round costs one ``tell`` per new generation, and the proposal
is ``ask()`` with the random stream reseeded from ``(seed, index)``: the same history and index
give the same point on any machine.

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

from hpsearch.samplers.model import Finished, ModelSampler, derived_seed

__all__ = ["CmaEsSampler"]

SIGMA0 = 1 / 6
"""Initial step size in unit coordinates (Optuna's choice: a sixth of the range)."""


class CmaEsSampler(ModelSampler):
    """CMA-ES replayed from the round's completed trials; see the module docstring."""

    name = "cmaes"

    def __init__(self, space: Any, **kwargs: Any) -> None:
        super().__init__(space, **kwargs)
        self._cache: tuple[tuple[int, ...], bytes] | None = None

    def popsize(self) -> int:
        return 4 + math.floor(3 * math.log(max(self.space.dim, 1)))

    def _points(self, history: list[Finished]) -> list[tuple[Any, float]]:
        import numpy as np

        sign = -1.0 if self._maximize() else 1.0
        names = [p.name for p in self.space.search_params]
        out = []
        for t in history:
            if not t.usable:
                continue
            if any(n in t.params and not self.space.params[n].contains(t.params[n]) for n in names):
                continue  # a value outside this round's box
            u = [0.5 if v is None else v for v in self.space.to_unit(t.params)]
            out.append((np.clip(np.array(u, dtype=float), 0.0, 1.0), sign * float(t.value)))
        return out

    def _optimizer(self, points: list[tuple[Any, float]]) -> Any:
        import numpy as np
        from cmaes import CMA

        pop = self.popsize()
        gens = [points[i:i + pop] for i in range(0, len(points) - pop + 1, pop)]
        keys = tuple(hash(tuple((tuple(x.tolist()), f) for x, f in g)) for g in gens)
        start = 0
        opt = None
        if self._cache is not None and keys[:len(self._cache[0])] == self._cache[0]:
            start, opt = len(self._cache[0]), pickle.loads(self._cache[1])
        if opt is None:
            dim = self.space.dim
            opt = CMA(mean=np.full(dim, 0.5), sigma=SIGMA0, seed=self.seed,
                      bounds=np.array([[0.0, 1.0]] * dim), population_size=pop)
        for g in gens[start:]:
            opt.tell(g)
        if len(keys) > start or self._cache is None:
            self._cache = (keys, pickle.dumps(opt))
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
