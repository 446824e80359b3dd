"""auto: the model that suits the round's progress, and which one it picked.

The rule (measured with ``benchmarks/bench_quality_model.py``)::

    < GP_MAX_TRIALS completed trials in the round   -> tpe and gp in turn, on the same history
                                                       (tpe at even sample indices, gp at odd)
    more                                            -> tpe    (GP's fit grows with n³)

Why alternate: GP alone wins on a smooth landscape but explores too little where a narrow
optimum sits in a flat landscape; TPE explores. Taking turns, each model learns from the other's
points. GP fits power-transformed values (:func:`hpsearch.samplers.gp.power_warp`), which lets
it see the slope of a flat landscape too. Spaces with choices and conditions take turns as
well: measured, that did better than TPE alone on them. The design runs and the held-out
figures behind each choice are in benchmarks/README.md. :data:`GP_MAX_TRIALS` is a cost bound.

Cost: a GP proposal costs about a second of CPU, a TPE proposal milliseconds (figures in
benchmarks/README.md). Where trials take a few milliseconds GP's turns would be nearly all of
the study's time, so a GP turn is taken only while the round's GP proposals stay within
:data:`PROPOSAL_SHARE` (100 %) of the round's trial time: ``spent + gp_seconds(n) <= 1.0 *
trial_seconds``, where ``trial_seconds`` is the sum of the stored durations of the round's
finished trials, ``spent`` is :func:`gp_seconds` at the current ``n`` times the number of those
trials GP proposed, and ``n`` the completed trials: GP's proposals never take longer than the
trials themselves, so a study takes at most about twice its trials' time. Trials of a second or
more keep every GP turn (the previous alternation, whose quality a 10 % share lost there:
benchmarks/README.md); trials of a tenth of a second get one now and then; instant ones get TPE
alone. The GP cost is an
estimate (:func:`gp_seconds`, deliberately not re-measured per run) so that the pick depends
only on the stored history: the same history and durations give the same picks on any machine.
A history without durations (a library caller's) keeps the plain alternation.

Each proposal's :attr:`Proposal.method` names the pick (``gp``, ``tpe``), or ``sobol`` for the
start-up trials, so the run log and ``report`` can show it. The pick depends only on the
number of completed trials, the sample index and the stored durations and proposers of the
finished trials, so it is as reproducible as the models themselves.

With several objectives or constraints the same rule runs over Optuna's multi-objective TPE
and GP (:class:`hpsearch.samplers.multi.MultiAutoSampler`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from hpsearch.samplers.gp import GPSampler
from hpsearch.samplers.model import Finished, ModelSampler
from hpsearch.samplers.tpe import TPESampler

__all__ = ["AutoSampler", "GP_MAX_TRIALS", "PROPOSAL_SHARE", "gp_seconds", "pick",
           "round_cost"]

GP_MAX_TRIALS = 200
"""Completed trials of a round after which auto uses TPE alone (GP's fit grows with n³)."""
PROPOSAL_SHARE = 1.0
"""The share of the round's trial time that GP proposals may take. Measured: at 10 %, 1-s trials
got 4 GP turns in 100 and lost the alternation's quality on Hartmann-6 and the narrow bump (IQRs
apart at 30 and 50 trials); at 30 % still behind on Hartmann-6; at 100 % 1-s trials keep every
turn (benchmarks/README.md, "Sampler cost side by side")."""


def gp_seconds(completed: int) -> float:
    """The estimated cost of one GP proposal after ``completed`` trials (seconds of CPU)."""
    return 0.6 + 0.015 * completed


def round_cost(history: Sequence[Finished]) -> tuple[float | None, int]:
    """The round's trial time (sum of the known durations; None when none is known) and the
    number of its finished trials that GP proposed."""
    known = [t.seconds for t in history if t.seconds is not None]
    return (sum(known) if known else None), sum(t.proposed_by == "gp" for t in history)


def pick(completed: int, index: int = 0, *, trial_seconds: float | None = None,
         gp_proposed: int = 0) -> str:
    """``tpe`` or ``gp``: the model ``auto`` uses after ``completed`` trials of the round, at
    its sample ``index``, given the round's ``trial_seconds`` and how many of its finished
    trials GP proposed (None: durations unknown, the plain alternation)."""
    if completed >= GP_MAX_TRIALS:
        return "tpe"
    # TPE and GP take turns on the same history. GP exploits a smooth landscape (Hartmann-6),
    # TPE explores where GP alone gets stuck; each learns from the other's points (see the
    # module docstring for the figures).
    if index % 2 == 0:
        return "tpe"
    if trial_seconds is None:
        return "gp"
    cost = gp_seconds(completed)
    return "gp" if (gp_proposed + 1) * cost <= PROPOSAL_SHARE * trial_seconds else "tpe"


class AutoSampler(ModelSampler):
    """Delegates each proposal to :class:`GPSampler` or :class:`TPESampler` (see :func:`pick`)."""

    name = "auto"
    #: The model behind each pick (several objectives: :class:`~hpsearch.samplers.multi.
    #: MultiAutoSampler` names Optuna's multi-objective TPE and GP).
    models: ClassVar[dict[str, type[ModelSampler]]] = {"tpe": TPESampler, "gp": GPSampler}

    def __init__(self, space: Any, **kwargs: Any) -> None:
        super().__init__(space, **kwargs)
        self._models: dict[str, ModelSampler] = {}
        self._options = {k: v for k, v in kwargs.items() if k != "seed"}
        self._picked = "tpe"

    def method_for(self, history: Sequence[Finished]) -> str:
        return self._picked

    def propose_model(self, history: list[Finished], pending: list[Mapping[str, Any]],
                 index: int) -> dict[str, Any] | None:
        trial_seconds, gp_proposed = round_cost(history)
        name = pick(sum(t.usable for t in history), index, trial_seconds=trial_seconds,
                    gp_proposed=gp_proposed)
        self._picked = name
        if name not in self._models:
            self._models[name] = self.models[name](self.space, seed=self.seed, **self._options)
        return self._models[name].propose_model(history, pending, index)
