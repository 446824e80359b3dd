"""``pruner = "asha"``: asynchronous successive halving, rungs read from the database.

Rungs lie at steps ``min_resource * reduction_factor ** (min_early_stopping_rate + k)``,
k = 0, 1, ... (and, when ``max_resource`` is set, strictly below it: a trial that has reached
its full budget has nothing left to save). When a trial's latest report is its first at or past
a rung, it competes there with every value recorded at that rung so far: its own and, for each
other trial of the round that has a step at or past the rung, the value it brought there (its
first step at or past the rung -- the same value whether it reported every step or every fifth).
The trial is promoted iff it is among the best ``max(1, n // reduction_factor)`` of those ``n``
values (ties promote); otherwise it is pruned. This is Optuna's ``SuccessiveHalvingPruner``
rule, including its leniency: the first trials at a rung, fewer than ``reduction_factor`` of
them, are promoted when they are the best so far.

"So far" is what the database holds when the trial asks. Nothing lives in memory between
calls, so trials of any state and from any process compete (a pruned trial's values at the rungs
it reached count: they were recorded there), and a trial judged once is not judged again at the
same rung. The run loop writes a step before it asks: of two trials reaching a rung at the same
moment, the later one to ask always sees the other's value.

``value = "last"`` (the default) compares values at the rung; ``"best"`` compares each trial's
best value up to the rung, steadier on a noisy curve.
"""

from __future__ import annotations

import math

from hpsearch.pruners.base import (
    Decision, Pruner, RoundSteps, TrialSteps, best_so_far, fmt_value, value_at_or_after,
)

__all__ = ["AshaPruner", "rung_steps", "promoted"]

#: Measured on the digits space (benchmarks/bench_pruning_digits.py; the figures are in
#: benchmarks/README.md): rf 3 trains as few epochs as rf 4 and loses the best configuration
#: less often.
DEFAULT_REDUCTION_FACTOR = 3


def rung_steps(min_resource: int, reduction_factor: int, min_early_stopping_rate: int,
               upto: int, *, max_resource: int | None = None) -> list[int]:
    """The rung steps <= ``upto`` (and < ``max_resource`` when given), in order."""
    out = []
    r = min_resource * reduction_factor ** min_early_stopping_rate
    while r <= upto and (max_resource is None or r < max_resource):
        out.append(r)
        r *= reduction_factor
    return out


def promoted(value: float, competing: list[float], reduction_factor: int, *,
             maximize: bool) -> tuple[bool, float]:
    """Whether ``value`` is among the best ``max(1, n // reduction_factor)`` of ``competing``
    (which holds it), and the value it had to reach."""
    k = max(1, len(competing) // reduction_factor)
    ranked = sorted(competing, reverse=maximize)
    bar = ranked[k - 1]
    return (value >= bar if maximize else value <= bar), bar


class AshaPruner(Pruner):
    name = "asha"
    keys = ("min_resource", "reduction_factor", "min_early_stopping_rate", "max_resource")
    default_value = "last"

    def __init__(self, settings, *, seed: int = 0, early_stopping_rate: int | None = None) -> None:
        super().__init__(settings, seed=seed)
        self.reduction_factor = settings.reduction_factor or DEFAULT_REDUCTION_FACTOR
        self.early_stopping_rate = (settings.min_early_stopping_rate if early_stopping_rate is None
                                    else early_stopping_rate)

    def _rungs(self, upto: int) -> list[int]:
        s = self.settings
        return rung_steps(s.min_resource, self.reduction_factor, self.early_stopping_rate, upto,
                          max_resource=s.max_resource)

    def new_rungs(self, trial: TrialSteps) -> list[tuple[int, int]]:
        """``(k, step)`` of the rungs the trial's latest report reached for the first time."""
        if not trial.values:
            return []
        step = max(trial.values)
        previous = max((s for s in trial.values if s < step), default=-1)
        return [(k, r) for k, r in enumerate(self._rungs(step)) if r > previous]

    def due(self, trial: TrialSteps) -> bool:
        return bool(self.new_rungs(trial))

    def rung_value(self, values, rung: int, *, maximize: bool) -> float | None:
        """The value a curve brought to ``rung``; None if it never got there."""
        hit = value_at_or_after(values, rung)
        if hit is None:
            return None
        step, value = hit
        return best_so_far(values, step, maximize=maximize) if self.value == "best" else value

    def should_prune(self, trial: TrialSteps, peers: RoundSteps, *, maximize: bool) -> Decision:
        reason = ""
        for k, rung in self.new_rungs(trial):
            own = self.rung_value(trial.values, rung, maximize=maximize)
            if own is None or math.isnan(own):
                return Decision(True, f"{self.metric} is NaN at rung {k} (step {rung})")
            competing = [own]
            for peer in peers.values():
                v = self.rung_value(peer.values, rung, maximize=maximize)
                if v is not None and not math.isnan(v):
                    competing.append(v)
            ok, bar = promoted(own, competing, self.reduction_factor, maximize=maximize)
            top = max(1, len(competing) // self.reduction_factor)
            reason = (f"{self.metric} {fmt_value(own)} at rung {k} (step {rung}) is "
                      f"{'' if ok else 'not '}in the best {top} of {len(competing)} "
                      f"(bar {fmt_value(bar)})")
            if not ok:
                return Decision(True, reason)
        return Decision(False, reason)
