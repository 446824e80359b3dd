"""The per-trial statements on SQLite's own DB-API connection: :class:`SqliteHotPath`.

The claim and the record of a trial are a handful of short statements each. Through
SQLAlchemy every statement costs its execution machinery (compiled-cache lookup, parameter
processing, events, a result object: about 0.1 ms) and every transaction a pooled connection
checkout; sqlite3 itself needs a few microseconds for each. So on SQLite these statements run
as plain SQL text on the ``sqlite3`` connection under SQLAlchemy's engine (its pool made it,
with the engine's pragmas: WAL, busy timeout, foreign keys), held by the thread that uses it,
with sqlite3's statement cache keeping them prepared. Nothing else changes: the same
transactions (``BEGIN IMMEDIATE`` ... ``COMMIT``, committed before the call returns), the same
rows as SQLAlchemy writes (:mod:`hpsearch.storage.writes`), and a database error arrives as
SQLAlchemy's (``sqlalchemy.exc.OperationalError`` ...), so the callers' retries and messages
are those of the Core path.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from typing import Any, Mapping, Sequence

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, StatementError

from hpsearch.storage.limits import json_dumps
from hpsearch.storage.records import FinishedTrial, RoundHistory, TrialRecord
from hpsearch.storage.writes import TAKEN_OVER_ERROR, TrialWrites

__all__ = ["SqliteHotPath", "SqliteWrites"]

# TrialRecord's fields and the trials columns they come from (``values`` is objective_values).
_FIELDS = ("id", "number", "round", "state", "params", "value", "metrics", "seed", "worker",
           "device", "heartbeat", "started_at", "finished_at", "error", "retry_of",
           "sample_index", "proposed_by", "pruned_step", "note", "values", "feasible",
           "violation")
_SELECT_TRIAL = "SELECT " + ", ".join("objective_values" if f == "values" else f
                                      for f in _FIELDS) + " FROM trials"
# Written as SQLAlchemy's JSON type writes them: JSON text, None as ``null``.
_JSON_COLUMNS = frozenset(("params", "metrics", "objective_values"))

_Q_QUEUED = (_SELECT_TRIAL + " WHERE study_id = ? AND state IN ('queued', 'interrupted')"
             " ORDER BY number + 0 LIMIT 1")
_Q_RUNNING = "SELECT count(*) FROM trials WHERE study_id = ? AND state = 'running'"
_Q_HISTORY = ("SELECT number, params, value, state, objective_values, feasible, started_at,"
              " finished_at, proposed_by FROM trials WHERE study_id = ? AND round = ?"
              " AND state IN ('complete', 'pruned', 'failed', 'running') ORDER BY number")
_U_ROUND = "UPDATE rounds SET n_claimed = n_claimed + 1 WHERE id = ? RETURNING n_claimed"
_U_ROUND_LIMIT = ("UPDATE rounds SET n_claimed = n_claimed + 1 WHERE id = ? AND n_claimed < ?"
                  " RETURNING n_claimed")
_U_STUDY = "UPDATE studies SET next_number = next_number + 1 WHERE id = ? RETURNING next_number"
_Q_ROUND = "SELECT * FROM rounds WHERE study_id = ? AND number = ?"
_Q_STATE = "SELECT study_id, number, state FROM trials WHERE id = ?"
_U_RETRIES = ("UPDATE trials SET state = 'failed', finished_at = ?, error = ?"
              " WHERE study_id = ? AND retry_of = ? AND state = 'queued'")
_D_STEPS = "DELETE FROM trial_steps WHERE trial_id = ? AND step >= ?"
_I_STEP = "INSERT INTO trial_steps (trial_id, step, metrics) VALUES (?, ?, ?)"
_NOTE_ADDED = "note = coalesce(note || '; ', '') || ?"


#: A finished trial's history row (its stored text, exactly) -> the trial read from it, so that
#: a model sampler's claims decode each finished trial once per process, not once a claim (a
#: round of n trials read twice a claim was n^2 JSON decodes). A finished trial never changes;
#: any change of its row (another database, a new value) is another key. The params and values
#: dicts are shared between the histories returned: read-only, as every reader treats them.
#: At most :data:`_FINISHED_MAX` rows are kept (then it starts afresh): a round of more finished
#: trials than that is decoded on each read, as without the cache.
_FINISHED: dict[tuple[Any, ...], FinishedTrial] = {}
_FINISHED_MAX = 50_000


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def _record(row: Sequence[Any]) -> TrialRecord:
    data = dict(zip(_FIELDS, row))
    data["params"] = _loads(data["params"])
    data["metrics"] = _loads(data["metrics"])
    data["values"] = _loads(data["values"])
    data["feasible"] = _bool(data["feasible"])
    return TrialRecord(**data)


class SqliteWrites(TrialWrites):
    """:class:`~hpsearch.storage.writes.TrialWrites` on a ``sqlite3`` connection inside its
    open transaction."""

    # SQL text by the set of columns written (a handful of shapes in all).
    _updates: dict[tuple[str | bool, ...], str] = {}
    _inserts: dict[tuple[str, ...], str] = {}

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def running(self, study_id: int) -> int:
        return self.conn.execute(_Q_RUNNING, (study_id,)).fetchone()[0]

    def queued(self, study_id: int) -> TrialRecord | None:
        row = self.conn.execute(_Q_QUEUED, (study_id,)).fetchone()
        return None if row is None else _record(row)

    def take(self, trial_id: int, taken: Mapping[str, Any]) -> None:
        self.update_trial({"tid": trial_id, **taken})

    def next_index(self, round_id: int, limit: int | None) -> int | None:
        rows = (self.conn.execute(_U_ROUND, (round_id,)) if limit is None
                else self.conn.execute(_U_ROUND_LIMIT, (round_id, limit))).fetchall()
        return rows[0][0] if rows else None

    def next_number(self, study_id: int) -> int:
        return self.conn.execute(_U_STUDY, (study_id,)).fetchall()[0][0]

    def history(self, study_id: int, round_number: int) -> RoundHistory:
        finished, pending = [], []
        for row in self.conn.execute(_Q_HISTORY, (study_id, round_number)):
            if row[3] == "running":
                pending.append(_loads(row[1]))
                continue
            trial = _FINISHED.get(row)
            if trial is None:
                number, params, value, state, values, feasible, started, ended, by = row
                trial = FinishedTrial.from_row(number, _loads(params), value, state,
                                               _loads(values), _bool(feasible), started, ended,
                                               by)
                if len(_FINISHED) >= _FINISHED_MAX:
                    _FINISHED.clear()
                _FINISHED[row] = trial
            finished.append(trial)
        return RoundHistory(finished=finished, pending=pending)

    def insert_trial(self, values: Mapping[str, Any]) -> int:
        keys = tuple(values)
        sql = self._inserts.get(keys)
        if sql is None:
            sql = self._inserts[keys] = (f"INSERT INTO trials ({', '.join(keys)}) "
                                         f"VALUES ({', '.join('?' * len(keys))})")
        args = [json_dumps(v) if k in _JSON_COLUMNS else v for k, v in values.items()]
        cursor = self.conn.execute(sql, args)
        return cursor.lastrowid  # type: ignore[return-value]

    def _update(self, row: Mapping[str, Any], *, running_only: bool) -> int:
        """``UPDATE trials SET`` the columns of ``row`` (``tid`` is the trial's id,
        ``note_add`` is added to its note)."""
        key: tuple[str | bool, ...] = (*row, running_only)
        sql = self._updates.get(key)
        if sql is None:
            sets = [_NOTE_ADDED if k == "note_add" else f"{k} = ?" for k in row if k != "tid"]
            sql = self._updates[key] = (
                f"UPDATE trials SET {', '.join(sets)} WHERE id = ?"
                + (" AND state = 'running'" if running_only else ""))
        args = [json_dumps(v) if k in _JSON_COLUMNS else v for k, v in row.items() if k != "tid"]
        args.append(row["tid"])
        return self.conn.execute(sql, args).rowcount

    def finish_running(self, row: Mapping[str, Any]) -> bool:
        return self._update(row, running_only=True) > 0

    def trial_state(self, trial_id: int) -> tuple[int, int, str] | None:
        return self.conn.execute(_Q_STATE, (trial_id,)).fetchone()

    def update_trial(self, row: Mapping[str, Any]) -> None:
        self._update(row, running_only=False)

    def drop_queued_retries(self, study_id: int, number: int, finished_at: float) -> None:
        self.conn.execute(_U_RETRIES, (finished_at, TAKEN_OVER_ERROR.format(number=number),
                                       study_id, number))

    def replace_steps(self, trial_id: int, steps: Sequence[tuple[int, dict[str, Any]]]) -> None:
        self.conn.execute(_D_STEPS, (trial_id, min(s for s, _ in steps)))
        self.conn.executemany(_I_STEP, [(trial_id, int(s), json_dumps(m)) for s, m in steps])


class _Transaction:
    """One write transaction of :meth:`SqliteHotPath.transaction` (a class, not a generator:
    it is entered twice a trial)."""

    __slots__ = ("path", "pooled", "conn")

    def __init__(self, path: SqliteHotPath) -> None:
        self.path = path

    def __enter__(self) -> SqliteWrites:
        self.pooled, self.conn = self.path.connection()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self.path.failed(self.pooled, exc) from exc
        return SqliteWrites(self.conn)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: Any) -> None:
        conn = self.conn
        if kind is None:
            try:
                conn.execute("COMMIT")
                return
            except sqlite3.Error as error:
                exc = error
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise self.path.failed(self.pooled, exc) from exc


class SqliteHotPath:
    """Write transactions for the per-trial statements, on a ``sqlite3`` connection of the
    engine's pool held by each thread that writes (and by the process that checked it out:
    a forked child takes its own)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local = threading.local()
        self._held: list[tuple[int, Any]] = []  # (pid, pooled connection), closed by close()
        self._lock = threading.Lock()

    def connection(self) -> tuple[Any, sqlite3.Connection]:
        """This thread's pooled connection (checked out on first use) and its sqlite3 one."""
        held = getattr(self._local, "held", None)
        if held is not None and held[0] == os.getpid():
            return held[1], held[2]
        pooled = self.engine.raw_connection()
        conn: sqlite3.Connection = pooled.driver_connection  # type: ignore[assignment]
        self._local.held = (os.getpid(), pooled, conn)
        with self._lock:
            self._held.append((os.getpid(), pooled))
        return pooled, conn

    def failed(self, pooled: Any, exc: sqlite3.Error) -> StatementError:
        """After a sqlite3 error: the connection is closed and not used again; the error as
        SQLAlchemy's, to raise."""
        self._local.held = None
        with self._lock:
            self._held = [h for h in self._held if h[1] is not pooled]
        with contextlib.suppress(Exception):
            pooled.invalidate()
        return DBAPIError.instance(None, None, exc, sqlite3.Error)

    def transaction(self) -> _Transaction:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on any exception), as a context
        manager giving the :class:`SqliteWrites`; a sqlite3 error is raised as SQLAlchemy's
        (``DBAPIError.instance``)."""
        return _Transaction(self)

    def history(self, study_id: int, round_number: int) -> RoundHistory:
        """The round's history as it stands now: one SELECT, its own read snapshot (no lock;
        a model sampler prepares its fit with it before the claim)."""
        pooled, conn = self.connection()
        try:
            return SqliteWrites(conn).history(study_id, round_number)
        except sqlite3.Error as exc:
            raise self.failed(pooled, exc) from exc

    def round_row(self, study_id: int, number: int) -> dict[str, Any] | None:
        """A round's row by column name (JSON decoded), or None: one SELECT."""
        pooled, conn = self.connection()
        try:
            cursor = conn.execute(_Q_ROUND, (study_id, number))
            row = cursor.fetchone()
            if row is None:
                return None
            data = dict(zip((d[0] for d in cursor.description), row))
        except sqlite3.Error as exc:
            raise self.failed(pooled, exc) from exc
        data["space"], data["rule"] = _loads(data["space"]), _loads(data["rule"])
        return data

    def close(self) -> None:
        """Give back this process's held connections (the engine's ``dispose`` closes them)."""
        with self._lock:
            held, self._held = self._held, []
        self._local = threading.local()
        for pid, pooled in held:
            if pid == os.getpid():
                with contextlib.suppress(Exception):
                    pooled.close()
