"""The few storage operations the runner, refine and the reports need.

Everything on the per-trial hot path (:meth:`Storage.claim`, :meth:`Storage.finish`) is SQLAlchemy
Core on the mapped tables: one short write transaction to claim a trial, one to record it, no ORM
objects, no reads of the whole study. Reads for reports use ``select()`` as well and hand out
plain records.
"""

from __future__ import annotations

import functools
import logging
import random
import sqlite3
import time
from typing import Any, Callable, Iterable, Sequence

from sqlalchemy import bindparam, create_engine, event, func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from hpsearch.errors import StorageError, StudyError
from hpsearch.storage.models import SCHEMA_VERSION, Base, Meta, Round, Study, Trial, TrialStep
from hpsearch.storage.records import RoundRecord, StudyRecord, StudySummary, TrialRecord

log = logging.getLogger(__name__)

_STUDY = Study.__table__
_ROUND = Round.__table__
_TRIAL = Trial.__table__
_STEP = TrialStep.__table__
_META = Meta.__table__

#: How long a SQLite writer waits for the lock before "database is locked".
SQLITE_BUSY_TIMEOUT_S = 60.0

_TRIAL_COLUMNS = (
    _TRIAL.c.id, _TRIAL.c.number, _TRIAL.c.round, _TRIAL.c.state, _TRIAL.c.params, _TRIAL.c.value,
    _TRIAL.c.metrics, _TRIAL.c.seed, _TRIAL.c.worker, _TRIAL.c.device, _TRIAL.c.heartbeat,
    _TRIAL.c.started_at, _TRIAL.c.finished_at, _TRIAL.c.error, _TRIAL.c.retry_of,
    _TRIAL.c.sample_index,
)


def trial_seed(study_seed: int, number: int) -> int:
    """The seed a trial trains with: a fixed function of the study's seed and the trial number."""
    return (study_seed * 1_000_003 + number * 7_919 + 12_345) % 2_147_483_647


# The per-trial statements, built once. Built inside claim()/finish() on every call, SQLAlchemy
# re-coerces every column expression and recomputes each statement's cache key: a third of the
# loop's time in the overhead benchmark. Values travel as bind parameters (names that are not
# column names: sid, rid, rnd, lim, tid).
_Q_QUEUED = (
    # Any round: an interrupted trial or a queued retry of an earlier round still runs (with its
    # own params) after a `refine` made a newer round the current one.
    select(*_TRIAL_COLUMNS)
    .where(_TRIAL.c.study_id == bindparam("sid"), _TRIAL.c.state.in_(("queued", "interrupted")))
    # "+ 0": ordered by the bare column, SQLite walks the (study_id, number) unique index over
    # every trial of the study (O(study size) per claim: ~75 ms at 100,000 trials); this way it
    # uses ix_trials_study_state and sorts the handful of queued rows.
    .order_by(_TRIAL.c.number + 0).limit(1).with_for_update(skip_locked=True)
)
_Q_RUNNING = select(func.count()).select_from(_TRIAL).where(
    _TRIAL.c.study_id == bindparam("sid"), _TRIAL.c.state == "running")
_U_TRIAL = update(_TRIAL).where(_TRIAL.c.id == bindparam("tid"))
_U_TRIAL_RUNNING = update(_TRIAL).where(_TRIAL.c.id == bindparam("tid"), _TRIAL.c.state == "running")
_U_ROUND = (update(_ROUND).where(_ROUND.c.id == bindparam("rid"))
            .values(n_claimed=_ROUND.c.n_claimed + 1).returning(_ROUND.c.n_claimed))
_U_ROUND_LIMIT = (update(_ROUND)
                  .where(_ROUND.c.id == bindparam("rid"), _ROUND.c.n_claimed < bindparam("lim"))
                  .values(n_claimed=_ROUND.c.n_claimed + 1).returning(_ROUND.c.n_claimed))
_U_STUDY = (update(_STUDY).where(_STUDY.c.id == bindparam("sid"))
            .values(next_number=_STUDY.c.next_number + 1).returning(_STUDY.c.next_number))
_I_TRIAL = insert(_TRIAL).returning(_TRIAL.c.id)


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record) -> None:
            # We emit BEGIN ourselves (below): pysqlite's implicit transactions start deferred,
            # and a deferred transaction that reads before it writes fails with "database is
            # locked" without waiting when another writer got in first.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            _use_wal(cursor)
            # WAL + NORMAL: a committed transaction survives a crash of the process or of every
            # worker; only an OS crash or power loss may drop the last few commits.
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            write = conn.get_execution_options().get("hp_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    return create_engine(_with_pg_driver(url), pool_pre_ping=True)


def _use_wal(cursor) -> None:
    """Switch the database to WAL unless it is in WAL already. The switch needs the file to
    itself, and SQLite answers "database is locked" at once, without its busy handler, when
    several processes open a new database together (workers, cron and ``report``): retry it
    with a jittered back-off for up to the busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    delay = 0.005
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            left = deadline - time.monotonic()
            if left <= 0:
                raise
        time.sleep(min(left, delay * (0.5 + random.random())))
        delay = min(delay * 2, 0.2)


def _with_pg_driver(url: str) -> str:
    """``postgresql://`` with the driver that is installed: SQLAlchemy 2.0 assumes psycopg2
    and 2.1 psycopg 3 for a bare URL, whichever of them the user happens to have."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("postgresql", "postgres"):
        return url
    for module, driver in (("psycopg2", "psycopg2"), ("psycopg", "psycopg")):
        try:
            __import__(module)
        except ImportError:
            continue
        return f"postgresql+{driver}://{rest}"
    raise StorageError("PostgreSQL needs a driver: pip install 'hpsearch[postgres]' (psycopg2)")


class StudyBusy(Exception):
    """:meth:`Storage.claim` found ``limit`` trials of the study running already (not an error
    of the tool: the runner stops claiming and says so)."""

    def __init__(self, running: int, limit: int) -> None:
        super().__init__(f"{running} trials already running (limit {limit})")
        self.running = running
        self.limit = limit


class Storage:
    """One database: create or open studies, claim and record trials, read them back."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = _make_engine(url)
            self._check_schema()
        except StorageError:
            raise
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StorageError(f"{_redact(url)}: cannot open the database: {_short(exc)}") from exc

    # ---------------------------------------------------------------------------- plumbing
    def _write(self):
        """A write transaction (BEGIN IMMEDIATE on SQLite)."""
        return self.engine.connect().execution_options(hp_write=True)

    def _check_schema(self) -> None:
        with self._write() as conn, conn.begin():
            if self.engine.dialect.name == "postgresql":
                # Workers started together on an empty database would race to create the
                # tables; one creates them, the others wait here and then find them.
                conn.execute(text("SELECT pg_advisory_xact_lock(726354101)"))
            if not self.engine.dialect.has_table(conn, "hpsearch_meta"):
                Base.metadata.create_all(conn)
                conn.execute(insert(_META).values(key="schema_version", value=str(SCHEMA_VERSION)))
                return
            found = conn.execute(
                select(_META.c.value).where(_META.c.key == "schema_version")
            ).scalar_one_or_none()
        version = int(found or 0)
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"{_redact(self.url)}: schema version {version} is newer than this hpsearch "
                f"understands ({SCHEMA_VERSION}); upgrade hpsearch"
            )
        if version < SCHEMA_VERSION:  # pragma: no cover - no migrations exist yet
            raise StorageError(f"{_redact(self.url)}: schema version {version} needs a migration")

    def _lock_study(self, conn: Connection, study_id: int) -> None:
        """Serialise the claims of one study. SQLite's ``BEGIN IMMEDIATE`` already holds the
        database's write lock; PostgreSQL takes the study's row lock first, so every writer on
        the hot path locks rows in one order (study, then round or trial) and cannot deadlock."""
        if self.engine.dialect.name != "sqlite":
            conn.execute(select(_STUDY.c.id).where(_STUDY.c.id == study_id).with_for_update())

    def dispose(self) -> None:
        self.engine.dispose()

    # ---------------------------------------------------------------------------- studies
    def find_study(self, name: str) -> StudyRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(_STUDY).where(_STUDY.c.name == name)).mappings().first()
        if row is None:
            return None
        return StudyRecord(**{k: row[k] for k in StudyRecord.__dataclass_fields__})

    def get_study(self, name: str) -> StudyRecord:
        study = self.find_study(name)
        if study is None:
            known = self.study_names()
            hint = f"; studies here: {', '.join(known)}" if known else "; the database has no studies"
            raise StudyError(f"no study named {name!r} in {_redact(self.url)}{hint}")
        return study

    def study_names(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(_STUDY.c.name).order_by(_STUDY.c.id)).scalars())

    def create_study(
        self, *, name: str, metric: str, direction: str, sampler: str, seed: int,
        space: dict[str, Any], source: str, target: int,
    ) -> StudyRecord:
        """Create a study and its round 1; if another process created it first, return that one."""
        now = time.time()
        try:
            with self._write() as conn, conn.begin():
                study_id = conn.execute(
                    insert(_STUDY).values(
                        name=name, metric=metric, direction=direction, sampler=sampler, seed=seed,
                        space=space, source=source, next_number=0, created_at=now,
                    ).returning(_STUDY.c.id)
                ).scalar_one()
                conn.execute(insert(_ROUND).values(
                    study_id=study_id, number=1, parent=None, space=space, rule=None,
                    sampler=sampler, seed=seed, target=target, n_claimed=0, created_at=now,
                ))
        except IntegrityError:
            log.debug("study %s was created concurrently", name)
        return self.get_study(name)

    def summaries(self) -> list[StudySummary]:
        out = []
        with self.engine.connect() as conn:
            studies = conn.execute(select(_STUDY).order_by(_STUDY.c.id)).mappings().all()
            counts: dict[int, dict[str, int]] = {}
            for sid, state, n in conn.execute(
                select(_TRIAL.c.study_id, _TRIAL.c.state, func.count()).group_by(
                    _TRIAL.c.study_id, _TRIAL.c.state)
            ):
                counts.setdefault(sid, {})[state] = n
            rounds = dict(conn.execute(
                select(_ROUND.c.study_id, func.max(_ROUND.c.number)).group_by(_ROUND.c.study_id)
            ).all())
            for s in studies:
                best = self._best_row(conn, s["id"], s["direction"])
                c = counts.get(s["id"], {})
                out.append(StudySummary(
                    name=s["name"], metric=s["metric"], direction=s["direction"],
                    n_trials=sum(c.values()), counts=c,
                    best_value=None if best is None else best.value,
                    best_number=None if best is None else best.number,
                    rounds=rounds.get(s["id"], 1), created_at=s["created_at"],
                ))
        return out

    def update_study_settings(self, study_id: int, *, space: dict[str, Any], source: str) -> None:
        """Replace the stored space dict (objective/trainer settings) and source path."""
        with self._write() as conn, conn.begin():
            conn.execute(update(_STUDY).where(_STUDY.c.id == study_id).values(space=space, source=source))

    def reset_empty_study(
        self, study_id: int, *, metric: str, direction: str, sampler: str, seed: int,
        space: dict[str, Any], source: str,
    ) -> None:
        """Give a study that has no trial yet a new space (its row and round 1), as if it were
        created now: an earlier `run` that failed before its first trial left it behind."""
        with self._write() as conn, conn.begin():
            self._lock_study(conn, study_id)
            n = conn.execute(select(func.count()).select_from(_TRIAL)
                             .where(_TRIAL.c.study_id == study_id)).scalar_one()
            if n:
                raise StudyError("the study has trials; its space cannot be replaced")
            conn.execute(update(_STUDY).where(_STUDY.c.id == study_id).values(
                metric=metric, direction=direction, sampler=sampler, seed=seed, space=space,
                source=source))
            conn.execute(update(_ROUND).where(_ROUND.c.study_id == study_id, _ROUND.c.number == 1)
                         .values(space=space, sampler=sampler, seed=seed))

    # ---------------------------------------------------------------------------- rounds
    def rounds(self, study_id: int) -> list[RoundRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_ROUND).where(_ROUND.c.study_id == study_id).order_by(_ROUND.c.number)
            ).mappings().all()
        return [RoundRecord(**{k: r[k] for k in RoundRecord.__dataclass_fields__}) for r in rows]

    def latest_round(self, study_id: int) -> RoundRecord:
        return self.rounds(study_id)[-1]

    def get_round(self, study_id: int, number: int) -> RoundRecord:
        rounds = self.rounds(study_id)
        for r in rounds:
            if r.number == number:
                return r
        raise StudyError(f"the study has no round {number} (its rounds: 1-{rounds[-1].number})")

    def add_round(
        self, study_id: int, *, parent: int, space: dict[str, Any], rule: dict[str, Any],
        sampler: str, seed: int, target: int,
    ) -> RoundRecord:
        with self._write() as conn, conn.begin():
            number = conn.execute(
                select(func.max(_ROUND.c.number)).where(_ROUND.c.study_id == study_id)
            ).scalar_one() + 1
            conn.execute(insert(_ROUND).values(
                study_id=study_id, number=number, parent=parent, space=space, rule=rule,
                sampler=sampler, seed=seed, target=target, n_claimed=0, created_at=time.time(),
            ))
        return self.get_round(study_id, number)

    def set_round_target(self, round_id: int, target: int) -> None:
        with self._write() as conn, conn.begin():
            conn.execute(update(_ROUND).where(_ROUND.c.id == round_id).values(target=target))

    # ---------------------------------------------------------------------------- hot path
    def claim(
        self, study: StudyRecord, round_: RoundRecord, *, propose: Callable[[int], dict[str, Any]],
        limit: int | None, worker: str, device: str | None, max_running: int | None = None,
    ) -> TrialRecord | None:
        """Claim the next trial in one write transaction, or return None when there is none.

        A queued or interrupted trial of the round is taken first (same number, params and
        seed). Otherwise a new trial is drawn when the round has fewer than ``limit`` claims
        (``None``: no limit, for ``--add``): its sampler index and number come from counters
        incremented in this transaction, so concurrent workers never share either.

        With ``max_running``, raises :class:`StudyBusy` instead when that many trials of the
        study are already running; the count is taken inside the same transaction, after the
        study's lock, so two processes can never both take the last slot.
        """
        now = time.time()
        with self._write() as conn, conn.begin():
            self._lock_study(conn, study.id)
            if max_running is not None:
                running = conn.execute(_Q_RUNNING, {"sid": study.id}).scalar_one()
                if running >= max_running:
                    raise StudyBusy(running, max_running)
            row = conn.execute(_Q_QUEUED, {"sid": study.id}).first()
            if row is not None:
                taken = dict(state="running", worker=worker, device=device, heartbeat=now,
                             started_at=now, finished_at=None, error=None)
                conn.execute(_U_TRIAL, {"tid": row.id, **taken})
                return _trial(row, **taken)
            if limit is None:
                index = conn.execute(_U_ROUND, {"rid": round_.id}).scalar_one_or_none()
            else:
                index = conn.execute(_U_ROUND_LIMIT, {"rid": round_.id, "lim": limit}).scalar_one_or_none()
            if index is None:
                return None
            index -= 1
            number = conn.execute(_U_STUDY, {"sid": study.id}).scalar_one() - 1
            params = propose(index)
            seed = trial_seed(study.seed, number)
            trial_id = conn.execute(_I_TRIAL, {
                "study_id": study.id, "round": round_.number, "number": number,
                "sample_index": index, "state": "running", "params": params, "seed": seed,
                "worker": worker, "device": device, "heartbeat": now, "started_at": now,
            }).scalar_one()
        return TrialRecord(id=trial_id, number=number, round=round_.number, state="running",
                           params=params, value=None, metrics=None, seed=seed, worker=worker,
                           device=device, heartbeat=now, started_at=now, sample_index=index)

    def finish(
        self, trial_id: int, *, state: str, value: float | None = None,
        metrics: dict[str, Any] | None = None, error: str | None = None,
        steps: Sequence[tuple[int, dict[str, Any]]] = (), device: str | None = None,
    ) -> None:
        """Record a trial's outcome (and its buffered steps) in one committed transaction."""
        values: dict[str, Any] = dict(tid=trial_id, state=state, value=value, metrics=metrics,
                                      error=error, finished_at=time.time())
        if device is not None:
            values["device"] = device
        # A result is what the user waited for: a lock held past the busy timeout or a dropped
        # PostgreSQL connection gets two more tries before the error reaches the user.
        for attempt in range(3):
            try:
                with self._write() as conn, conn.begin():
                    if steps:
                        self._insert_steps(conn, trial_id, steps)
                    if conn.execute(_U_TRIAL_RUNNING, values).rowcount == 0:
                        self._finish_taken_over(conn, trial_id, values)
                return
            except OperationalError:
                if attempt == 2:
                    raise
                log.warning("recording trial %d failed; retrying", trial_id, exc_info=True)
                time.sleep(1.0 + attempt)

    @staticmethod
    def _finish_taken_over(conn: Connection, trial_id: int, values: dict[str, Any]) -> None:
        """The trial is no longer `running`: another run failed it as stale (its heartbeat was
        late, not dead). Its result still counts; a queued retry of it is not run after all
        (kept as failed, so trial numbers stay contiguous)."""
        row = conn.execute(select(_TRIAL.c.study_id, _TRIAL.c.number, _TRIAL.c.state)
                           .where(_TRIAL.c.id == trial_id)).first()
        if row is None:
            return
        log.warning("trial %d was %s when it finished; recording its result", row.number, row.state)
        conn.execute(_U_TRIAL, values)
        conn.execute(update(_TRIAL).where(
            _TRIAL.c.study_id == row.study_id, _TRIAL.c.retry_of == row.number,
            _TRIAL.c.state == "queued").values(
                state="failed", finished_at=time.time(),
                error=f"not run: trial {row.number}, which it retried, finished after all"))

    def add_steps(self, trial_id: int, steps: Sequence[tuple[int, dict[str, Any]]]) -> None:
        with self._write() as conn, conn.begin():
            self._insert_steps(conn, trial_id, steps)

    @staticmethod
    def _insert_steps(conn: Connection, trial_id: int, steps) -> None:
        # A re-run of an interrupted trial reports its steps again: replace the old ones.
        first = min(s for s, _ in steps)
        conn.execute(_STEP.delete().where(_STEP.c.trial_id == trial_id, _STEP.c.step >= first))
        conn.execute(insert(_STEP), [
            {"trial_id": trial_id, "step": int(s), "metrics": m} for s, m in steps])

    def heartbeat(self, trial_ids: Iterable[int]) -> None:
        ids = list(trial_ids)
        if not ids:
            return
        with self._write() as conn, conn.begin():
            conn.execute(update(_TRIAL).where(_TRIAL.c.id.in_(ids), _TRIAL.c.state == "running")
                         .values(heartbeat=time.time()))

    def mark_interrupted(self, trial_ids: Iterable[int]) -> int:
        """Mark those of the trials that are still running interrupted; returns how many."""
        ids = list(trial_ids)
        if not ids:
            return 0
        with self._write() as conn, conn.begin():
            return conn.execute(
                update(_TRIAL).where(_TRIAL.c.id.in_(ids), _TRIAL.c.state == "running")
                .values(state="interrupted", finished_at=time.time(),
                        error="interrupted; the next run re-runs this trial")).rowcount

    def recover_stale(
        self, study_id: int, *, older_than_s: float, trial_ids: Iterable[int] | None = None,
        reason: str | None = None,
    ) -> list[int]:
        """Mark running trials without a heartbeat for ``older_than_s`` as failed (stale) and
        queue their params once more as new trials. Returns the stale trials' numbers.

        ``trial_ids`` limits it to those trials (a parent process that saw its worker die
        recovers the worker's trial at once with ``older_than_s=0``); ``reason`` replaces the
        "worker died?" guess in the recorded error.
        """
        cutoff = time.time() - older_than_s
        with self._write() as conn, conn.begin():
            self._lock_study(conn, study_id)
            stmt = select(*_TRIAL_COLUMNS).where(
                _TRIAL.c.study_id == study_id, _TRIAL.c.state == "running",
                _TRIAL.c.heartbeat <= cutoff)
            if trial_ids is not None:
                stmt = stmt.where(_TRIAL.c.id.in_(list(trial_ids)))
            stale = conn.execute(stmt.with_for_update(skip_locked=True)).all()
            if not stale:
                return []
            retried = set(conn.execute(select(_TRIAL.c.retry_of).where(
                _TRIAL.c.study_id == study_id,
                _TRIAL.c.retry_of.in_([r.number for r in stale]))).scalars())
            for row in stale:
                age = time.time() - (row.heartbeat or 0)
                conn.execute(update(_TRIAL).where(_TRIAL.c.id == row.id).values(
                    state="failed", finished_at=time.time(),
                    error=f"stale: no heartbeat for {age:.0f} s "
                          f"({reason or f'worker {row.worker} died?'})"))
                if row.retry_of is not None or row.number in retried:
                    continue  # retried once already
                number = conn.execute(_U_STUDY, {"sid": study_id}).scalar_one() - 1
                conn.execute(insert(_TRIAL).values(
                    study_id=study_id, round=row.round, number=number, sample_index=None,
                    state="queued", params=row.params, seed=row.seed, retry_of=row.number))
        return [r.number for r in stale]

    # ---------------------------------------------------------------------------- reads
    def trials(
        self, study: StudyRecord, *, round_: int | None = None, states: Sequence[str] | None = None,
        limit: int | None = None, best_first: bool = True,
    ) -> list[TrialRecord]:
        """Trials of a study: best first (by value in the study's direction, then number;
        trials without a value last, by number), or by number with ``best_first=False``."""
        stmt = select(*_TRIAL_COLUMNS).where(_TRIAL.c.study_id == study.id)
        if round_ is not None:
            stmt = stmt.where(_TRIAL.c.round == round_)
        if states:
            stmt = stmt.where(_TRIAL.c.state.in_(list(states)))
        with self.engine.connect() as conn:
            if not best_first:
                return [_trial(r) for r in conn.execute(stmt.order_by(_TRIAL.c.number).limit(limit))]
            # Two queries rather than ORDER BY value IS NULL, ...: that expression keeps SQLite
            # from walking ix_trials_study_value, so `report --top 20` would sort the whole study.
            order = _TRIAL.c.value.desc() if study.maximize else _TRIAL.c.value.asc()
            rows = [_trial(r) for r in conn.execute(
                stmt.where(_TRIAL.c.value.is_not(None)).order_by(order, _TRIAL.c.number).limit(limit))]
            if limit is None or len(rows) < limit:
                rest = None if limit is None else limit - len(rows)
                rows += [_trial(r) for r in conn.execute(
                    stmt.where(_TRIAL.c.value.is_(None)).order_by(_TRIAL.c.number).limit(rest))]
        return rows

    def trial(self, study: StudyRecord, number: int) -> TrialRecord:
        with self.engine.connect() as conn:
            row = conn.execute(select(*_TRIAL_COLUMNS).where(
                _TRIAL.c.study_id == study.id, _TRIAL.c.number == number)).first()
            if row is None:
                raise StudyError(f"study {study.name!r} has no trial {number}")
            steps = [(s, m) for s, m in conn.execute(
                select(_STEP.c.step, _STEP.c.metrics).where(_STEP.c.trial_id == row.id)
                .order_by(_STEP.c.step))]
        return _trial(row, steps=steps)

    def best(self, study: StudyRecord, *, round_: int | None = None) -> TrialRecord | None:
        with self.engine.connect() as conn:
            row = self._best_row(conn, study.id, study.direction, round_=round_)
        return None if row is None else _trial(row)

    @staticmethod
    def _best_row(conn: Connection, study_id: int, direction: str, *, round_: int | None = None):
        order = _TRIAL.c.value.desc() if direction == "maximize" else _TRIAL.c.value.asc()
        stmt = select(*_TRIAL_COLUMNS).where(
            _TRIAL.c.study_id == study_id, _TRIAL.c.state == "complete",
            _TRIAL.c.value.is_not(None))
        if round_ is not None:
            stmt = stmt.where(_TRIAL.c.round == round_)
        return conn.execute(stmt.order_by(order, _TRIAL.c.number).limit(1)).first()

    def counts(self, study: StudyRecord, *, round_: int | None = None) -> dict[str, int]:
        stmt = select(_TRIAL.c.state, func.count()).where(_TRIAL.c.study_id == study.id)
        if round_ is not None:
            stmt = stmt.where(_TRIAL.c.round == round_)
        with self.engine.connect() as conn:
            return dict(conn.execute(stmt.group_by(_TRIAL.c.state)).all())


def _storage_errors(method):
    """Database errors after the database was opened (locked past the busy timeout, a lost
    connection, a full disk) become :class:`StorageError` (exit 4), not tracebacks."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except SQLAlchemyError as exc:
            raise StorageError(f"{_redact(self.url)}: {method.__name__} failed: {_short(exc)}") from exc
    return wrapper


for _name, _method in list(vars(Storage).items()):
    if not _name.startswith("_") and callable(_method) and _name != "dispose":
        setattr(Storage, _name, _storage_errors(_method))


def _trial(row, **overrides) -> TrialRecord:
    data = dict(row._mapping)
    data.update(overrides)
    return TrialRecord(**data)


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}@{host}"
    return url


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


__all__ = ["Storage", "StudyBusy", "trial_seed"]
