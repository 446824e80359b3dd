"""``pruner = "hyperband"``: several ASHA brackets side by side, each trial in one of them.

Hyperband hedges ASHA's one bet -- that a curve's early part predicts its end. Bracket ``b``
(0 <= b < n) is an ASHA whose first rung is at ``min_resource * reduction_factor ** b``: bracket 0
judges trials from the first step on (caviar: many eggs, most never grow up), the last bracket
judges nobody before ``max_resource`` (panda: few trials, each raised to the end -- plain random
search). Rungs at or past ``max_resource`` are left out: a trial that has used its budget has
nothing left to save. ``n`` is ``floor(log_rf(max_resource / min_resource)) + 1`` unless
``brackets`` asks for fewer, and bracket ``b`` receives a share of the trials proportional to
``ceil(n * rf ** (n - 1 - b) / (n - b))``, the paper's (and Optuna's) allocation.

Why brackets are an attribute of the trial, not rounds
------------------------------------------------------
Rounds already mean something else in hpsearch (a refine step: a new, narrowed space), and one
round per bracket would run the brackets one after the other, while the point of asynchronous
Hyperband is to run them all at once across workers. So a trial's bracket is a pure function of
the study's seed and the trial's number: ``crc32("{seed}:{number}")`` modulo the total share,
mapped onto the brackets' cumulative shares. Nothing is stored and nothing is coordinated:
every worker, on any machine, computes the same bracket for the same trial; a run resumed after
a restart (or a cron run an hour later) finds every trial's bracket again from the numbers in the
database, and the peers of a trial are the other trials of its round in the same bracket. A
retried stale trial gets a new number and may land in another bracket: it starts over anyway.
``crc32`` rather than ``hash()``: Python salts string hashes per process.
"""

from __future__ import annotations

import dataclasses
import math
import zlib

from hpsearch.pruners.asha import AshaPruner
from hpsearch.pruners.base import Decision, Pruner, RoundSteps, TrialSteps

__all__ = ["HyperbandPruner", "bracket_shares"]

DEFAULT_REDUCTION_FACTOR = 3


def bracket_shares(n_brackets: int, reduction_factor: int) -> list[int]:
    """How many trials of each ``sum(shares)`` go to each bracket, most aggressive first."""
    n = n_brackets
    return [math.ceil(n * reduction_factor ** (n - 1 - b) / (n - b)) for b in range(n)]


def hyperband_brackets(min_resource: int, max_resource: int, reduction_factor: int) -> int:
    """How many brackets fit: ``floor(log_rf(max/min)) + 1`` (Optuna's and the paper's count)."""
    # Integer arithmetic: log() of exact powers (27/1 with rf 3) may land just below the integer.
    n, r = 1, min_resource * reduction_factor
    while r <= max_resource:
        n, r = n + 1, r * reduction_factor
    return n


class HyperbandPruner(Pruner):
    name = "hyperband"
    keys = ("min_resource", "reduction_factor", "max_resource", "brackets")
    default_value = "last"

    def __init__(self, settings, *, seed: int = 0) -> None:
        super().__init__(settings, seed=seed)
        if settings.max_resource is None:
            from hpsearch.errors import SpaceError
            raise SpaceError("pruner.max_resource: hyperband needs the largest step a trial "
                             "reaches (the trainer's epochs, say)")
        self.reduction_factor = settings.reduction_factor or DEFAULT_REDUCTION_FACTOR
        self.n_brackets = settings.brackets or hyperband_brackets(
            settings.min_resource, settings.max_resource, self.reduction_factor)
        self.shares = bracket_shares(self.n_brackets, self.reduction_factor)
        # Each bracket is an ASHA on the same settings with its own first rung.
        asha_settings = dataclasses.replace(settings, reduction_factor=self.reduction_factor)
        self.brackets = [AshaPruner(asha_settings, seed=seed, early_stopping_rate=b)
                         for b in range(self.n_brackets)]

    def bracket(self, number: int) -> int:
        """Trial ``number``'s bracket: the same in every process, before and after a restart."""
        h = zlib.crc32(f"{self.seed}:{number}".encode()) % sum(self.shares)
        for b, share in enumerate(self.shares):
            if h < share:
                return b
            h -= share
        raise AssertionError("unreachable: h < sum(shares)")

    def due(self, trial: TrialSteps) -> bool:
        return self.brackets[self.bracket(trial.number)].due(trial)

    def should_prune(self, trial: TrialSteps, peers: RoundSteps, *, maximize: bool) -> Decision:
        b = self.bracket(trial.number)
        same = {n: p for n, p in peers.items() if self.bracket(n) == b}
        decision = self.brackets[b].should_prune(trial, same, maximize=maximize)
        if not decision.reason:
            return decision
        return Decision(decision.prune, f"bracket {b}: {decision.reason}")
