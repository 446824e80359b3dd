"""Several objectives and constraints on outputs: what a study optimises and what it requires.

``[study] metric``/``direction`` are one string each (one objective, as always) or two lists of
the same length; ``[[constraint]]`` tables bound any reported metric (``min`` and/or ``max``,
inclusive)::

    [study]
    metric = ["val_accuracy", "inference_ms"]
    direction = ["maximize", "minimize"]

    [[constraint]]
    metric = "n_params"
    max = 200000

A trial that breaks a constraint is complete but infeasible: stored with its values, never on
the front, never "best". :func:`trial_values` reads a finished trial's metrics into its
objective values and the constraint verdict; it raises :class:`MissingValue` (the run loop fails
the trial with its message) when an objective or a constrained metric is missing or not a
finite number, as a missing study metric always did.

Standard library only: the run loop, storage readers and reports import it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hpsearch.errors import SpaceError
from hpsearch.space.values import fmt, is_number

__all__ = ["Constraint", "Objectives", "Outcome", "MissingValue", "parse_constraints",
           "trial_values", "objectives_of", "trial_vector", "rank_trials"]

_CONSTRAINT_KEYS = ("metric", "min", "max")


class MissingValue(ValueError):
    """An objective or constrained metric is missing from a trial's result, or not finite."""


@dataclass(frozen=True)
class Constraint:
    """``min <= metric <= max`` (either bound may be None)."""

    metric: str
    min: float | None = None
    max: float | None = None

    def broken_by(self, value: float) -> str | None:
        """Why ``value`` breaks this constraint (``n_params = 250000 > max 200000``), or None."""
        if self.min is not None and value < self.min:
            return f"{self.metric} = {value:.6g} < min {self.min:.6g}"
        if self.max is not None and value > self.max:
            return f"{self.metric} = {value:.6g} > max {self.max:.6g}"
        return None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"metric": self.metric}
        if self.min is not None:
            d["min"] = self.min
        if self.max is not None:
            d["max"] = self.max
        return d

    def describe(self) -> str:
        if self.min is not None and self.max is not None:
            return f"{self.min:g} <= {self.metric} <= {self.max:g}"
        if self.min is not None:
            return f"{self.metric} >= {self.min:g}"
        return f"{self.metric} <= {self.max:g}"


@dataclass(frozen=True)
class Outcome:
    """A finished trial's objective values (metric -> value, in the study's order), whether it
    keeps every constraint, and the constraints it broke (one line each)."""

    values: dict[str, float]
    feasible: bool
    violations: tuple[str, ...] = ()

    def storage_fields(self) -> dict[str, Any]:
        """The keyword arguments of ``Storage.finish`` that record it."""
        return {"values": dict(self.values), "feasible": self.feasible,
                "violation": "; ".join(self.violations) or None}


@dataclass(frozen=True)
class Objectives:
    """The study's objectives (metric names and directions, in order) and constraints."""

    metrics: tuple[str, ...]
    directions: tuple[str, ...]
    constraints: tuple[Constraint, ...] = field(default=())

    @property
    def multi(self) -> bool:
        """More than one objective."""
        return len(self.metrics) > 1

    @property
    def maximize(self) -> tuple[bool, ...]:
        return tuple(d == "maximize" for d in self.directions)

    def front_ranks(self, trials: Iterable[Any]) -> dict[int, int]:
        """The front rank of each complete, feasible trial with every objective's value, by
        trial number (:func:`rank_trials`)."""
        return rank_trials(trials, self)[1]

    def describe(self) -> list[str]:
        """One line per objective and constraint, as ``validate`` explains them."""
        lines = [f"objective {i + 1}: {d} {m}"
                 for i, (m, d) in enumerate(zip(self.metrics, self.directions))]
        lines += [f"constraint: {c.describe()} (a trial outside it is infeasible)"
                  for c in self.constraints]
        return lines


def parse_constraints(tables: Any) -> tuple[Constraint, ...]:
    """The ``[[constraint]]`` array of tables, checked (messages name ``constraint[N].key``)."""
    if tables is None:
        return ()
    if not isinstance(tables, list):
        raise SpaceError(f"constraint: must be an array of tables ([[constraint]]), "
                         f"got {fmt(tables)}")
    out = []
    for i, table in enumerate(tables, 1):
        where = f"constraint[{i}]"
        if not isinstance(table, Mapping):
            raise SpaceError(f"{where}: must be a table with metric and min and/or max "
                             f"(got {fmt(table)})")
        unknown = sorted(set(table) - set(_CONSTRAINT_KEYS), key=str)
        if unknown:
            raise SpaceError(f"{where}.{unknown[0]}: unknown key (expected one of "
                             f"{', '.join(_CONSTRAINT_KEYS)})")
        metric = table.get("metric")
        if not isinstance(metric, str) or not metric.strip():
            raise SpaceError(f"{where}.metric: must be a non-empty string (got {fmt(metric)})")
        bounds: dict[str, float | None] = {}
        for key in ("min", "max"):
            value = table.get(key)
            if value is not None and (isinstance(value, bool) or not is_number(value)
                                      or not math.isfinite(value)):
                raise SpaceError(f"{where}.{key}: must be a finite number (got {fmt(value)})")
            bounds[key] = None if value is None else float(value)
        if bounds["min"] is None and bounds["max"] is None:
            raise SpaceError(f"{where}: needs min and/or max (metric {metric!r})")
        if bounds["min"] is not None and bounds["max"] is not None \
                and bounds["min"] > bounds["max"]:
            raise SpaceError(f"{where}: min ({fmt(table['min'])}) must not be above max "
                             f"({fmt(table['max'])})")
        out.append(Constraint(metric, bounds["min"], bounds["max"]))
    return tuple(out)


def trial_values(objectives: Objectives, metrics: Mapping[str, Any]) -> Outcome:
    """A finished trial's :class:`Outcome` from its metrics.

    Raises :class:`MissingValue` when an objective or a constrained metric is missing or not a
    finite number: the trial fails with that message (its metrics kept), nothing is lost.
    """
    values = {m: _finite(metrics, m, "metric") for m in objectives.metrics}
    violations = []
    for c in objectives.constraints:
        broken = c.broken_by(_finite(metrics, c.metric, "constrained metric"))
        if broken is not None:
            violations.append(broken)
    return Outcome(values=values, feasible=not violations, violations=tuple(violations))


def _finite(metrics: Mapping[str, Any], name: str, what: str) -> float:
    if name not in metrics:
        got = ", ".join(repr(k) for k in list(metrics)[:20]) or "nothing"
        raise MissingValue(f"{what} {name!r} missing from the result (got: {got})")
    value = metrics[name]
    if value is None:  # stored JSON turns NaN and infinity into null
        raise MissingValue(f"{what} {name!r} is nan or infinite")
    if isinstance(value, bool) or not is_number(value):
        raise MissingValue(f"{what} {name!r} is not a number: {value!r}")
    if not math.isfinite(value):
        raise MissingValue(f"{what} {name!r} is {value}")
    return float(value)


def trial_vector(trial: Any, metrics: Sequence[str]) -> list[float] | None:
    """The trial's value of each objective metric, or None when one is missing or not finite
    (a failed or pruned trial, a metric it never reported)."""
    out = []
    for i, m in enumerate(metrics):
        if trial.values and m in trial.values:
            v: Any = trial.values[m]
        elif i == 0 and trial.value is not None:
            v = trial.value
        else:
            v = (trial.metrics or {}).get(m)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return None
        out.append(float(v))
    return out


def rank_trials(trials: Iterable[Any], objectives: Objectives
                ) -> tuple[list[Any], dict[int, int]]:
    """The complete, feasible trials with every objective's value, sorted by front rank and
    then the first objective (best first) and number, and their ranks by trial number."""
    from hpsearch.pareto import front_ranks  # numpy: imported when ranking

    kept, vectors = [], []
    for t in trials:
        if t.state != "complete" or t.feasible is False:
            continue
        v = trial_vector(t, objectives.metrics)
        if v is not None:
            kept.append(t)
            vectors.append(v)
    ranks = front_ranks(vectors, objectives.maximize) if kept else []
    sign = -1.0 if objectives.maximize[0] else 1.0
    order = sorted(range(len(kept)), key=lambda i: (ranks[i], sign * vectors[i][0],
                                                    kept[i].number))
    return [kept[i] for i in order], {kept[i].number: ranks[i] for i in range(len(kept))}


def objectives_of(space: Mapping[str, Any]) -> Objectives:
    """The :class:`Objectives` of a stored space dict (``Space.to_dict()``, a study's space)."""
    study = space.get("study") or {}
    metric, direction = study.get("metric", "val_accuracy"), study.get("direction", "maximize")
    metrics = tuple(metric) if isinstance(metric, Sequence) and not isinstance(metric, str) \
        else (metric,)
    directions = tuple(direction) if isinstance(direction, Sequence) \
        and not isinstance(direction, str) else (direction,)
    return Objectives(metrics=metrics, directions=directions,
                      constraints=parse_constraints(space.get("constraint")))
