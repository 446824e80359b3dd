"""``pruner = "none"``: every trial runs to its end (the default)."""

from __future__ import annotations

from hpsearch.pruners.base import Decision, Pruner, RoundSteps, TrialSteps

__all__ = ["NonePruner"]


class NonePruner(Pruner):
    """Never prunes; :meth:`due` is always false, so the run loop never queries the peers."""

    name = "none"

    def due(self, trial: TrialSteps) -> bool:
        return False

    def should_prune(self, trial: TrialSteps, peers: RoundSteps, *, maximize: bool) -> Decision:
        return Decision(False)
