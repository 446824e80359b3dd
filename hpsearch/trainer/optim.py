"""Optimizers and learning-rate schedules of the built-in trainer, chosen by name.

Each variant is one small factory in a registry (``OPTIMIZER_FACTORIES``, ``SCHEDULE_FACTORIES``)
rather than an ``if name == ...`` chain. Factories take the checked params
(:class:`hpsearch.trainer.params.TrialParams`). Schedules step once per epoch.

``momentum`` applies to SGD (0.9 when a trial does not set it) and RMSprop (0.0 when absent).
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LRScheduler,
    StepLR,
)

from hpsearch.trainer.params import TrialParams

__all__ = ["OPTIMIZER_FACTORIES", "SCHEDULE_FACTORIES", "make_optimizer", "make_schedule"]

Groups = list[dict[str, Any]]


def _momentum(p: TrialParams, default: float) -> float:
    """``momentum`` when the trial sets it, else the optimizer's ``default``."""
    return default if p.momentum is None else p.momentum


def _sgd(groups: Groups, p: TrialParams) -> Optimizer:
    momentum = _momentum(p, 0.9)
    return torch.optim.SGD(groups, lr=p.learning_rate, momentum=momentum,
                           nesterov=p.nesterov and momentum > 0)


def _adam(groups: Groups, p: TrialParams) -> Optimizer:
    return torch.optim.Adam(groups, lr=p.learning_rate, betas=(p.beta1, p.beta2),
                            eps=p.eps)


def _rmsprop(groups: Groups, p: TrialParams) -> Optimizer:
    return torch.optim.RMSprop(groups, lr=p.learning_rate, alpha=p.rho, eps=p.eps,
                               momentum=_momentum(p, 0.0))


OPTIMIZER_FACTORIES: dict[str, Callable[[Groups, TrialParams], Optimizer]] = {
    "sgd": _sgd,
    "adam": _adam,
    "rmsprop": _rmsprop,
}


def _exponential(opt: Optimizer, p: TrialParams, epochs: int) -> LRScheduler:
    return ExponentialLR(opt, gamma=p.lr_decay_rate)


def _step(opt: Optimizer, p: TrialParams, epochs: int) -> LRScheduler:
    return StepLR(opt, step_size=p.lr_step_size, gamma=p.lr_decay_rate)


def _cosine(opt: Optimizer, p: TrialParams, epochs: int) -> LRScheduler:
    return CosineAnnealingLR(opt, T_max=max(1, epochs), eta_min=p.lr_min)


SCHEDULE_FACTORIES: dict[str, Callable[[Optimizer, TrialParams, int], LRScheduler]] = {
    "exponential": _exponential,
    "step": _step,
    "cosine": _cosine,
}


def make_optimizer(groups: Groups, params: TrialParams) -> Optimizer:
    """The optimizer named by ``params.optimizer`` over parameter ``groups``.

    Weight decay comes from the groups (see :meth:`MLP.decay_groups`), so only the Linear
    weights are decayed.
    """
    return OPTIMIZER_FACTORIES[params.optimizer](groups, params)


def make_schedule(opt: Optimizer, params: TrialParams, epochs: int) -> LRScheduler | None:
    """The per-epoch schedule named by ``params.lr_decay``; ``None`` for ``"none"``."""
    factory = SCHEDULE_FACTORIES.get(params.lr_decay)
    return None if factory is None else factory(opt, params, epochs)
