"""Pruners: stop hopeless trials early, from the steps stored for their round.

Public API::

    PRUNERS                 name -> class: none, median, asha, hyperband
    make_pruner(name, settings=None, *, seed=0) -> Pruner
    Pruner                  .due(trial) -> bool
                            .should_prune(trial, peers, *, maximize) -> Decision
    Decision                prune: bool, reason: str
    Pruned                  the exception that stops a pruned trial (step, reason)
    StepHistory, TrialSteps, RoundSteps     a trial's curve; the other trials of its round
    PrunerSettings, parse_pruner_table(table, source, *, kind=None)   the [pruner] table

See docs/pruning.md for the rules and the settings.
"""

from hpsearch.pruners.base import (
    PRUNERS, Decision, Pruned, Pruner, RoundSteps, StepHistory, TrialSteps, make_pruner,
)
from hpsearch.pruners.none import NonePruner
from hpsearch.pruners.median import MedianPruner
from hpsearch.pruners.asha import AshaPruner
from hpsearch.pruners.hyperband import HyperbandPruner
from hpsearch.pruners.settings import PrunerSettings, parse_pruner_table

__all__ = [
    "PRUNERS", "make_pruner", "Pruner", "Decision", "Pruned",
    "StepHistory", "TrialSteps", "RoundSteps",
    "NonePruner", "MedianPruner", "AshaPruner", "HyperbandPruner",
    "PrunerSettings", "parse_pruner_table",
]
