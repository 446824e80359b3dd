"""The built-in trainer: an MLP classifier in PyTorch, trained by name-addressed parameters.

Public API (``__all__``)::

    TrainerSettings   the fixed [trainer] settings of a space file
    KNOWN_PARAMS      names a search space may use for the built-in objective
    check_params      ConfigError for unknown names or unusable values
    TrainResult       state, best-epoch metrics, error, device
    train             train(params, settings, *, seed, report=None) -> TrainResult
    load_dataset      load_dataset(settings) -> Dataset (split, standardised, cached)

Importing this package must not import torch (the space validator and ``hpsearch --help`` import
it), so ``train``, ``TrainResult`` and ``load_dataset`` are loaded on first access. The
submodule ``hpsearch.trainer.train`` shares its name with the function; should it be imported
directly first (which binds the package attribute to the module), the module is callable and
forwards to the function, so ``hpsearch.trainer.train(...)`` works either way.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from hpsearch.trainer.config import KNOWN_PARAMS, TrainerSettings, check_params

if TYPE_CHECKING:  # pragma: no cover
    from hpsearch.trainer.data import load_dataset
    from hpsearch.trainer.train import TrainResult, train

__all__ = ["TrainerSettings", "KNOWN_PARAMS", "check_params", "TrainResult", "train",
           "load_dataset"]

_LAZY = {
    "train": "hpsearch.trainer.train",
    "TrainResult": "hpsearch.trainer.train",
    "load_dataset": "hpsearch.trainer.data",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    loaded = importlib.import_module(module)
    # Importing the submodule ``train`` binds the package attribute ``train`` to the module;
    # rebind every lazy name of that module to the object it stands for.
    for lazy, where in _LAZY.items():
        if where == module:
            globals()[lazy] = getattr(loaded, lazy)
    return globals()[name]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
