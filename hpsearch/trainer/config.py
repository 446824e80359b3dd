"""Names, defaults and checks of the built-in trainer's parameters and settings.

This module is imported by the space validator, so it must start fast: it imports neither torch
nor numpy nor scikit-learn. Two kinds of configuration live here:

* **params** -- what a search space may search (``learning_rate``, ``optimizer``, ...). They
  arrive per trial as a plain mapping; :func:`check_params` rejects unknown names and values that
  cannot work, and :func:`resolve_params` fills the defaults.
* **settings** -- :class:`TrainerSettings`, the fixed ``[trainer]`` table of a space file
  (dataset, split, epochs, device, precision).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Mapping

from hpsearch.errors import ConfigError, DataError

__all__ = [
    "ACTIVATIONS",
    "OPTIMIZERS",
    "LR_DECAYS",
    "PRECISIONS",
    "BUILTIN_DATASETS",
    "DATASET_SUFFIXES",
    "PARAM_DEFAULTS",
    "KNOWN_PARAMS",
    "check_params",
    "resolve_params",
    "TrainerSettings",
]

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "gelu")
OPTIMIZERS = ("sgd", "adam", "rmsprop")
LR_DECAYS = ("none", "exponential", "step", "cosine")
PRECISIONS = ("fp32", "bf16", "fp16")
BUILTIN_DATASETS = ("digits", "synthetic")
DATASET_SUFFIXES = (".csv", ".npz", ".parquet")

#: Every searchable parameter with the value used when a trial does not set it. ``epochs`` and
#: ``patience`` default to ``None``: absent, they come from :class:`TrainerSettings`.
#: ``momentum`` defaults to ``None``: absent, SGD uses 0.9 and RMSprop 0.0 (no momentum).
PARAM_DEFAULTS: dict[str, Any] = {
    "learning_rate": 1e-3,
    "n_layers": 2,
    "hidden_units": 128,
    "activation": "relu",
    "dropout": 0.0,
    "batch_size": 64,
    "optimizer": "adam",
    "momentum": None,  # sgd (absent: 0.9), rmsprop (absent: 0.0)
    "nesterov": False,  # sgd
    "beta1": 0.9,  # adam
    "beta2": 0.999,  # adam
    "eps": 1e-8,  # adam, rmsprop
    "rho": 0.99,  # rmsprop's smoothing constant (torch's ``alpha``)
    "weight_decay": 0.0,  # L2, passed to the optimizer
    "lr_decay": "none",  # none | exponential | step | cosine (per epoch)
    "lr_decay_rate": 0.95,  # exponential: lr *= rate each epoch; step: lr *= rate every step_size
    "lr_step_size": 10,  # step: epochs between two decays
    "lr_min": 0.0,  # cosine: the floor reached at the last epoch
    "bn_momentum": 0.9,  # β of the running average: running = β·running + (1-β)·batch
    "batch_norm": True,
    "epochs": None,
    "patience": None,
}

KNOWN_PARAMS: frozenset[str] = frozenset(PARAM_DEFAULTS)

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


def _is_number(value: Any) -> bool:
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
    if not _is_number(value) or not math.isfinite(value):
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


def resolve_params(params: Mapping[str, Any], *, source: str = "params") -> dict[str, Any]:
    """Check ``params`` and return a full dict with defaults filled and integers made ``int``."""
    check_params(params, source=source)
    full = {**PARAM_DEFAULTS, **{k: v for k, v in params.items() if v is not None}}
    for name in _INTEGER:
        if full[name] is not None:
            full[name] = int(full[name])
    for name in _BOOLEAN:
        full[name] = bool(full[name])
    for name in _CHOICES:
        full[name] = str(full[name])
    for name in ("learning_rate", "dropout", "momentum", "beta1", "beta2", "eps", "rho",
                 "weight_decay", "lr_decay_rate", "lr_min", "bn_momentum"):
        if full[name] is not None:  # momentum: None means "the optimizer's own default"
            full[name] = float(full[name])
    return full


_DEVICE_HELP = "auto, cpu, cuda or cuda:N"


@dataclass(frozen=True)
class TrainerSettings:
    """The fixed (not searched) settings of the built-in trainer: a space file's ``[trainer]``.

    Attributes
    ----------
    dataset:
        ``"digits"`` (scikit-learn's bundled 8×8 digits), ``"synthetic"`` (seeded, any size) or
        a path to a ``.csv``, ``.npz`` (arrays ``X`` and ``y``) or ``.parquet`` file. Relative
        paths are resolved against ``base_dir``.
    label_column:
        CSV/Parquet: the label column's name (default: the last column).
    n_samples, n_features, n_classes:
        Size of the synthetic set (ignored for other datasets).
    val_fraction, test_fraction:
        Shares of the stratified validation and test splits. The test split is seen only by the
        final (best) model.
    split_seed:
        Seed of the split, the same for every trial of a study (the trial seed drives the rest).
    epochs, patience:
        Training length and early-stopping patience: training stops at an epoch that did not
        improve the validation accuracy once ``patience`` such epochs came in a row (Keras
        semantics; 0 stops at the first epoch that does not improve). The params
        ``epochs``/``patience`` override them per trial.
    device:
        ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``.
    precision:
        ``fp32``, ``bf16`` or ``fp16`` autocast; fp16 only on CUDA (with a gradient scaler).
    base_dir:
        Folder of the space file, against which a relative dataset path is resolved.
    """

    dataset: str = "digits"
    label_column: str | None = None
    n_samples: int = 2000
    n_features: int = 20
    n_classes: int = 3
    val_fraction: float = 0.2
    test_fraction: float = 0.0
    split_seed: int = 0
    epochs: int = 30
    patience: int = 5
    device: str = "auto"
    precision: str = "fp32"
    base_dir: str = "."

    def __post_init__(self) -> None:
        self.validate()

    def validate(self, source: str = "trainer") -> None:
        """Raise :class:`ConfigError` naming the first bad field (``{source}: trainer.x: ...``)."""

        def bad(field: str, what: str) -> ConfigError:
            value = getattr(self, field)
            return ConfigError(f"{source}: trainer.{field}: {value!r} {what}")

        if not isinstance(self.dataset, str) or not self.dataset:
            raise bad("dataset", "must be digits, synthetic or a path to a .csv/.npz/.parquet file")
        if self.label_column is not None and not isinstance(self.label_column, str):
            raise bad("label_column", "must be a column name")
        for name, low in (("n_samples", 2), ("n_features", 1), ("n_classes", 2),
                          ("epochs", 1), ("patience", 0), ("split_seed", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise bad(name, f"must be an integer >= {low}")
        for name in ("val_fraction", "test_fraction"):
            value = getattr(self, name)
            if not _is_number(value) or not 0 <= value < 1:
                raise bad(name, "must be a number in [0, 1)")
        if not 0 < self.val_fraction:
            raise bad("val_fraction", "must be positive (early stopping needs a validation split)")
        if self.val_fraction + self.test_fraction >= 0.9:
            raise bad("test_fraction", f"plus val_fraction ({self.val_fraction}) must be below 0.9")
        if not _valid_device(self.device):
            raise bad("device", f"must be {_DEVICE_HELP}")
        if self.precision not in PRECISIONS:
            raise bad("precision", f"must be one of {', '.join(PRECISIONS)}")
        if not isinstance(self.base_dir, str):
            raise bad("base_dir", "must be a folder path")

    @classmethod
    def from_dict(
        cls, d: Mapping[str, Any], *, source: str = "trainer", base_dir: str = "."
    ) -> TrainerSettings:
        """Build settings from a ``[trainer]`` table, rejecting unknown keys and bad values.

        ``base_dir`` (the space file's folder) is used unless the table sets it itself.
        """
        known = [f.name for f in fields(cls)]
        for key in d:
            if key not in known:
                raise ConfigError(
                    f"{source}: trainer.{key}: unknown setting; known: {', '.join(known)}"
                )
        values = {"base_dir": base_dir, **d}
        # Validate with the caller's source in the message; __post_init__ would say "trainer".
        obj = object.__new__(cls)
        for key, value in ((f.name, values.get(f.name, f.default)) for f in fields(cls)):
            object.__setattr__(obj, key, value)
        obj.validate(source)
        return obj

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (JSON/TOML-friendly)."""
        return asdict(self)

    def dataset_path(self) -> Path | None:
        """The dataset file, resolved against ``base_dir``; ``None`` for digits and synthetic.

        Raises :class:`DataError` when the name is neither built in nor a known file kind. The
        file itself is not touched (see :meth:`check_dataset_file`).
        """
        name = self.dataset
        if name in BUILTIN_DATASETS:
            return None
        path = Path(name)
        if not path.is_absolute():
            path = Path(self.base_dir) / path
        path = path.resolve()
        if path.suffix.lower() not in DATASET_SUFFIXES:
            raise DataError(
                f"{name}: unknown dataset; use digits, synthetic or a .csv, .npz or .parquet file"
            )
        return path

    def check_dataset_file(self, source: str | None = None) -> None:
        """Cheaply check that a file dataset exists and is a file (nothing is read).

        Raises :class:`DataError` naming the path, prefixed by ``"{source}: trainer.dataset: "``
        when ``source`` is given.
        """
        prefix = f"{source}: trainer.dataset: " if source else ""
        try:
            path = self.dataset_path()
        except DataError as exc:
            raise DataError(f"{prefix}{exc}") from exc
        if path is not None and not path.is_file():
            what = "is not a file" if path.exists() else "dataset file not found"
            raise DataError(f"{prefix}{path}: {what}")


def _valid_device(device: Any) -> bool:
    if not isinstance(device, str):
        return False
    if device in ("auto", "cpu", "cuda"):
        return True
    head, _, index = device.partition(":")
    return head == "cuda" and index.isdigit()
