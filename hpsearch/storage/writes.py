"""The statements of the per-trial hot path (claim, record), behind one small interface.

:meth:`TrialQueries.claim <hpsearch.storage.trials.TrialQueries.claim>` and ``finish`` say
*what* happens in their one write transaction; a :class:`TrialWrites` says how each step is
written. :class:`CoreWrites` is SQLAlchemy Core on a :class:`~sqlalchemy.engine.Connection`
(PostgreSQL, and SQLite where the fast path is off); :mod:`~hpsearch.storage.sqlite_writes`
has the same statements on SQLite's DB-API connection. Both write the same rows (JSON
through :func:`~hpsearch.storage.limits.json_dumps`, ``None`` in a JSON column as JSON
``null``, as SQLAlchemy's JSON type does).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Mapping, Sequence

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection

from hpsearch.storage.models import FINISHED_STATES
from hpsearch.storage.records import RoundHistory, TrialRecord
from hpsearch.storage.tables import ROUND, STEP, STUDY, TRIAL, TRIAL_COLUMNS, trial_record

__all__ = ["TrialWrites", "CoreWrites", "TAKEN_OVER_ERROR", "round_history"]

#: The error of a queued retry that is not run because the trial it retried finished after all.
TAKEN_OVER_ERROR = "not run: trial {number}, which it retried, finished after all"

# The per-trial statements, built once. Built inside claim()/finish() on every call, SQLAlchemy
# re-coerces every column expression and recomputes each statement's cache key. Values travel
# as bind parameters (names that are not column names: sid, rid, rnd, lim, tid).
Q_QUEUED = (
    # Any round: an interrupted trial or a queued retry of an earlier round still runs (with its
    # own params) after a `refine` made a newer round the current one.
    select(*TRIAL_COLUMNS)
    .where(TRIAL.c.study_id == bindparam("sid"), TRIAL.c.state.in_(("queued", "interrupted")))
    # "+ 0": ordered by the bare column, SQLite walks the (study_id, number) unique index over
    # every trial of the study (O(study size) per claim, slow on a large study); this way it
    # uses ix_trials_study_state and sorts the handful of queued rows.
    .order_by(TRIAL.c.number + 0).limit(1).with_for_update(skip_locked=True)
)
_Q_RUNNING = select(func.count()).select_from(TRIAL).where(
    TRIAL.c.study_id == bindparam("sid"), TRIAL.c.state == "running")
U_TRIAL = update(TRIAL).where(TRIAL.c.id == bindparam("tid"))
_U_TRIAL_RUNNING = update(TRIAL).where(TRIAL.c.id == bindparam("tid"), TRIAL.c.state == "running")
_U_ROUND = (update(ROUND).where(ROUND.c.id == bindparam("rid"))
            .values(n_claimed=ROUND.c.n_claimed + 1).returning(ROUND.c.n_claimed))
_U_ROUND_LIMIT = (update(ROUND)
                  .where(ROUND.c.id == bindparam("rid"), ROUND.c.n_claimed < bindparam("lim"))
                  .values(n_claimed=ROUND.c.n_claimed + 1).returning(ROUND.c.n_claimed))
U_STUDY = (update(STUDY).where(STUDY.c.id == bindparam("sid"))
           .values(next_number=STUDY.c.next_number + 1).returning(STUDY.c.next_number))
_I_TRIAL = insert(TRIAL).returning(TRIAL.c.id)
# A note is added to what the trial has (steps dropped earlier, then the pruner's reason).
NOTE_ADDED = func.coalesce(TRIAL.c.note + "; ", "") + bindparam("note_add")


_Q_HISTORY = (
    select(TRIAL.c.number, TRIAL.c.params, TRIAL.c.value, TRIAL.c.state,
           TRIAL.c.objective_values, TRIAL.c.feasible, TRIAL.c.started_at,
           TRIAL.c.finished_at, TRIAL.c.proposed_by)
    .where(TRIAL.c.study_id == bindparam("sid"), TRIAL.c.round == bindparam("rnd"),
           TRIAL.c.state.in_(FINISHED_STATES + ("running",)))
    .order_by(TRIAL.c.number)
)


def round_history(conn: Connection, study_id: int, round_number: int) -> RoundHistory:
    """The round's finished trials (complete, pruned, failed; by number) and the params of its
    running ones, read in ``conn``'s transaction (the claim's, after the study lock)."""
    return RoundHistory.from_rows(conn.execute(_Q_HISTORY, {"sid": study_id, "rnd": round_number}))


class TrialWrites(ABC):
    """The steps of a claim or a record inside one open write transaction.

    ``row`` arguments are the trial's columns by name plus ``tid`` (the trial's id) and, when
    a note is to be added to the trial's note, ``note_add``."""

    @abstractmethod
    def running(self, study_id: int) -> int:
        """How many trials of the study are running."""

    @abstractmethod
    def queued(self, study_id: int) -> TrialRecord | None:
        """The study's first queued or interrupted trial (by number), or None."""

    @abstractmethod
    def take(self, trial_id: int, taken: Mapping[str, Any]) -> None:
        """Set a queued trial's columns (``taken``) as it is claimed."""

    @abstractmethod
    def next_index(self, round_id: int, limit: int | None) -> int | None:
        """The round's claim counter, incremented (None: ``limit`` claims reached)."""

    @abstractmethod
    def next_number(self, study_id: int) -> int:
        """The study's trial-number counter, incremented."""

    @abstractmethod
    def history(self, study_id: int, round_number: int) -> RoundHistory:
        """The round's history (:func:`round_history`)."""

    @abstractmethod
    def insert_trial(self, values: Mapping[str, Any]) -> int:
        """Insert a trial; its id."""

    @abstractmethod
    def finish_running(self, row: Mapping[str, Any]) -> bool:
        """Record the outcome of a trial that is still running; False when it is not."""

    @abstractmethod
    def trial_state(self, trial_id: int) -> tuple[int, int, str] | None:
        """(study id, number, state) of a trial, or None."""

    @abstractmethod
    def update_trial(self, row: Mapping[str, Any]) -> None:
        """Set a trial's columns whatever its state."""

    @abstractmethod
    def drop_queued_retries(self, study_id: int, number: int, finished_at: float) -> None:
        """Fail the queued retries of trial ``number`` (it finished after all)."""

    @abstractmethod
    def replace_steps(self, trial_id: int, steps: Sequence[tuple[int, dict[str, Any]]]) -> None:
        """Store steps, replacing the trial's steps from the first one on."""


class CoreWrites(TrialWrites):
    """:class:`TrialWrites` in SQLAlchemy Core on ``conn`` (its transaction begun)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def running(self, study_id: int) -> int:
        return self.conn.execute(_Q_RUNNING, {"sid": study_id}).scalar_one()

    def queued(self, study_id: int) -> TrialRecord | None:
        row = self.conn.execute(Q_QUEUED, {"sid": study_id}).first()
        return None if row is None else trial_record(row)

    def take(self, trial_id: int, taken: Mapping[str, Any]) -> None:
        self.conn.execute(U_TRIAL, {"tid": trial_id, **taken})

    def next_index(self, round_id: int, limit: int | None) -> int | None:
        if limit is None:
            return self.conn.execute(_U_ROUND, {"rid": round_id}).scalar_one_or_none()
        return self.conn.execute(_U_ROUND_LIMIT, {"rid": round_id, "lim": limit}).scalar_one_or_none()

    def next_number(self, study_id: int) -> int:
        return self.conn.execute(U_STUDY, {"sid": study_id}).scalar_one()

    def history(self, study_id: int, round_number: int) -> RoundHistory:
        return round_history(self.conn, study_id, round_number)

    def insert_trial(self, values: Mapping[str, Any]) -> int:
        return self.conn.execute(_I_TRIAL, dict(values)).scalar_one()

    def finish_running(self, row: Mapping[str, Any]) -> bool:
        stmt = _U_TRIAL_RUNNING if "note_add" not in row else _U_TRIAL_RUNNING.values(note=NOTE_ADDED)
        return self.conn.execute(stmt, dict(row)).rowcount > 0

    def trial_state(self, trial_id: int) -> tuple[int, int, str] | None:
        row = self.conn.execute(select(TRIAL.c.study_id, TRIAL.c.number, TRIAL.c.state)
                                .where(TRIAL.c.id == trial_id)).first()
        return None if row is None else (row.study_id, row.number, row.state)

    def update_trial(self, row: Mapping[str, Any]) -> None:
        stmt = U_TRIAL if "note_add" not in row else U_TRIAL.values(note=NOTE_ADDED)
        self.conn.execute(stmt, dict(row))

    def drop_queued_retries(self, study_id: int, number: int, finished_at: float) -> None:
        self.conn.execute(update(TRIAL).where(
            TRIAL.c.study_id == study_id, TRIAL.c.retry_of == number,
            TRIAL.c.state == "queued").values(
                state="failed", finished_at=finished_at,
                error=TAKEN_OVER_ERROR.format(number=number)))

    def replace_steps(self, trial_id: int, steps: Sequence[tuple[int, dict[str, Any]]]) -> None:
        # A re-run of an interrupted trial reports its steps again: replace the old ones.
        first = min(s for s, _ in steps)
        self.conn.execute(STEP.delete().where(STEP.c.trial_id == trial_id, STEP.c.step >= first))
        self.conn.execute(insert(STEP), [
            {"trial_id": trial_id, "step": int(s), "metrics": m} for s, m in steps])
