"""The searched parameters of the built-in trainer: names, defaults, checks, and
:class:`TrialParams`, the typed object a trial's parameters become once checked.

This module is imported by the space validator, so it must start fast: it imports neither torch
nor numpy nor scikit-learn. A trial's params arrive as a plain mapping (``learning_rate``,
``optimizer``, ...); :func:`check_params` rejects unknown names and values that cannot work, and
:meth:`TrialParams.from_mapping` checks them and fills the defaults, once per trial.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

from hpsearch.errors import ConfigError

__all__ = [
    "ACTIVATIONS",
    "OPTIMIZERS",
    "LR_DECAYS",
    "PARAM_DEFAULTS",
    "KNOWN_PARAMS",
    "INTEGER_PARAMS",
    "check_params",
    "is_number",
    "TrialParams",
]

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "gelu")
OPTIMIZERS = ("sgd", "adam", "rmsprop")
LR_DECAYS = ("none", "exponential", "step", "cosine")

_CHOICES: dict[str, tuple[str, ...]] = {
    "activation": ACTIVATIONS,
    "optimizer": OPTIMIZERS,
    "lr_decay": LR_DECAYS,
}
_POSITIVE = ("learning_rate", "n_layers", "hidden_units", "batch_size", "eps", "lr_step_size",
             "epochs")
_INTEGER = ("n_layers", "hidden_units", "batch_size", "lr_step_size", "epochs", "patience")
_BOOLEAN = ("nesterov", "batch_norm")
# Parameters that must lie in [0, 1): dropout of 1 drops everything, a β of 1 never moves.
_UNIT_HALF_OPEN = ("dropout", "momentum", "beta1", "beta2", "rho", "bn_momentum")
_NON_NEGATIVE = ("weight_decay", "lr_min", "patience")
#: Integer-valued parameters (a space should search them with ``type = "int"``).
INTEGER_PARAMS: tuple[str, ...] = _INTEGER


def _fmt_names(names: Any) -> str:
    return ", ".join(sorted(names))


def is_number(value: Any) -> bool:
    # numbers.Real also admits numpy scalars (samplers may hand those over); bools are not numbers
    return isinstance(value, numbers.Real) and not _is_bool(value)


def _is_bool(value: Any) -> bool:
    kind = type(value)
    return isinstance(value, bool) or (kind.__module__ == "numpy" and kind.__name__ in
                                       ("bool", "bool_"))


def check_params(params: Mapping[str, Any], *, source: str = "params") -> None:
    """Reject unknown parameter names and values the trainer cannot use.

    Parameters
    ----------
    params:
        A trial's parameters (or a space's names mapped to sample values).
    source:
        Prefix of every message, e.g. the space file's name.

    Raises
    ------
    ConfigError
        ``"{source}: unknown parameter(s) x, y; known: ..."`` for unknown names, or
        ``"{source}: params.{name}: ..."`` naming the first bad value. A ``batch_size``
        below 2 is refused while ``batch_norm`` (given or by default) is on: BatchNorm cannot
        normalise a batch of one example.
    """
    unknown = set(params) - KNOWN_PARAMS
    if unknown:
        raise ConfigError(
            f"{source}: unknown parameter(s) {_fmt_names(unknown)}; "
            f"known: {_fmt_names(KNOWN_PARAMS)}"
        )
    for name, value in params.items():
        if value is None and PARAM_DEFAULTS[name] is None:
            continue
        _check_value(name, value, source)
    batch_norm = params.get("batch_norm")
    if batch_norm is None:
        batch_norm = PARAM_DEFAULTS["batch_norm"]
    batch_size = params.get("batch_size")
    if batch_norm and batch_size is not None and batch_size < 2:
        raise ConfigError(
            f"{source}: params.batch_size: {batch_size!r} must be at least 2 with batch_norm "
            f"(BatchNorm needs two examples per batch)"
        )


def _check_value(name: str, value: Any, source: str) -> None:
    where = f"{source}: params.{name}"
    if name in _CHOICES:
        if value not in _CHOICES[name]:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(_CHOICES[name])}")
        return
    if name in _BOOLEAN:
        if not _is_bool(value):
            raise ConfigError(f"{where}: {value!r} must be true or false")
        return
    if not is_number(value) or not math.isfinite(value):
        raise ConfigError(f"{where}: {value!r} must be a finite number")
    if name in _INTEGER and float(value) != int(value):
        raise ConfigError(f"{where}: {value!r} must be an integer")
    if name in _POSITIVE and value <= 0:
        raise ConfigError(f"{where}: {value!r} must be positive")
    if name in _UNIT_HALF_OPEN and not 0 <= value < 1:
        raise ConfigError(f"{where}: {value!r} must be in [0, 1)")
    if name in _NON_NEGATIVE and value < 0:
        raise ConfigError(f"{where}: {value!r} must not be negative")
    if name == "lr_decay_rate" and not 0 < value <= 1:
        raise ConfigError(f"{where}: {value!r} must be in (0, 1]")


@dataclass(frozen=True)
class TrialParams:
    """A trial's parameters, checked, with every default filled and every value typed.

    Build it with :meth:`from_mapping` (which checks); the fields and their defaults are those
    of :data:`PARAM_DEFAULTS`. ``momentum`` None means the optimizer's own default (SGD 0.9,
    RMSprop 0.0); ``epochs``/``patience`` None mean the :class:`TrainerSettings` values.
    """

    learning_rate: float = 1e-3
    n_layers: int = 2
    hidden_units: int = 128
    activation: str = "relu"
    dropout: float = 0.0
    batch_size: int = 64
    optimizer: str = "adam"
    momentum: float | None = None  # sgd (absent: 0.9), rmsprop (absent: 0.0)
    nesterov: bool = False  # sgd
    beta1: float = 0.9  # adam
    beta2: float = 0.999  # adam
    eps: float = 1e-8  # adam, rmsprop
    rho: float = 0.99  # rmsprop's smoothing constant (torch's ``alpha``)
    weight_decay: float = 0.0  # L2, passed to the optimizer
    lr_decay: str = "none"  # none | exponential | step | cosine (per epoch)
    lr_decay_rate: float = 0.95  # exponential: lr *= rate each epoch; step: every step_size
    lr_step_size: int = 10  # step: epochs between two decays
    lr_min: float = 0.0  # cosine: the floor reached at the last epoch
    bn_momentum: float = 0.9  # β of the running average: running = β·running + (1-β)·batch
    batch_norm: bool = True
    epochs: int | None = None  # absent: TrainerSettings.epochs
    patience: int | None = None  # absent: TrainerSettings.patience

    @classmethod
    def from_mapping(cls, params: Mapping[str, Any], *, source: str = "params") -> TrialParams:
        """Check ``params`` (:func:`check_params`, messages prefixed by ``source``) and return
        them typed: integers as ``int``, flags as ``bool``, the rest as ``float``/``str``;
        absent or None values take their defaults."""
        check_params(params, source=source)
        full = {**PARAM_DEFAULTS, **{k: v for k, v in params.items() if v is not None}}
        typed: dict[str, Any] = {}
        for name, value in full.items():
            if value is None:  # momentum, epochs, patience: "not set"
                typed[name] = None
            elif name in _INTEGER:
                typed[name] = int(value)
            elif name in _BOOLEAN:
                typed[name] = bool(value)
            elif name in _CHOICES:
                typed[name] = str(value)
            else:
                typed[name] = float(value)
        return cls(**typed)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: Every searchable parameter with the value used when a trial does not set it (None: see
#: :class:`TrialParams`).
PARAM_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(TrialParams)}
KNOWN_PARAMS: frozenset[str] = frozenset(PARAM_DEFAULTS)
