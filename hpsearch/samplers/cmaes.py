"""CMA-ES on the unit cube, with the ``cmaes`` package (the one Optuna's CmaEsSampler uses).

Optuna's CmaEsSampler keeps its search distribution in the system attributes of the trials it
proposed; our trials live in our database, so instead the distribution is *replayed* from the
round's completed trials: in trial-number order, every full batch of ``popsize`` trials is one
generation told to ``cmaes.CMA`` (start-up Sobol points included: they act as the first
uniform generations). The state after each full generation is cached (pickled, with the
generations' points it was told), so a long round costs one ``tell`` per new generation (a
trial that finished out of number order: one per generation from its own on), and the
proposal is ``ask()`` with the random stream reseeded from ``(seed, index)``: the same history
and index give the same point on any machine.

Every searchable coordinate is a CMA dimension, minimising (the value is negated for
``maximize``); a choice is then an ordered set of cells, which suits numeric spaces only, so
``auto`` uses CMA-ES only there. Running trials are not given to CMA-ES (it has no notion of
pending points); workers still differ because each index has its own stream.

Several objectives, or constraints: CMA-ES only needs each generation ranked, so a generation
is told its members' places in NSGA-II's order: feasible before infeasible, then the front rank
(:func:`hpsearch.pareto.front_ranks`, each objective in its own direction), then the larger
crowding distance within that front. Ranks and distances are computed over the points known
when the generation completed (the round's complete trials up to its last member, in number
order), so a generation's fitness never changes afterwards and the cached replay stays exact.
Infeasible members are ranked among the infeasible points the same way: only the verdict is
stored, not by how much a constraint broke (so not "least violation first"). One search
distribution moves toward its best-ranked members, and the crowding distance only orders
members within one front (its ends first), so as its step size shrinks CMA-ES closes in on
one region of the front rather than spreading along it; ``nsga2`` and ``tpe`` keep a
population or a model of the whole front (benchmarks/README.md gives its hypervolume beside
theirs).
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Mapping, Sequence
from typing import Any

from hpsearch.samplers.model import Finished, ModelSampler, content_key, derived_seed

__all__ = ["CmaEsSampler", "generation_fitness"]

SIGMA0 = 1 / 6
"""Initial step size in unit coordinates (Optuna's choice: a sixth of the range)."""

#: A told point: its unit coordinates and what ranks it: a value to minimise (one objective),
#: or every objective's value and the constraint verdict (several objectives or constraints).
Point = tuple[tuple[float, ...], Any]


def generation_fitness(known: Sequence[tuple[Sequence[float], bool]], members: int,
                       maximize: Sequence[bool]) -> list[float]:
    """Fitness values (lower is better) for the last ``members`` of ``known`` points: their
    places in NSGA-II's order among all ``known`` ones (``(vector, feasible)`` each): feasible
    first, then front rank, then the larger crowding distance within the front. Tied members
    share a place."""
    from hpsearch.pareto import crowding_distance, front_ranks

    keys: dict[int, tuple[int, int, float]] = {}
    first = len(known) - members
    for group, feasible in enumerate((True, False)):
        idx = [i for i, (_, ok) in enumerate(known) if ok is feasible]
        if not any(i >= first for i in idx):
            continue
        vectors = [known[i][0] for i in idx]
        ranks = front_ranks(vectors, maximize)
        for rank in {ranks[j] for j, i in enumerate(idx) if i >= first}:
            front = [j for j in range(len(idx)) if ranks[j] == rank]
            crowd = crowding_distance([vectors[j] for j in front], maximize)
            for j, d in zip(front, crowd):
                if idx[j] >= first:
                    keys[idx[j]] = (group, rank, -d)
    order = sorted(set(keys.values()))
    place = {k: float(p) for p, k in enumerate(order)}
    return [place[keys[i]] for i in range(first, len(known))]


class CmaEsSampler(ModelSampler):
    """CMA-ES replayed from the round's completed trials; see the module docstring."""

    name = "cmaes"
    ranks_objectives = True

    def __init__(self, space: Any, **kwargs: Any) -> None:
        super().__init__(space, **kwargs)
        #: The generations last told (their points) and the state after each (pickled).
        self._told: list[Point] = []
        self._states: list[bytes] = []
        self._converted: dict[tuple[Any, ...], Any] = {}
        objectives = getattr(space, "objectives", None)
        #: Several objectives or constraints: generations are ranked (generation_fitness).
        self._ranked = objectives is not None and bool(objectives.multi or objectives.constraints)
        self._metrics: tuple[str, ...] = objectives.metrics if objectives is not None else ()
        self._maximizes: tuple[bool, ...] = objectives.maximize if objectives is not None else ()

    def popsize(self) -> int:
        return 4 + math.floor(3 * math.log(max(self.space.dim, 1)))

    def _points(self, history: list[Finished]) -> list[Point]:
        converted: dict[tuple[Any, ...], Any] = {}
        out = []
        for i, t in enumerate(history):
            if not t.usable:
                continue
            # One conversion per trial, cached by position and content: an unchanged history
            # gives back the same objects, so the generations below compare at identity speed.
            key = (i, t.value, t.feasible, None if t.values is None else tuple(t.values.items()),
                   content_key(t.params))
            point = self._converted[key] if key in self._converted else self._point(t)
            converted[key] = point
            if point is not None:
                out.append(point)
        self._converted = converted
        return out

    def _point(self, t: Finished) -> Point | None:
        # Plain tuples (not arrays), so that points compare by value.
        names = [p.name for p in self.space.search_params]
        if any(n in t.params and not self.space.params[n].contains(t.params[n]) for n in names):
            return None  # a value outside this round's box
        u = tuple(min(max(0.5 if v is None else float(v), 0.0), 1.0)
                  for v in self.space.to_unit(t.params))
        if self._ranked:
            from hpsearch.samplers.multi import vector_of

            vector = vector_of(t, self._metrics)
            return None if vector is None else (u, (tuple(vector), t.feasible is not False))
        sign = -1.0 if self._maximize() else 1.0
        return (u, sign * float(t.value or 0.0))  # usable: a finite value

    def _fitness(self, told: list[Point], end: int, pop: int) -> list[float]:
        """The values told for the generation ``told[end - pop:end]``."""
        if not self._ranked:
            return [f for _, f in told[end - pop:end]]
        return generation_fitness([p[1] for p in told[:end]], pop, self._maximizes)

    def _optimizer(self, points: list[Point]) -> Any:
        import numpy as np
        from cmaes import CMA

        pop = self.popsize()
        told = points[:len(points) - len(points) % pop]  # the full generations
        # Resume after the last generation this history shares with the cached one: a trial
        # that finished out of number order changes the generations from its own on only.
        same = 0
        while (same < len(self._states) and (same + 1) * pop <= len(told)
               and told[same * pop:(same + 1) * pop] == self._told[same * pop:(same + 1) * pop]):
            same += 1
        states = self._states[:same]
        if same:
            opt = pickle.loads(states[-1])
        else:
            dim = self.space.dim
            opt = CMA(mean=np.full(dim, 0.5), sigma=SIGMA0, seed=self.seed,
                      bounds=np.array([[0.0, 1.0]] * dim), population_size=pop)
        for g in range(same * pop, len(told), pop):
            fitness = self._fitness(told, g + pop, pop)
            opt.tell([(np.array(x, dtype=float), f)
                      for (x, _), f in zip(told[g:g + pop], fitness)])
            # Through pickle after every generation, cached or not: pickling keeps one triangle
            # of the covariance, so a state that had been through it would differ from a fresh
            # replay in the last bits (and the same history must give the same proposal).
            states.append(pickle.dumps(opt))
            opt = pickle.loads(states[-1])
        self._told, self._states = told, states
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
