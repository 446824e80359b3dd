"""Plain records handed out by :class:`~hpsearch.storage.Storage` (no ORM objects escape it)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence


@dataclass(frozen=True)
class StudyRecord:
    id: int
    name: str
    metric: str
    direction: str
    sampler: str
    seed: int
    space: dict[str, Any]
    source: str
    created_at: float

    @property
    def maximize(self) -> bool:
        return self.direction == "maximize"


@dataclass(frozen=True)
class RoundRecord:
    id: int
    study_id: int
    number: int
    parent: int | None
    space: dict[str, Any]
    rule: dict[str, Any] | None
    sampler: str
    seed: int
    target: int
    n_claimed: int
    created_at: float


@dataclass(frozen=True)
class TrialRecord:
    id: int
    number: int
    round: int
    state: str
    params: dict[str, Any]
    value: float | None
    metrics: dict[str, Any] | None
    seed: int
    worker: str | None = None
    device: str | None = None
    heartbeat: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    retry_of: int | None = None
    sample_index: int | None = None
    #: Which sampler proposed the params ("random", "sobol", "tpe", ...); None before schema 2.
    proposed_by: str | None = None
    #: The step a pruned trial stopped at.
    pruned_step: int | None = None
    #: Free text about the trial (why it was pruned, steps that could not be stored, ...).
    note: str | None = None
    steps: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    #: Every objective's value (metric -> value), None before schema 3 or when not complete.
    values: dict[str, Any] | None = None
    #: The constraint verdict: False when a constraint broke (None: unknown, read as feasible).
    feasible: bool | None = None
    #: The constraints an infeasible trial broke.
    violation: str | None = None

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at

    def replaced(self, **changes: Any) -> TrialRecord:
        """``dataclasses.replace`` for the run loop, which makes one a trial: a copy with
        ``changes``, its fields copied as they are (no ``__init__`` run again)."""
        unknown = changes.keys() - self.__dict__.keys()
        if unknown:
            raise TypeError(f"TrialRecord has no field {sorted(unknown)[0]!r}")
        new = object.__new__(TrialRecord)
        new.__dict__.update(self.__dict__, **changes)
        return new


@dataclass(frozen=True)
class StudySummary:
    name: str
    metric: str
    direction: str
    n_trials: int
    counts: dict[str, int]
    best_value: float | None
    best_number: int | None
    rounds: int
    created_at: float


@dataclass(frozen=True)
class FinishedTrial:
    """A finished trial of a round as a model sampler reads it."""

    number: int
    params: dict[str, Any]
    value: float | None
    state: str
    #: Every objective's value and the constraint verdict (schema 3; None before).
    values: dict[str, Any] | None = None
    feasible: bool | None = None
    #: How long it ran (finished_at - started_at), None where not stored; and what proposed
    #: it (cost-aware ``auto`` reads both: hpsearch.samplers.auto).
    seconds: float | None = None
    proposed_by: str | None = None

    @classmethod
    def from_row(cls, number: int, params: dict[str, Any], value: float | None, state: str,
                 values: dict[str, Any] | None, feasible: bool | None, started: float | None,
                 ended: float | None, by: str | None) -> FinishedTrial:
        """The trial from its history row (JSON already decoded)."""
        seconds = None if started is None or ended is None else max(0.0, ended - started)
        return cls(number=number, params=params, value=value, state=state, values=values,
                   feasible=feasible, seconds=seconds, proposed_by=by)


@dataclass(frozen=True)
class RoundHistory:
    """What a model sampler sees when it proposes, read inside the claim's transaction:
    the round's ``finished`` trials (complete, pruned, failed; by number) and the params of its
    trials running now (``pending``)."""

    finished: list[FinishedTrial] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[Any]]) -> RoundHistory:
        """The history from rows of (number, params, value, state, objective values,
        feasible, started_at, finished_at, proposed_by), by number, JSON already decoded."""
        finished, pending = [], []
        for row in rows:
            if row[3] == "running":
                pending.append(row[1])
            else:
                finished.append(FinishedTrial.from_row(*row))
        return cls(finished=finished, pending=pending)


@dataclass(frozen=True)
class StepSeries:
    """One trial's stored curve of one metric (:meth:`Storage.round_steps`): ``values`` maps
    step -> value; a null value is NaN, a step without the metric is left out."""

    number: int
    state: str
    values: dict[int, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Proposal:
    """A new trial's configuration and what proposed it (a sampler's name, or the method a model
    sampler used: "sobol" at start-up, "tpe", ...), stored as the trial's ``proposed_by``."""

    params: dict[str, Any]
    method: str | None = None


class Proposer(ABC):
    """What :meth:`~hpsearch.storage.Storage.claim` asks for a new trial: called with the
    sample index and, when ``uses_history``, the round's :class:`RoundHistory` read in the
    claim's transaction after the study lock (None otherwise)."""

    uses_history: bool = False

    @abstractmethod
    def __call__(self, index: int, history: RoundHistory | None) -> Proposal:
        """The proposal for sample ``index`` (``history``: the round's, or None)."""


class ByIndex(Proposer):
    """A function of the sample index as a :class:`Proposer` (``method``: the proposed_by
    stored with its trials, None by default)."""

    def __init__(self, fn: Callable[[int], Mapping[str, Any]], method: str | None = None) -> None:
        self.fn, self.method = fn, method

    def __call__(self, index: int, history: RoundHistory | None) -> Proposal:
        return Proposal(dict(self.fn(index)), self.method)
