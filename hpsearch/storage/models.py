"""SQLAlchemy 2.0 tables (Core): studies, rounds, trials, per-step metrics, the schema version.

Numbering under concurrency: ``trials.number`` is unique per study (a constraint, unlike
optuna's), and it is kept contiguous because numbers are handed out by incrementing
``studies.next_number`` inside the same short write transaction that inserts the trial. That
UPDATE takes the study's row lock (PostgreSQL) or the database write lock (SQLite, where the
transaction is opened with ``BEGIN IMMEDIATE``), so two workers can never draw the same number.
The per-round counters (``rounds.n_claimed``) work the same way and give the sampler index.

Times are Unix seconds (floats): heartbeats are compared arithmetically, and the same column
type works on SQLite and PostgreSQL.

The tables are declared with Core ``Table`` objects: every query is Core (no ORM session, no
mapped objects), and ``sqlalchemy.orm`` with its declarative mapping would cost every process
a tenth of a second or more of start-up for nothing. A column is ``NOT NULL`` unless it says
``nullable=True``; the DDL is what the earlier declarative models emitted (tests compare it).
"""

from __future__ import annotations

from sqlalchemy import (JSON, Boolean, Column, Float, ForeignKey, Index, Integer, MetaData, String,
                        Table, Text, UniqueConstraint)

__all__ = ["METADATA", "META", "STUDIES", "ROUNDS", "TRIALS", "TRIAL_STEPS", "SCHEMA_VERSION",
           "STATES", "FINISHED_STATES"]

SCHEMA_VERSION = 3

#: Trial states. ``interrupted`` and ``queued`` trials are claimed again before new ones are drawn.
STATES = ("queued", "running", "complete", "pruned", "failed", "interrupted")
FINISHED_STATES = ("complete", "pruned", "failed")

METADATA = MetaData()


def _col(name: str, kind, *args, nullable: bool = False, **kw) -> Column:
    return Column(name, kind, *args, nullable=nullable, **kw)


#: Key/value facts about the database itself; ``schema_version`` above all.
META = Table(
    "hpsearch_meta", METADATA,
    _col("key", String(64), primary_key=True),
    _col("value", String(256)),
)

STUDIES = Table(
    "studies", METADATA,
    _col("id", Integer, primary_key=True),
    _col("name", String(200), unique=True),
    _col("metric", String(100)),
    _col("direction", String(10)),
    _col("sampler", String(20)),
    _col("seed", Integer),
    #: The whole space file as loaded (round 1), as a TOML-ready dict.
    _col("space", JSON),
    _col("source", Text, default=""),
    _col("next_number", Integer, default=0),
    _col("created_at", Float),
)

#: A space plus the trials sampled in it; round 1 is the file's space, later ones come from
#: ``refine``. ``target``: how many trials it should have (``run`` resumes up to it);
#: ``n_claimed``: trials drawn from its sampler so far (the next one gets that sample index).
ROUNDS = Table(
    "rounds", METADATA,
    _col("id", Integer, primary_key=True),
    _col("study_id", Integer, ForeignKey("studies.id", ondelete="CASCADE")),
    _col("number", Integer),
    _col("parent", Integer, nullable=True),
    _col("space", JSON),
    _col("rule", JSON, nullable=True),
    _col("sampler", String(20)),
    _col("seed", Integer),
    _col("target", Integer),
    _col("n_claimed", Integer, default=0),
    _col("created_at", Float),
    UniqueConstraint("study_id", "number"),
)

TRIALS = Table(
    "trials", METADATA,
    _col("id", Integer, primary_key=True),
    _col("study_id", Integer, ForeignKey("studies.id", ondelete="CASCADE")),
    _col("round", Integer, default=1),
    _col("number", Integer),
    # Index in the round's sampler sequence; None for a retry of a stale trial.
    _col("sample_index", Integer, nullable=True),
    _col("state", String(12)),
    _col("params", JSON),
    _col("value", Float, nullable=True),
    _col("metrics", JSON, nullable=True),
    _col("seed", Integer),
    _col("worker", String(200), nullable=True),
    _col("device", String(50), nullable=True),
    _col("heartbeat", Float, nullable=True),
    _col("started_at", Float, nullable=True),
    _col("finished_at", Float, nullable=True),
    _col("error", Text, nullable=True),
    _col("retry_of", Integer, nullable=True),
    # Schema version 2: which sampler proposed the params ("random", "sobol", "tpe", ...), the
    # step a pruned trial stopped at, free text (why it was pruned, steps not stored, ...).
    _col("proposed_by", String(20), nullable=True),
    _col("pruned_step", Integer, nullable=True),
    _col("note", Text, nullable=True),
    # Schema version 3 (several objectives, constraints): every objective's value, metric ->
    # value in the study's order (``value`` stays the first, so every single-objective query
    # reads what it always read); the constraint verdict of a complete trial (None: before
    # schema 3, or not complete); the constraints an infeasible trial broke, "; "-separated.
    _col("objective_values", JSON, nullable=True),
    _col("feasible", Boolean, nullable=True),
    _col("violation", Text, nullable=True),
    UniqueConstraint("study_id", "number"),
    Index("ix_trials_study_state", "study_id", "state"),
    Index("ix_trials_study_value", "study_id", "value"),
)

#: One intermediate report (an epoch of the built-in trainer, a ``report(step, ...)`` call).
TRIAL_STEPS = Table(
    "trial_steps", METADATA,
    _col("id", Integer, primary_key=True),
    _col("trial_id", Integer, ForeignKey("trials.id", ondelete="CASCADE"), index=True),
    _col("step", Integer),
    _col("metrics", JSON),
    UniqueConstraint("trial_id", "step"),
)
