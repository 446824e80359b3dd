"""Model samplers for several objectives and constraints on outputs.

A space with more than one objective (``[study] metric = [...]``) or with ``[[constraint]]``
tables gets these in place of tpe, gp and auto (:func:`hpsearch.samplers.make_sampler` swaps
them); ``nsga2`` is always this module's. Each is Optuna's own multi-objective sampler on an
in-memory study rebuilt per proposal, exactly as the single-objective ones are
(:class:`~hpsearch.samplers.model.OptunaModelSampler`: same seed, history and index, same
proposal; running trials are pending; forbidden proposals are told as the worst vector and the
model asked again)::

    tpe     Optuna's TPE on several objectives (Optuna's default for them), univariate as
            Optuna's default (it measured better than the multivariate one here), constant liar
    gp      Optuna's GPSampler: log expected hypervolume improvement; with constraints, its
            constrained variant (seconds per proposal: small budgets of costly trials)
    auto    one objective's rule over these tpe and gp: GP's turns only where trials are
            slow enough to pay for them, else tpe (Optuna 5's rule); see MultiAutoSampler
    nsga2   Optuna's NSGA-II (population 50): for budgets of many hundreds of trials
    cmaes   not swapped: :mod:`hpsearch.samplers.cmaes` ranks each generation in NSGA-II's
            order itself (it converges toward one region of the front)

Every complete trial is told with every objective's value; an infeasible one (it broke a
constraint) with its constraint verdict (Optuna's ``constraints`` system attribute: 1.0 broken,
0.0 kept), so each sampler steers towards the feasible region (TPE and NSGA-II rank infeasible
trials last, GP models the probability of feasibility). A complete trial without every
objective's value (stored before schema 3) is told as failed. Only the verdict is stored, not
by how much a constraint broke, so the models see 1.0 for every violation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from hpsearch.errors import SpaceError
from hpsearch.samplers.auto import AutoSampler
from hpsearch.samplers.model import Finished, OptunaModelSampler, content_key

__all__ = ["MultiTPESampler", "MultiGPSampler", "MultiAutoSampler", "NSGA2Sampler",
           "MULTI_SAMPLERS", "vector_of", "NSGA2_POPULATION"]

#: NSGA-II's population: a new generation every 50 completed trials (Optuna's default).
NSGA2_POPULATION = 50
_CONSTRAINTS_KEY = "constraints"  # optuna.study._constrained_optimization._CONSTRAINTS_KEY


def vector_of(trial: Finished, metrics: Sequence[str]) -> list[float] | None:
    """A complete trial's value of every objective, or None (not complete, or a value missing
    or not finite)."""
    if trial.state != "complete":
        return None
    values = getattr(trial, "values", None) or {}
    out = []
    for i, m in enumerate(metrics):
        v = values.get(m, trial.value if i == 0 else None)
        if v is None or isinstance(v, bool) or not math.isfinite(v):
            return None
        out.append(float(v))
    return out


def _no_constraint_info(trial: Any) -> Sequence[float]:
    # Called by Optuna only for trials told in the study (forbidden proposals, told as the
    # worst vector): they broke no constraint. The round's trials carry their verdict.
    return trial.system_attrs.get(_CONSTRAINTS_KEY, (0.0,))


class _MultiObjective(OptunaModelSampler):
    """An Optuna sampler on a study with the space's directions, told every objective's value
    and the constraint verdict of each complete trial."""

    def __init__(self, space: Any, **kwargs: Any) -> None:
        super().__init__(space, **kwargs)
        objectives = space.objectives
        self.metrics = objectives.metrics
        self.directions = objectives.directions
        self.constrained = bool(objectives.constraints)

    def _constraints_func(self) -> Any:
        return _no_constraint_info if self.constrained else None

    def _study(self, history: list[Finished], pending: list[Mapping[str, Any]], seed: int) -> Any:
        import optuna

        from hpsearch.samplers.shared import add_trials

        if self._coords is None:
            from hpsearch.samplers.coords import Coordinates

            self._coords = Coordinates(self.space)
        storage = optuna.storages.InMemoryStorage()
        study = optuna.create_study(directions=list(self.directions), storage=storage,
                                    sampler=self._optuna_sampler(seed))
        study_id = storage.get_study_id_from_name(study.study_name)
        frozen: dict[tuple[Any, ...], Any] = {}
        complete = 0
        trials = []
        for i, h in enumerate(history):
            vector = vector_of(h, self.metrics)
            converted = self._frozen_mo(i, h, vector, complete, frozen)
            if vector is not None:
                complete += 1
            if converted is not None:
                trials.append(converted)
        add_trials(storage, study_id, trials)
        self._frozen = frozen
        study.add_trials([t for t in (self._running_trial(p) for p in pending) if t])
        return study

    def _frozen_mo(self, i: int, trial: Finished, vector: list[float] | None, complete: int,
                   frozen: dict[tuple[Any, ...], Any]) -> Any:
        feasible = getattr(trial, "feasible", None)
        key = (i, trial.state, None if vector is None else tuple(vector), feasible,
               self._generation(complete) if vector is not None else None,
               content_key(trial.params))
        converted = self._frozen[key] if key in self._frozen else \
            self._convert_mo(trial, vector, feasible, complete)
        frozen[key] = converted
        return converted

    def _generation(self, complete: int) -> int | None:
        """The GA generation of the ``complete``-th complete trial (None: not a GA sampler)."""
        return None

    def _convert_mo(self, trial: Finished, vector: list[float] | None, feasible: bool | None,
                    complete: int) -> Any:
        from optuna.trial import TrialState, create_trial

        from hpsearch.samplers.shared import shared

        mapped = self._coords.optuna_params(trial.params)
        if mapped is None:
            return None
        params, dists = mapped
        if vector is None:
            state = TrialState.PRUNED if trial.state == "pruned" else TrialState.FAIL
            return shared(create_trial(state=state, params=params, distributions=dists))
        attrs: dict[str, Any] = {}
        if self.constrained:
            attrs[_CONSTRAINTS_KEY] = (1.0 if feasible is False else 0.0,)
        generation = self._generation(complete)
        if generation is not None:
            attrs[self._generation_key()] = generation
        return shared(create_trial(state=TrialState.COMPLETE, values=vector, params=params,
                                   distributions=dists, system_attrs=attrs))

    def _generation_key(self) -> str:
        return ""

    def _worst(self, history: Sequence[Finished]) -> Any:  # type: ignore[override]
        vectors = [v for v in (vector_of(t, self.metrics) for t in history) if v is not None]
        if not vectors:
            return [0.0] * len(self.metrics)
        return [min(col) if d == "maximize" else max(col)
                for col, d in zip(zip(*vectors), self.directions)]


class MultiTPESampler(_MultiObjective):
    """Optuna's TPE on several objectives, with constraints."""

    name = "tpe"

    def _optuna_sampler(self, seed: int) -> Any:
        import warnings

        from optuna.samplers import TPESampler as OptunaTPE

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Univariate, as Optuna's default for several objectives: on the two-objective
            # benchmark's design seeds it reached a higher median hypervolume at 100 trials than
            # the multivariate, grouped TPE that serves one objective (benchmarks/README.md). The constant liar spreads parallel proposals.
            return OptunaTPE(seed=seed, n_startup_trials=0, constant_liar=True,
                             constraints_func=self._constraints_func())


class MultiGPSampler(_MultiObjective):
    """Optuna's GPSampler on several objectives (log EHVI), with constraints."""

    name = "gp"

    def _optuna_sampler(self, seed: int) -> Any:
        import warnings

        from optuna.samplers import GPSampler as OptunaGP

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return OptunaGP(seed=seed, n_startup_trials=0, warn_independent_sampling=False,
                            constraints_func=self._constraints_func())


class NSGA2Sampler(_MultiObjective):
    """Optuna's NSGA-II: generations of :data:`NSGA2_POPULATION` complete trials in number
    order (recomputed from the history, so any worker proposes from the same generations)."""

    name = "nsga2"

    def _optuna_sampler(self, seed: int) -> Any:
        import warnings

        from optuna.samplers import NSGAIISampler

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return NSGAIISampler(seed=seed, population_size=NSGA2_POPULATION,
                                 constraints_func=self._constraints_func())

    def _generation(self, complete: int) -> int | None:
        return complete // NSGA2_POPULATION

    def _generation_key(self) -> str:
        from optuna.samplers import NSGAIISampler

        return NSGAIISampler._get_generation_key()


class MultiAutoSampler(AutoSampler):
    """auto on several objectives: the rule of one objective (:func:`hpsearch.samplers.auto.
    pick`) over this module's TPE and GP. Where trials take a second or more, GP (log EHVI,
    about half a second of CPU a proposal at 50 trials of 8 parameters) takes every other
    turn; where they are instant, TPE alone, which is Optuna 5's rule for several objectives.
    Measured on the digits trade-off (benchmarks/README.md, "Other rules for auto"): the turns
    were ahead of Optuna's TPE on 29 and 27 of 40 fresh seeds at 50 and 100 trials, and of TPE
    alone on 62 and 59 of 100 seeds."""

    models: ClassVar[dict[str, type[Any]]] = {"tpe": MultiTPESampler, "gp": MultiGPSampler}


MULTI_SAMPLERS: dict[str, type[Any]] = {
    "tpe": MultiTPESampler, "gp": MultiGPSampler, "auto": MultiAutoSampler,
    "nsga2": NSGA2Sampler,
}
"""The samplers :func:`~hpsearch.samplers.make_sampler` uses for a space with several
objectives or constraints (random, sobol and grid stay as they are, and cmaes: it ranks its
generations itself)."""


def multi_sampler(name: str, cls: type[Any], space: Any) -> type[Any]:
    """The class to use for sampler ``name`` on ``space``: this module's for several
    objectives or constraints, ``cls`` otherwise; SpaceError for a model sampler without a
    multi-objective form (every built-in one has one)."""
    if name == "nsga2":
        return NSGA2Sampler
    objectives = getattr(space, "objectives", None)
    if not getattr(cls, "uses_history", False) or cls.ranks_objectives or objectives is None \
            or not (objectives.multi or objectives.constraints):
        return cls
    if name not in MULTI_SAMPLERS:
        raise SpaceError(f"{space.source}: study.sampler: {name} optimises one objective "
                         f"without constraints; with several objectives or [[constraint]] use "
                         f"tpe, gp, cmaes, auto or nsga2 (or random, sobol, grid)")
    return MULTI_SAMPLERS[name]
