"""The built-in trainer: an MLP classifier in PyTorch, trained by name-addressed parameters.

Modules::

    params    TrialParams (a trial's checked, typed params), check_params, KNOWN_PARAMS
    config    TrainerSettings, the fixed [trainer] settings of a space file
    data      load_dataset(settings) -> Dataset (split, standardised, cached)
    model     the MLP, predict_logits
    optim     optimizers and learning-rate schedules by name
    fit       fit(params, settings, *, seed, report=None) -> TrainResult

This package re-exports only what imports fast (no torch, numpy or scikit-learn: the space
validator and ``hpsearch --help`` import it); import :func:`hpsearch.trainer.fit.fit` and
:func:`hpsearch.trainer.data.load_dataset` from their modules.
"""

from __future__ import annotations

from hpsearch.trainer.config import TrainerSettings
from hpsearch.trainer.params import KNOWN_PARAMS, TrialParams, check_params

__all__ = ["TrainerSettings", "TrialParams", "KNOWN_PARAMS", "check_params"]
