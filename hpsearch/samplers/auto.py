"""auto: the model that suits the round's progress, and which one it picked.

The rule (measured with ``benchmarks/bench_quality_model.py``)::

    < GP_MAX_TRIALS completed trials in the round   -> tpe and gp in turn, on the same history
                                                       (tpe at even sample indices, gp at odd)
    more                                            -> tpe    (GP's fit grows with n³)

Why alternate: GP alone wins on a smooth landscape (Hartmann-6, 50 trials: median -3.320 against
Optuna's TPE -3.078) but explores too little where a narrow optimum sits in a flat landscape;
TPE explores. Taking turns, each model learns from the other's points. GP fits power-transformed
values (:func:`hpsearch.samplers.gp.power_warp`), which lets it see the slope of a flat
landscape too. Design runs (seeds 0-19, median): the log-scaled narrow bump at 30 trials 0.999
(0.18 without the transform; Optuna's TPE 0.36), Hartmann-6 at 30 trials -3.02 (-3.00 without;
Optuna's TPE -2.43). GP first instead of TPE first gave the same at 50 and 100 trials but lagged
on the bump at 30.

Spaces with choices and conditions take turns too. GP treats a choice as a categorical kernel
dimension and draws a parameter that some trials lack at random, which sounded crude, so the
first rule gave such spaces to TPE alone; measured, taking turns did better: the digits space
(seeds 0-9, 30/50/100 trials) 0.9764/0.9806/0.9833 against TPE alone 0.9750/0.9778/0.9806, the
conditional space (seeds 0-19) 0.800/0.800/0.800 against 0.769/0.800/0.800. The held-out
figures are in benchmarks/README.md. :data:`GP_MAX_TRIALS` is a cost bound.

Each proposal's :attr:`Proposal.method` names the pick (``gp``, ``tpe``), or ``sobol`` for the
start-up trials, so the run log and ``report`` can show it. The pick depends only on the
number of completed trials and the sample index, so it is as reproducible as the models
themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hpsearch.samplers.gp import GPSampler
from hpsearch.samplers.model import Finished, ModelSampler
from hpsearch.samplers.tpe import TPESampler

__all__ = ["AutoSampler", "GP_MAX_TRIALS", "pick"]

GP_MAX_TRIALS = 200
"""Completed trials of a round after which auto uses TPE alone (GP's fit grows with n³)."""


def pick(completed: int, index: int = 0) -> str:
    """``tpe`` or ``gp``: the model ``auto`` uses after ``completed`` trials of the round, at
    its sample ``index``."""
    if completed >= GP_MAX_TRIALS:
        return "tpe"
    # TPE and GP take turns on the same history. GP exploits a smooth landscape (Hartmann-6),
    # TPE explores where GP alone gets stuck; each learns from the other's points (see the
    # module docstring for the figures).
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
        name = pick(sum(t.usable for t in history), index)
        self._picked = name
        if name not in self._models:
            cls = GPSampler if name == "gp" else TPESampler
            self._models[name] = cls(self.space, seed=self.seed, **self._options)
        return self._models[name].propose_model(history, pending, index)
