"""The tables under their short names, and the pieces the query modules share.

The queries work on the Core tables: one short transaction a call, rows turned
into the plain records of :mod:`hpsearch.storage.records` before they leave the storage.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.engine import Connection

from hpsearch.storage.models import ROUNDS, STUDIES, TRIAL_STEPS, TRIALS
from hpsearch.storage.records import TrialRecord

__all__ = ["STUDY", "ROUND", "TRIAL", "STEP", "TRIAL_COLUMNS", "trial_record", "best_row"]

STUDY = STUDIES
ROUND = ROUNDS
TRIAL = TRIALS
STEP = TRIAL_STEPS

#: The columns a :class:`TrialRecord` is made of (all but ``study_id``).
TRIAL_COLUMNS = (
    TRIAL.c.id, TRIAL.c.number, TRIAL.c.round, TRIAL.c.state, TRIAL.c.params, TRIAL.c.value,
    TRIAL.c.metrics, TRIAL.c.seed, TRIAL.c.worker, TRIAL.c.device, TRIAL.c.heartbeat,
    TRIAL.c.started_at, TRIAL.c.finished_at, TRIAL.c.error, TRIAL.c.retry_of,
    TRIAL.c.sample_index, TRIAL.c.proposed_by, TRIAL.c.pruned_step, TRIAL.c.note,
    TRIAL.c.objective_values.label("values"), TRIAL.c.feasible, TRIAL.c.violation,
)


def trial_record(row: Row, **overrides: Any) -> TrialRecord:
    """A record from a row of :data:`TRIAL_COLUMNS`, with some fields replaced."""
    data = dict(row._mapping)
    data.update(overrides)
    return TrialRecord(**data)


def best_row(conn: Connection, study_id: int, direction: str, *, round_: int | None = None) -> Row | None:
    """The best complete feasible trial of a study (or of one round): by value, then by
    number (a trial that broke a constraint is never best)."""
    order = TRIAL.c.value.desc() if direction == "maximize" else TRIAL.c.value.asc()
    stmt = select(*TRIAL_COLUMNS).where(
        TRIAL.c.study_id == study_id, TRIAL.c.state == "complete", TRIAL.c.value.is_not(None),
        TRIAL.c.feasible.is_not(False))
    if round_ is not None:
        stmt = stmt.where(TRIAL.c.round == round_)
    return conn.execute(stmt.order_by(order, TRIAL.c.number).limit(1)).first()
