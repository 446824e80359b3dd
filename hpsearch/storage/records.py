"""Plain records handed out by :class:`~hpsearch.storage.Storage` (no ORM objects escape it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
    steps: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


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
