"""The pruner interface: a decision from the stored steps of a round.

A pruner answers one question after a trial reports a step: stop it now? It answers from data
alone: the trial's own curve and the stored curves of the other trials of the same round, as a
storage query returns them. It keeps no state between calls, so any worker on any machine, a
cron run started an hour later, or the same worker after a restart takes the same decision
from the same database::

    pruner = make_pruner("asha", settings, seed=study.seed)
    if pruner.due(trial):                       # cheap: no query when no decision is possible
        decision = pruner.should_prune(trial, peers, maximize=True)
        if decision.prune: ...                  # decision.reason says why, for the log and `show`

``trial`` and each value of ``peers`` are :class:`TrialSteps`: a trial number, its state, and
``{step: value}`` of the pruner's metric. ``peers`` (:data:`RoundSteps`) maps the numbers of the
*other* trials of the round to their steps; the trial itself is not among them.

Conventions every pruner follows:

- A NaN in the trial's own curve is a real report ("the loss is NaN"); in a peer's curve it is
  ignored (the database stores a non-finite value as null, and the query maps it to NaN).
- ``maximize`` is the direction of the pruner's metric, not necessarily the study's
  (:meth:`hpsearch.pruners.PrunerSettings.resolve`).
- Steps are the objective's own (epochs of the built-in trainer count from 1).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from hpsearch.values import fmt

__all__ = [
    "Decision", "TrialSteps", "StepHistory", "RoundSteps", "Pruner",
    "best_so_far", "value_at_or_after", "fmt_value", "Pruned",
]


@dataclass(frozen=True)
class Decision:
    """What a pruner decided: ``prune`` and a one-line ``reason`` (empty when nothing was
    checked, for example during warm-up)."""

    prune: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.prune


class TrialSteps(Protocol):
    """What a pruner reads of one trial; :class:`StepHistory` or a storage record alike."""

    @property
    def number(self) -> int: ...

    @property
    def state(self) -> str: ...

    @property
    def values(self) -> Mapping[int, float]: ...


@dataclass(frozen=True)
class StepHistory:
    """A trial's curve of the pruner's metric: ``values`` maps step -> value."""

    number: int
    state: str = "running"
    values: Mapping[int, float] = field(default_factory=dict)


#: The other trials of the round, by trial number.
RoundSteps = Mapping[int, TrialSteps]

class Pruner(ABC):
    """Decides from stored curves whether a running trial should stop.

    Subclasses set ``name`` (the registry key, also ``[study] pruner``) and ``keys`` (the
    ``[pruner]`` settings they read, besides the common metric, direction and value), and
    implement :meth:`should_prune`. They may override :meth:`due` so that the run loop can skip
    the peers' query at steps where no decision is possible.
    """

    name: ClassVar[str]
    keys: ClassVar[tuple[str, ...]] = ()
    #: Which of the trial's values is compared: "best" (best so far) or "last" (at the step).
    default_value: ClassVar[str] = "best"
    #: The states of the peers the rule reads (None: all); the storage query may filter on it.
    peer_states: ClassVar[tuple[str, ...] | None] = None

    def __init__(self, settings: Any, *, seed: int = 0) -> None:
        """``settings``: a :class:`~hpsearch.pruners.settings.PrunerSettings`."""
        self.settings = settings
        self.seed = seed
        self.metric = settings.metric or "value"
        self.value = settings.value or self.default_value

    def due(self, trial: TrialSteps) -> bool:
        """Whether :meth:`should_prune` could prune at the trial's latest step (no peers needed)."""
        return bool(trial.values)

    @abstractmethod
    def should_prune(self, trial: TrialSteps, peers: RoundSteps, *, maximize: bool) -> Decision:
        """Whether to stop ``trial`` at its latest step, given the other trials of its round."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.settings!r}, seed={self.seed})"


class Pruned(Exception):
    """Raised by an objective (or by ``report`` on its behalf) to stop a trial the pruner gave up
    on; the run loop stores the trial as ``pruned``. Like a finished trial it is an outcome, not
    an error of the tool, so it is no :class:`~hpsearch.errors.HpsearchError`."""

    def __init__(self, reason: str = "pruned", *, step: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.step = step


def _better(a: float, b: float, maximize: bool) -> bool:
    return a > b if maximize else a < b


def best_so_far(values: Mapping[int, float], upto: int, *, maximize: bool) -> float:
    """The best value at steps <= ``upto``; NaN when there is none that is a number."""
    best = math.nan
    for step, v in values.items():
        if step <= upto and not math.isnan(v) and (math.isnan(best) or _better(v, best, maximize)):
            best = v
    return best


def value_at_or_after(values: Mapping[int, float], step: int) -> tuple[int, float] | None:
    """The first reported ``(step, value)`` at or after ``step``, or None: the value a trial
    brought to a rung when it reported sparsely (every 5 epochs, say)."""
    later = [s for s in values if s >= step]
    if not later:
        return None
    first = min(later)
    return first, values[first]


def fmt_value(v: float) -> str:
    """A value in a reason: 4 significant digits."""
    return fmt(float(v), digits=4)
