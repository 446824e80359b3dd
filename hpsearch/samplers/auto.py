"""auto: the model that suits the space and the round's progress, and which one it picked.

The rule (measured with ``benchmarks/bench_quality_model.py``; see the caveat below)::

    choices or conditions in the space          -> tpe    (categorical and grouped
                                                          conditional kernels; GP and CMA-ES
                                                          treat these crudely)
    purely numeric, < GP_MAX_TRIALS completed   -> gp     (best at small budgets)
    purely numeric, more                        -> tpe    (GP's fit grows with n³)

Measured (median of 5 seeds, 50 trials): on Hartmann-6 GP reaches -3.32 where TPE reaches
-2.82 and Optuna's TPE -3.08; but on a narrow log-scaled bump, flat almost everywhere, GP is
lost (0.006 against TPE's 0.53), as Optuna's own GP is. The numeric branch is therefore not
final: a hand-over to TPE while the history is flat is the next thing to measure.
:data:`GP_MAX_TRIALS` is a cost bound (GP's proposal time grows with n³), not yet measured.

Each proposal's :attr:`Proposal.method` names the pick (``gp``, ``tpe``), or ``sobol`` for the
start-up trials, so the run log and ``report`` can show it. The pick depends only on the space
and the history, so it is as reproducible as the models themselves.
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


def pick(space: Any, completed: int) -> str:
    """``tpe`` or ``gp``: the model ``auto`` uses for ``space`` after ``completed`` trials."""
    structured = any(p.kind == "choice" or p.when for p in space.params.values()
                     if p.searchable)
    if structured or completed >= GP_MAX_TRIALS:
        return "tpe"
    return "gp"


class AutoSampler(ModelSampler):
    """Delegates each proposal to :class:`GPSampler` or :class:`TPESampler` (see :func:`pick`)."""

    name = "auto"

    def __init__(self, space: Any, **kwargs: Any) -> None:
        super().__init__(space, **kwargs)
        self._models: dict[str, ModelSampler] = {}
        self._options = {k: v for k, v in kwargs.items() if k != "seed"}

    def method_for(self, history: Sequence[Finished]) -> str:
        return pick(self.space, sum(t.usable for t in history))

    def propose_model(self, history: list[Finished], pending: list[Mapping[str, Any]],
                 index: int) -> dict[str, Any] | None:
        name = self.method_for(history)
        if name not in self._models:
            cls = GPSampler if name == "gp" else TPESampler
            self._models[name] = cls(self.space, seed=self.seed, **self._options)
        return self._models[name].propose_model(history, pending, index)
