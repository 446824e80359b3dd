"""The coordinates a model sampler searches: Optuna distributions over the space's unit cube.

Each searchable parameter becomes one Optuna distribution on a coordinate the *space* defines,
and :meth:`Space.from_unit` turns the coordinates back into values, so no sampler knows what
"log" means (STYLE 3) and every scale is the one random and Sobol search use::

    choice                       CategoricalDistribution over the value *indices* 0..n-1
                                 (indices, not values: 1 and true stay apart, as in a space)
    int (linear), uniform+step   IntDistribution(0, n-1) over the cell index k; the unit
                                 coordinate is the cell centre (k + 0.5) / n
    everything else              FloatDistribution(0, 1): the unit coordinate itself
    (log_uniform, log int,        - linear in log x for log_uniform / log int, in log(1-β)
     log_one_minus, uniform)        for log_one_minus: the scale the course asks for
    fixed                        no coordinate; ``from_unit`` puts the value back

Why not Optuna's own ``log=True`` / ``step=`` distributions? They cannot express every hpsearch
type (``log_one_minus``; ``log_uniform`` with a step; log ints with step > 1, which Optuna
refuses), and mapping values both ways twice would risk a proposal that ``from_unit`` would not
produce. On the unit coordinate a log parameter is exactly what Optuna's ``log=True`` models
internally (it works in log space), so the model loses nothing. Linear discrete parameters are
the exception where Optuna's handling is genuinely better: given as an ``IntDistribution`` over
the cell index they are modelled as discrete (TPE's discrete kernels, GP's rounding and
enumeration of few values), which is the same as Optuna's ``suggest_int(low, high, step)`` since
``low + k*step`` is linear in ``k``. A log int stays a float coordinate: its cells are equal on
the log axis, so the unit coordinate is its natural scale, and many proposals in one cell only
repeat a value.

Conditions are define-by-run: parameters are suggested in the space's dependency order and an
inactive one is never suggested, so it is absent from the Optuna trial, as from the
configuration.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["Coordinates"]


def _cells(param: Any) -> int | None:
    """Number of equal cells of a linear discrete parameter, else None (a float coordinate)."""
    if param.kind == "int" and not param.log:
        return (param.high - param.low) // (param.step or 1) + 1
    if param.kind == "uniform" and param.step is not None:
        return int(math.floor((param.high - param.low) / param.step + 1e-9)) + 1
    return None


class Coordinates:
    """The Optuna distributions of a space's coordinates, and the maps both ways."""

    def __init__(self, space: Any) -> None:
        from optuna.distributions import (CategoricalDistribution, FloatDistribution,
                                          IntDistribution)

        self.space = space
        self.names = [p.name for p in space.search_params]
        self.distributions: dict[str, Any] = {}
        self._cells: dict[str, int] = {}
        for p in space.search_params:
            if p.kind == "choice":
                self.distributions[p.name] = CategoricalDistribution(tuple(range(len(p.values))))
                continue
            cells = _cells(p)
            if cells is not None and cells > 1:
                self._cells[p.name] = cells
                self.distributions[p.name] = IntDistribution(0, cells - 1)
            else:
                self.distributions[p.name] = FloatDistribution(0.0, 1.0)

    def unit_of(self, name: str, internal: Any) -> float:
        """The unit coordinate of an Optuna value of parameter ``name``."""
        param = self.space.params[name]
        if param.kind == "choice":
            return (int(internal) + 0.5) / len(param.values)
        if name in self._cells:
            return (int(internal) + 0.5) / self._cells[name]
        return min(max(float(internal), 0.0), 1.0)

    def internal_of(self, name: str, value: Any) -> Any:
        """The Optuna value of a stored value of parameter ``name`` (None if not a value)."""
        param = self.space.params[name]
        if not param.contains(value):
            return None  # a value from before a refine narrowed the box: not in this space
        u = param.to_unit(value)
        if param.kind == "choice":
            return param.index(value)
        if name in self._cells:
            return min(int(u * self._cells[name]), self._cells[name] - 1)
        return min(max(float(u), 0.0), 1.0)

    def config(self, internal: Mapping[str, Any]) -> dict[str, Any]:
        """The configuration of Optuna values (missing coordinates: inactive, any value)."""
        units = [self.unit_of(n, internal[n]) if n in internal else 0.5 for n in self.names]
        return self.space.from_unit(units)

    def suggest(self, trial: Any) -> dict[str, Any]:
        """Ask ``trial`` for each active parameter in dependency order; the configuration."""
        config: dict[str, Any] = {}
        internal: dict[str, Any] = {}
        for name, param in self.space.params.items():
            if not self.space.is_active(name, config):
                continue
            if param.searchable:
                internal[name] = self._ask(trial, name)
                config[name] = param.from_unit(self.unit_of(name, internal[name]))
            else:
                config[name] = param.from_unit(0.5)
        return config

    def _ask(self, trial: Any, name: str) -> Any:
        dist = self.distributions[name]
        if name in self._cells:
            return trial.suggest_int(name, 0, self._cells[name] - 1)
        if hasattr(dist, "choices"):
            return trial.suggest_categorical(name, dist.choices)
        return trial.suggest_float(name, 0.0, 1.0)

    def optuna_params(self, config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """``(params, distributions)`` of a stored configuration for ``create_trial``, or None
        when it holds a value outside this space (another round's box)."""
        params: dict[str, Any] = {}
        for name in self.names:
            if name in config:
                internal = self.internal_of(name, config[name])
                if internal is None:
                    return None
                params[name] = internal
        return params, {n: self.distributions[n] for n in params}
