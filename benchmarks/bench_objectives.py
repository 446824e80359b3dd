"""Objectives shared by the benchmarks: plain Python, no heavy imports.

``trivial`` is the overhead benchmark's objective (hpsearch's ``kind = "python"`` calls it as
``trivial(params, report)``; Optuna's side calls :func:`trivial_value` with the values it
suggested). The synthetic functions have a known optimum (0.0 at :data:`SEPARABLE_OPTIMUM`,
and along a ridge for :func:`coupled`) over log-scale and 1-β parameters; both are maximised.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

# ------------------------------------------------------------------------------- overhead
#: The overhead study's space: a log-uniform lr, a uniform dropout, a choice optimizer and
#: momentum conditional on optimizer == "sgd".
OVERHEAD_PARAMS = """\
learning_rate = { type = "log_uniform", low = 1e-5, high = 1e-1 }
dropout       = { type = "uniform", low = 0.0, high = 0.5 }
optimizer     = { type = "choice", values = ["adam", "sgd", "rmsprop"] }
momentum      = { type = "uniform", low = 0.8, high = 0.99, when = { optimizer = "sgd" } }
"""


def trivial_value(lr: float, dropout: float, optimizer: str, momentum: float | None) -> float:
    """A few floating-point operations: the objective costs nothing next to the bookkeeping."""
    v = -(math.log10(lr) + 3.0) ** 2 - (dropout - 0.2) ** 2
    if optimizer == "sgd":
        v -= (momentum - 0.9) ** 2
    return v


def trivial(params: Mapping[str, Any], report: Callable[..., None] | None = None) -> float:
    return trivial_value(params["learning_rate"], params["dropout"], params["optimizer"],
                         params.get("momentum"))


# ------------------------------------------------------------------------------- quality
#: Five parameters on the scales real searches use: log lr, 1-β on a log scale, log weight
#: decay, linear dropout, log-integer width.
SYNTH_PARAMS = """\
learning_rate = { type = "log_uniform", low = 1e-5, high = 1.0 }
beta          = { type = "log_one_minus", low = 0.9, high = 0.9999 }
weight_decay  = { type = "log_uniform", low = 1e-6, high = 1e-1 }
dropout       = { type = "uniform", low = 0.0, high = 0.5 }
hidden_units  = { type = "int", low = 16, high = 1024, log = true }
"""

SEPARABLE_OPTIMUM = {"learning_rate": 3e-3, "beta": 0.99, "weight_decay": 1e-4,
                     "dropout": 0.15, "hidden_units": 256}


def _logs(p: Mapping[str, Any]) -> tuple[float, float, float, float, float]:
    return (math.log10(p["learning_rate"]), math.log10(1.0 - p["beta"]),
            math.log10(p["weight_decay"]), p["dropout"], math.log2(p["hidden_units"]))


def separable(p: Mapping[str, Any], report: Callable[..., None] | None = None) -> float:
    """-Σ kᵢ (xᵢ - xᵢ*)² in each parameter's natural scale; maximum 0 at SEPARABLE_OPTIMUM."""
    lr, omb, wd, do, h = _logs(p)
    return -((lr - math.log10(3e-3)) ** 2
             + 2.0 * (omb - math.log10(1 - 0.99)) ** 2
             + 0.25 * (wd - math.log10(1e-4)) ** 2
             + 16.0 * (do - 0.15) ** 2
             + 0.1 * (h - 8.0) ** 2)


def coupled(p: Mapping[str, Any], report: Callable[..., None] | None = None) -> float:
    """A ridge, as with momentum methods: what matters is the effective step lr / (1-β)
    (optimum 0.3) and, more weakly, 1-β itself (optimum 1e-2); maximum 0."""
    lr, omb, wd, do, h = _logs(p)
    return -(4.0 * (lr - omb - math.log10(0.3)) ** 2
             + 0.5 * (omb + 2.0) ** 2
             + 0.25 * (wd + 4.0) ** 2
             + 16.0 * (do - 0.15) ** 2
             + 0.1 * (h - 8.0) ** 2)


SYNTHETIC = {"separable": separable, "coupled": coupled}


def optuna_synth_params(trial) -> dict[str, Any]:
    """The same space with Optuna's suggest_* (1-β suggested log-uniform, as an Optuna user
    would write it, then turned back into β)."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-5, 1.0, log=True),
        "beta": 1.0 - trial.suggest_float("one_minus_beta", 1e-4, 0.1, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-1, log=True),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        "hidden_units": trial.suggest_int("hidden_units", 16, 1024, log=True),
    }
