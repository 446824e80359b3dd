"""Parameter importance: which parameters decided how good a trial was.

Computed by Optuna's PED-ANOVA (``optuna.importance.PedAnovaImportanceEvaluator``, with the
conditional extension of Watanabe et al.), fed from plain trial records: each trial becomes an
in-memory ``optuna.trial.create_trial`` whose distributions come from the space's parameter types,
so log parameters are judged on their log scale, ``log_one_minus`` on a log scale of 1-x, choices
as categories. A conditional parameter that was inactive is simply absent from the trial, and
PED-ANOVA treats "active" and "inactive" as separate regimes.

Why PED-ANOVA and not fANOVA: fANOVA fits a random forest (some thousand times slower than
PED-ANOVA on the same study), and Optuna's fANOVA only judges parameters present in *every*
trial, so conditional parameters drop out. PED-ANOVA is a closed form over Parzen estimates: it
answers "which parameters does the top 10 % differ in from the rest", is linear in the number of
trials, and keeps conditional parameters. Above ``max_trials`` (default 5,000) trials a seeded
random subsample is used: the quantile statistics it relies on are stable well below that.

optuna is imported inside :func:`param_importance` (``pip install 'hpsearch[report]'``), and
``optuna.importance`` without scikit-learn (see :func:`_ped_anova`): PED-ANOVA needs neither it
nor scipy, which optuna's fANOVA pulls in for 90 MB and most of a second at import.
"""

from __future__ import annotations

import math
import random
import sys
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

from hpsearch.errors import ConfigError

__all__ = ["param_importance", "objective_importance", "DEFAULT_MAX_TRIALS"]

DEFAULT_MAX_TRIALS = 5000


def param_importance(
    space: Any,
    trials: Sequence[tuple[Mapping[str, Any], float | None]],
    *,
    direction: str = "minimize",
    max_trials: int | None = DEFAULT_MAX_TRIALS,
    target_quantile: float = 0.1,
    seed: int = 0,
) -> list[tuple[str, float]]:
    """Importance of each searchable parameter, most important first (values sum to 1).

    Parameters
    ----------
    space
        A :class:`hpsearch.space.Space` or a mapping ``name -> Param`` (``.params`` is used when
        present). Fixed parameters are skipped.
    trials
        ``(params, value)`` of finished trials; trials without a finite value are ignored.
    direction
        ``"maximize"`` or ``"minimize"``.
    max_trials
        Above this many usable trials, a seeded random subsample of this size is evaluated
        (None: all).
    target_quantile
        PED-ANOVA's gamma': importance of reaching the top ``target_quantile`` of values.
    seed
        Seed of the subsample; the result is deterministic for a given input.

    Returns
    -------
    list of (name, importance)
        Every searchable parameter of the space, ordered by importance, then by space order.
        Empty when fewer than 2 usable trials exist.
    """
    try:
        import optuna

        PedAnovaImportanceEvaluator, get_param_importances = _ped_anova()
    except ImportError as exc:
        raise ConfigError("parameter importance needs optuna: pip install 'hpsearch[report]'") from exc

    params = _search_params(space)
    usable = [(p, float(v)) for p, v in trials
              if v is not None and isinstance(v, (int, float)) and math.isfinite(v)]
    if len(usable) < 2 or not params:
        return []
    if max_trials is not None and len(usable) > max_trials:
        usable = random.Random(seed).sample(usable, max_trials)

    dists = _distributions(params, usable)
    frozen = []
    for config, value in usable:
        values, used = {}, {}
        for name, (dist, to_internal) in dists.items():
            if name in config:
                v = to_internal(config[name])
                if v is not None:
                    values[name], used[name] = v, dist
        frozen.append(optuna.trial.create_trial(params=values, distributions=used, value=value))

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # experimental / few-trials-in-a-regime notes
            study = optuna.create_study(
                direction="maximize" if direction == "maximize" else "minimize")
            study.add_trials(frozen)
            names = [n for n in dists if any(n in t.params for t in frozen)]
            evaluator = PedAnovaImportanceEvaluator(target_quantile=target_quantile)
            raw = get_param_importances(
                study, evaluator=evaluator, params=names, normalize=True)
    finally:
        optuna.logging.set_verbosity(verbosity)
    order = {n: i for i, n in enumerate(dists)}
    scores = {n: float(raw.get(n, 0.0)) for n in dists}
    return sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]]))


def objective_importance(space: Any, trials: Sequence[Any], objectives: Any, *,
                         max_trials: int | None = DEFAULT_MAX_TRIALS, seed: int = 0,
                         ) -> list[tuple[str, str, list[tuple[str, float]]]]:
    """:func:`param_importance` of each objective of a study with several: ``(metric,
    direction, ranking)`` in the study's order.

    ``trials`` are trial records (``state``, ``params``, ``values``, ``value``, ``metrics``);
    ``objectives`` an :class:`~hpsearch.space.objectives.Objectives`. Each objective is judged
    over the complete trials with a finite value of it, infeasible ones included (they still
    show how the parameters move that objective), as one objective's importance is over its
    complete trials.
    """
    out = []
    for i, (metric, direction) in enumerate(zip(objectives.metrics, objectives.directions)):
        pairs = [(t.params, _objective_value(t, i, metric)) for t in trials
                 if t.state == "complete"]
        out.append((metric, direction, param_importance(space, pairs, direction=direction,
                                                        max_trials=max_trials, seed=seed)))
    return out


def _objective_value(trial: Any, i: int, metric: str) -> Any:
    """A trial's value of objective ``i`` (stored values, else the value for the first
    objective, else its reported metrics); None when it has none."""
    if trial.values and metric in trial.values:
        return trial.values[metric]
    if i == 0 and trial.value is not None:
        return trial.value
    return (trial.metrics or {}).get(metric)


def _ped_anova() -> tuple[Any, Any]:
    """``(PedAnovaImportanceEvaluator, get_param_importances)`` from ``optuna.importance``.

    Importing ``optuna.importance`` imports its fANOVA, which imports scikit-learn and scipy
    (90 MB resident, most of a second): PED-ANOVA uses neither. When this process has imported
    neither sklearn nor ``optuna.importance`` yet, the import is made with sklearn hidden
    (optuna's fANOVA then only records that sklearn is missing), and forgotten afterwards: a
    later ``import optuna.importance`` here (fANOVA included) imports it afresh, sklearn and all.
    """
    import optuna

    if "sklearn" in sys.modules or "optuna.importance" in sys.modules:
        from optuna.importance import PedAnovaImportanceEvaluator, get_param_importances

        return PedAnovaImportanceEvaluator, get_param_importances
    lazy = optuna.__dict__.get("importance")
    sys.modules["sklearn"] = None  # type: ignore[assignment]  # `import sklearn` -> ImportError
    try:
        from optuna.importance import PedAnovaImportanceEvaluator, get_param_importances
    finally:
        del sys.modules["sklearn"]
        for name in [m for m in sys.modules
                     if m == "optuna.importance" or m.startswith("optuna.importance.")]:
            del sys.modules[name]
        if lazy is not None:
            optuna.importance = lazy  # optuna's lazy module again: a later use imports afresh
    return PedAnovaImportanceEvaluator, get_param_importances


def _search_params(space: Any) -> list[Any]:
    params = getattr(space, "params", space)
    if isinstance(params, Mapping):
        params = list(params.values())
    return [p for p in params if getattr(p, "searchable", True) and p.kind != "fixed"]


def _distributions(params: Sequence[Any], usable: Sequence[tuple[Mapping[str, Any], float]],
                   ) -> dict[str, tuple[BaseDistribution, Callable[[Any], Any]]]:
    """``name -> (optuna distribution, value -> internal value or None)`` for each parameter.

    Bounds are widened to what the trials hold (a space edited between runs may leave values
    outside the current bounds); a value of the wrong type is treated as absent.
    """
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out: dict[str, tuple[BaseDistribution, Callable[[Any], Any]]] = {}
    for p in params:
        seen = [c[p.name] for c, _ in usable if p.name in c]
        if p.kind == "choice":
            choices = list(p.values)
            for v in seen:
                if not any(_same(v, c) for c in choices):
                    choices.append(v)
            keys = [_category_key(c) for c in choices]
            dist = CategoricalDistribution(keys)
            out[p.name] = (dist, _category_key)
            continue
        nums = [float(v) for v in seen if _is_num(v)]
        if p.kind == "log_one_minus":
            lo = min([1 - p.high, *(1 - v for v in nums if v < 1)])
            hi = max([1 - p.low, *(1 - v for v in nums if v < 1)])
            out[p.name] = (FloatDistribution(lo, max(hi, lo * 1.0001), log=True),
                           lambda v: 1 - float(v) if _is_num(v) and v < 1 else None)
            continue
        lo, hi = min([p.low, *nums]), max([p.high, *nums])
        is_log = p.kind == "log_uniform" or bool(getattr(p, "log", False))
        if p.kind == "int":
            out[p.name] = (IntDistribution(int(lo), int(hi), log=is_log and lo > 0),
                           lambda v: int(v) if _is_num(v) and float(v).is_integer() else None)
        else:
            # No ``step``: refine rounds and edited spaces may hold values off the file's grid.
            log_ok = is_log and lo > 0
            out[p.name] = (FloatDistribution(lo, hi, log=log_ok), _to_float(positive=log_ok))
    return out


def _to_float(*, positive: bool) -> Callable[[Any], float | None]:
    """A float parameter's value as a float, or None (not a number; not > 0 on a log scale)."""
    return lambda v: float(v) if _is_num(v) and (not positive or v > 0) else None


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _category_key(v: Any) -> Any:
    """Optuna's choices must be None/bool/int/float/str; anything else by its text."""
    return v if v is None or isinstance(v, (bool, int, float, str)) else str(v)
