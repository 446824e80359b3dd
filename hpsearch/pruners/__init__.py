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

from hpsearch.errors import SpaceError
from hpsearch.pruners.asha import AshaPruner
from hpsearch.pruners.base import Decision, Pruned, Pruner, RoundSteps, StepHistory, TrialSteps
from hpsearch.pruners.hyperband import HyperbandPruner
from hpsearch.pruners.median import MedianPruner
from hpsearch.pruners.none import NonePruner
from hpsearch.pruners.registry import PRUNERS
from hpsearch.pruners.settings import PrunerSettings, check_settings, parse_pruner_table


def make_pruner(name: str, settings: PrunerSettings | None = None, *, seed: int = 0) -> Pruner:
    """The pruner called ``name`` (:data:`PRUNERS`) with its settings (defaults when None).

    ``seed`` is the study's seed; only Hyperband uses it, to assign trials to brackets.
    Raises :class:`~hpsearch.errors.SpaceError` for an unknown name.
    """
    cls = PRUNERS.get(name)
    if cls is None:
        raise SpaceError(f"study.pruner: unknown pruner {name} (known: {', '.join(PRUNERS)})")
    return cls(settings if settings is not None else PrunerSettings(), seed=seed)


__all__ = [
    "PRUNERS", "make_pruner", "Pruner", "Decision", "Pruned",
    "StepHistory", "TrialSteps", "RoundSteps",
    "NonePruner", "MedianPruner", "AshaPruner", "HyperbandPruner",
    "PrunerSettings", "parse_pruner_table", "check_settings",
]
