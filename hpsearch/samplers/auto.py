"""auto: the model that suits the space and the round's progress, and which one it picked.

The rule (measured with ``benchmarks/bench_quality_model.py``, 10 seeds)::

    choices or conditions in the space          -> tpe    (categorical and grouped
                                                          conditional kernels; GP and CMA-ES
                                                          treat these crudely)
    purely numeric, < GP_MAX_TRIALS completed   -> tpe and gp in turn, on the same history
                                                   (tpe at even sample indices, gp at odd)
    purely numeric, more                        -> tpe    (GP's fit grows with n³)

Why alternate: GP alone wins on a smooth landscape (Hartmann-6, 50 trials: median -3.320 against
Optuna's TPE -3.078) but explores too little where a narrow optimum sits in a flat landscape;
TPE explores. Taking turns, each model learns from the other's points. GP fits power-transformed
values (:func:`hpsearch.samplers.gp.power_warp`), which lets it see the slope of a flat
landscape too. Design runs (``bench_quality_model.py``, seeds 0-19, median): the log-scaled
narrow bump at 30 trials 0.999 (0.18 without the transform; Optuna's TPE 0.36), Hartmann-6 at
30 trials -3.02 (-3.00 without; Optuna's TPE -2.43). GP first instead of TPE first gave the
same at 50 and 100 trials but lagged on the bump at 30. The held-out figures are in
benchmarks/README.md. :data:`GP_MAX_TRIALS` is a cost bound (GP's proposal time grows with n³).

Each proposal's :attr:`Proposal.method` names the pick (``gp``, ``tpe``), or ``sobol`` for the
start-up trials, so the run log and ``report`` can show it. The pick depends only on the space,
the history and the sample index, so it is as reproducible as the models themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hpsearch.samplers.gp import GPSampler
from hpsearch.samplers.model import Finished, ModelSampler
from hpsearch.samplers.tpe import TPESampler

__all__ = ["AutoSampler", "GP_MAX_TRIALS", "pick"]

GP_MAX_TRIALS = 200
"""Completed trials of a round after which a numeric space moves from GP to TPE."""


def pick(space: Any, completed: int, index: int = 0) -> str:
    """``tpe`` or ``gp``: the model ``auto`` uses for ``space`` after ``completed`` trials, at
    the round's sample ``index``."""
    structured = any(p.kind == "choice" or p.when for p in space.params.values()
                     if p.searchable)
    if structured or completed >= GP_MAX_TRIALS:
        return "tpe"
    # Numeric: TPE and GP take turns on the same history. GP exploits a smooth landscape
    # (Hartmann-6), TPE explores where GP is lost on a flat one (a narrow bump); each learns
    # from the other's points (see the module docstring for the figures).
    return "tpe" if index % 2 == 0 else "gp"


class AutoSampler(ModelSampler):
    """Delegates each proposal to :class:`GPSampler` or :class:`TPESampler` (see :func:`pick`)."""

    name = "auto"

    def __init__(self, space: Any, **kwargs: Any) -> None:
        super().__init__(space, **kwargs)
        self._models: dict[str, ModelSampler] = {}
        self._options = {k: v for k, v in kwargs.items() if k != "seed"}
        self._picked = "tpe"

    def method_for(self, history: Sequence[Finished]) -> str:
        return self._picked

    def propose_model(self, history: list[Finished], pending: list[Mapping[str, Any]],
                 index: int) -> dict[str, Any] | None:
        name = pick(self.space, sum(t.usable for t in history), index)
        self._picked = name
        if name not in self._models:
            cls = GPSampler if name == "gp" else TPESampler
            self._models[name] = cls(self.space, seed=self.seed, **self._options)
        return self._models[name].propose_model(history, pending, index)
