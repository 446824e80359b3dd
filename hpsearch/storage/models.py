"""SQLAlchemy 2.0 models: studies, rounds, trials, per-step metrics, and the schema version.

Numbering under concurrency: ``trials.number`` is unique per study (a constraint, unlike
optuna's), and it is kept contiguous because numbers are handed out by incrementing
``studies.next_number`` inside the same short write transaction that inserts the trial. That
UPDATE takes the study's row lock (PostgreSQL) or the database write lock (SQLite, where the
transaction is opened with ``BEGIN IMMEDIATE``), so two workers can never draw the same number.
The per-round counters (``rounds.n_claimed``) work the same way and give the sampler index.

Times are Unix seconds (floats): heartbeats are compared arithmetically, and the same column
type works on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any, Optional

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA_VERSION = 3

#: Trial states. ``interrupted`` and ``queued`` trials are claimed again before new ones are drawn.
STATES = ("queued", "running", "complete", "pruned", "failed", "interrupted")
FINISHED_STATES = ("complete", "pruned", "failed")


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Meta(Base):
    """Key/value facts about the database itself; ``schema_version`` above all."""

    __tablename__ = "hpsearch_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class Study(Base):
    __tablename__ = "studies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    metric: Mapped[str] = mapped_column(String(100))
    direction: Mapped[str] = mapped_column(String(10))
    sampler: Mapped[str] = mapped_column(String(20))
    seed: Mapped[int] = mapped_column(Integer)
    #: The whole space file as loaded (round 1), as a TOML-ready dict.
    space: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(Text, default="")
    next_number: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[float] = mapped_column(Float)


class Round(Base):
    """A space plus the trials sampled in it; round 1 is the file's space, later ones come from
    ``refine``."""

    __tablename__ = "rounds"
    __table_args__ = (UniqueConstraint("study_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    parent: Mapped[Optional[int]] = mapped_column(Integer)
    space: Mapped[dict[str, Any]] = mapped_column(JSON)
    rule: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    sampler: Mapped[str] = mapped_column(String(20))
    seed: Mapped[int] = mapped_column(Integer)
    #: How many trials this round should have (``run`` resumes up to it).
    target: Mapped[int] = mapped_column(Integer)
    #: Trials drawn from the sampler so far; the next trial gets sampler index ``n_claimed``.
    n_claimed: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[float] = mapped_column(Float)


class Trial(Base):
    __tablename__ = "trials"
    __table_args__ = (
        UniqueConstraint("study_id", "number"),
        Index("ix_trials_study_state", "study_id", "state"),
        Index("ix_trials_study_value", "study_id", "value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(Integer, default=1)
    number: Mapped[int] = mapped_column(Integer)
    #: Index in the round's sampler sequence; None for a retry of a stale trial.
    sample_index: Mapped[Optional[int]] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    value: Mapped[Optional[float]] = mapped_column(Float)
    metrics: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(Integer)
    worker: Mapped[Optional[str]] = mapped_column(String(200))
    device: Mapped[Optional[str]] = mapped_column(String(50))
    heartbeat: Mapped[Optional[float]] = mapped_column(Float)
    started_at: Mapped[Optional[float]] = mapped_column(Float)
    finished_at: Mapped[Optional[float]] = mapped_column(Float)
    error: Mapped[Optional[str]] = mapped_column(Text)
    retry_of: Mapped[Optional[int]] = mapped_column(Integer)
    # Schema version 2:
    #: Which sampler proposed the params ("random", "sobol", "tpe", ...).
    proposed_by: Mapped[Optional[str]] = mapped_column(String(20))
    #: The step a pruned trial stopped at.
    pruned_step: Mapped[Optional[int]] = mapped_column(Integer)
    #: Free text: why a trial was pruned, steps that could not be stored, ...
    note: Mapped[Optional[str]] = mapped_column(Text)
    # Schema version 3 (several objectives, constraints):
    #: Every objective's value, metric -> value in the study's order (``value`` stays the
    #: first, so every single-objective query reads what it always read).
    objective_values: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    #: The constraint verdict of a complete trial (None: before schema 3, or not complete).
    feasible: Mapped[Optional[bool]] = mapped_column(Boolean)
    #: The constraints an infeasible trial broke, one "; "-separated line.
    violation: Mapped[Optional[str]] = mapped_column(Text)


class TrialStep(Base):
    """One intermediate report (an epoch of the built-in trainer, a ``report(step, ...)`` call)."""

    __tablename__ = "trial_steps"
    __table_args__ = (UniqueConstraint("trial_id", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
