"""Trial queries: the hot path (claim, record, heartbeat, interrupt, stale recovery) and reads.

The per-trial hot path (:meth:`TrialQueries.claim`, :meth:`TrialQueries.finish`) is one short
write transaction to claim a trial and one to record it, committed before the call returns; no
ORM objects, no reads of the whole study. Its statements are a :class:`~.writes.TrialWrites`:
SQLAlchemy Core (:class:`~.writes.CoreWrites`) on PostgreSQL, the same SQL on sqlite3's own
connection on SQLite (:mod:`~hpsearch.storage.sqlite_writes`: a fraction of the cost per
statement). Everything else is SQLAlchemy Core on the mapped tables; reads hand out plain
records.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any, Callable, ContextManager, Iterable, Iterator, Mapping, Sequence

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from hpsearch.errors import StudyBusy, StudyError
from hpsearch.storage.base import StorageBase, storage_errors
from hpsearch.storage.engine import error_line
from hpsearch.storage.limits import DB_LIMITS, clean_steps, clean_text, join_notes, valid_int
from hpsearch.storage.records import (ByIndex, Proposer, RoundRecord, StudyRecord,
                                      TrialRecord)
from hpsearch.storage.tables import STEP, TRIAL, TRIAL_COLUMNS, best_row, trial_record
from hpsearch.storage.writes import NOTE_ADDED, U_STUDY, U_TRIAL, CoreWrites, TrialWrites

__all__ = ["TrialQueries", "trial_seed", "DEFAULT_MAX_RETRIES", "GIVEN_UP"]

log = logging.getLogger(__name__)


#: Retries of a configuration whose trial was killed by its infrastructure (stale heartbeat,
#: dead worker or pack) before it is given up: ``[study] max_retries`` (the same default as
#: ``hpsearch.space.study.DEFAULT_MAX_RETRIES``; storage does not import the space layer).
DEFAULT_MAX_RETRIES = 3
#: The words in the error of a given-up configuration's last trial.
GIVEN_UP = "given up"


def _attempts(conn: Connection, study_id: int, retry_of: int | None, cap: int) -> int:
    """How many earlier attempts a trial's configuration had: the length of its ``retry_of``
    chain (followed at most ``cap`` links: enough to know the bound is reached)."""
    n = 0
    while retry_of is not None and n < cap:
        n += 1
        retry_of = conn.execute(select(TRIAL.c.retry_of).where(
            TRIAL.c.study_id == study_id, TRIAL.c.number == retry_of)).scalar()
    return n


def trial_seed(study_seed: int, number: int) -> int:
    """The seed a trial trains with: a fixed function of the study's seed and the trial number."""
    return (study_seed * 1_000_003 + number * 7_919 + 12_345) % 2_147_483_647


class TrialQueries(StorageBase):
    """The trials of a :class:`~hpsearch.storage.Storage`: claimed, recorded and read back."""

    # ---------------------------------------------------------------------------- hot path
    @storage_errors
    def claim(
        self, study: StudyRecord, round_: RoundRecord, *,
        propose: Proposer | Callable[[int], Mapping[str, Any]], limit: int | None, worker: str,
        device: str | None, max_running: int | None = None,
    ) -> TrialRecord | None:
        """Claim the next trial in one write transaction, or return None when there is none.

        A queued or interrupted trial of the round is taken first (same number, params and
        seed). Otherwise a new trial is drawn when the round has fewer than ``limit`` claims
        (``None``: no limit, for ``--add``): its sampler index and number come from counters
        incremented in this transaction, so concurrent workers never share either.

        With ``max_running``, raises :class:`StudyBusy` instead when that many trials of the
        study are already running; the count is taken inside the same transaction, after the
        study's lock, so two processes can never both take the last slot.

        ``propose`` is a :class:`Proposer`: ``propose(index, history)`` gives a new trial's
        :class:`Proposal` (params, and what proposed them, stored as ``proposed_by``);
        ``history`` is the round's :class:`RoundHistory` read in this transaction after the
        lock when ``propose.uses_history`` (a model sampler: the same history and index always
        give the same proposal), else None. A plain function of the index, returning params,
        is taken as ``ByIndex(propose)``.
        """
        proposer = propose if isinstance(propose, Proposer) else ByIndex(propose)
        worker = clean_text(worker, DB_LIMITS.worker) or ""
        device = clean_text(device, DB_LIMITS.device)
        now = time.time()
        with self._hot_write(lock=study.id) as w:
            if max_running is not None:
                running = w.running(study.id)
                if running >= max_running:
                    raise StudyBusy(running, max_running)
            queued = w.queued(study.id)
            if queued is not None:
                taken: dict[str, Any] = dict(
                    state="running", worker=worker, device=device, heartbeat=now, started_at=now,
                    finished_at=None, error=None, pruned_step=None, note=None)
                w.take(queued.id, taken)
                return queued.replaced(**taken)
            index = w.next_index(round_.id, limit)
            if index is None:
                return None
            index -= 1
            number = w.next_number(study.id) - 1
            history = w.history(study.id, round_.number) if proposer.uses_history else None
            proposal = proposer(index, history)
            params = proposal.params
            by = clean_text(proposal.method, DB_LIMITS.sampler_name)
            seed = trial_seed(study.seed, number)
            trial_id = w.insert_trial({
                "study_id": study.id, "round": round_.number, "number": number,
                "sample_index": index, "state": "running", "params": params, "seed": seed,
                "worker": worker, "device": device, "heartbeat": now, "started_at": now,
                "proposed_by": by,
            })
        return TrialRecord(id=trial_id, number=number, round=round_.number, state="running",
                           params=params, value=None, metrics=None, seed=seed, worker=worker,
                           device=device, heartbeat=now, started_at=now, sample_index=index,
                           proposed_by=by)

    def _hot_write(self, *, lock: int | None = None) -> ContextManager[TrialWrites]:
        """One write transaction of the per-trial hot path: on SQLite, sqlite3 itself
        (:mod:`~hpsearch.storage.sqlite_writes`; ``fast_sqlite = False`` turns it off), else
        SQLAlchemy Core, with the study's lock taken first when ``lock`` is a study id."""
        self._writable()
        hot = self._sqlite_hot_path()
        return hot.transaction() if hot is not None else self._core_write(lock)

    @contextlib.contextmanager
    def _core_write(self, lock: int | None) -> Iterator[TrialWrites]:
        with self._write() as conn, conn.begin():
            if lock is not None:
                self._lock_study(conn, lock)
            yield CoreWrites(conn)

    @storage_errors
    def finish(
        self, trial_id: int, *, state: str, value: float | None = None,
        metrics: dict[str, Any] | None = None, error: str | None = None,
        steps: Sequence[tuple[int, dict[str, Any]]] = (), device: str | None = None,
        pruned_step: int | None = None, note: str | None = None,
        values: dict[str, Any] | None = None, feasible: bool | None = None,
        violation: str | None = None,
    ) -> None:
        """Record a trial's outcome (and its buffered steps) in one committed transaction.

        ``values`` (every objective's value, metric -> value), ``feasible`` and ``violation``
        (the constraint verdict) are what ``hpsearch.space.objectives.Outcome.storage_fields``
        gives for a complete trial.

        What the database cannot hold never stops the trial from being recorded: a step
        number outside the integer range (or not an integer) is left out, and so is such a
        ``pruned_step``, each with a warning and a ``note`` on the trial; non-finite floats in
        JSON values become null (:mod:`hpsearch.storage.limits`). ``note`` is added to the
        trial's note.
        """
        kept, dropped = clean_steps(steps)
        if pruned_step is not None and not valid_int(pruned_step):
            dropped = join_notes(dropped, f"pruned_step {pruned_step!r} not stored: not an "
                                          f"integer in the database's range")
            pruned_step = None
        if dropped:
            log.warning("trial %s: %s", self._trial_number(trial_id), dropped)
        row: dict[str, Any] = dict(tid=trial_id, state=state, value=value, metrics=metrics,
                                 error=clean_text(error), finished_at=time.time(),
                                 pruned_step=pruned_step, objective_values=values,
                                 feasible=feasible, violation=clean_text(violation))
        if device is not None:
            row["device"] = clean_text(device, DB_LIMITS.device)
        added = join_notes(clean_text(note), dropped)
        if added is not None:
            row["note_add"] = added
        # A result is what the user waited for: a lock held past the busy timeout or a dropped
        # PostgreSQL connection gets two more tries before the error reaches the user.
        for attempt in range(3):
            try:
                with self._hot_write() as w:
                    if kept:
                        w.replace_steps(trial_id, kept)
                    if not w.finish_running(row):
                        self._finish_taken_over(w, trial_id, row)
                return
            except OperationalError as exc:
                if attempt == 2 or "disk is full" in error_line(exc):
                    raise  # a full disk stays full for the next few seconds
                # One line, no traceback: the error that ends the run (if it comes to that)
                # is printed once by the CLI.
                log.warning("recording trial %s failed (%s); retrying in %.0f s",
                            self._trial_number(trial_id), error_line(exc), 1.0 + attempt)
                time.sleep(1.0 + attempt)

    def _trial_number(self, trial_id: int) -> str:
        """The trial's number for messages (the row id, said so, if it cannot be read)."""
        try:
            with self.engine.connect() as conn:
                number = conn.execute(select(TRIAL.c.number).where(TRIAL.c.id == trial_id)).scalar()
        except SQLAlchemyError:
            number = None
        return str(number) if number is not None else f"(row id {trial_id})"

    @staticmethod
    def _finish_taken_over(w: TrialWrites, trial_id: int, row: dict[str, Any]) -> None:
        """The trial is no longer `running`: another run failed it as stale (its heartbeat was
        late, not dead). Its result still counts; a queued retry of it is not run after all
        (kept as failed, so trial numbers stay contiguous)."""
        found = w.trial_state(trial_id)
        if found is None:
            return
        study_id, number, state = found
        log.warning("trial %d was %s when it finished; recording its result", number, state)
        w.update_trial(row)
        w.drop_queued_retries(study_id, number, time.time())

    @storage_errors
    def add_steps(self, trial_id: int, steps: Sequence[tuple[int, dict[str, Any]]]) -> None:
        """Store intermediate steps (replacing those from the first one on). A step the
        database cannot hold is left out with a warning and a note on the trial."""
        kept, dropped = clean_steps(steps)
        if dropped:
            log.warning("trial %s: %s", self._trial_number(trial_id), dropped)
        with self._write() as conn, conn.begin():
            if kept:
                CoreWrites(conn).replace_steps(trial_id, kept)
            if dropped:
                conn.execute(U_TRIAL.values(note=NOTE_ADDED), {"tid": trial_id, "note_add": dropped})

    @storage_errors
    def heartbeat(self, trial_ids: Iterable[int]) -> None:
        ids = list(trial_ids)
        if not ids:
            return
        with self._write() as conn, conn.begin():
            conn.execute(update(TRIAL).where(TRIAL.c.id.in_(ids), TRIAL.c.state == "running")
                         .values(heartbeat=time.time()))

    @storage_errors
    def mark_interrupted(self, trial_ids: Iterable[int]) -> int:
        """Mark those of the trials that are still running interrupted; returns how many."""
        ids = list(trial_ids)
        if not ids:
            return 0
        with self._write() as conn, conn.begin():
            return conn.execute(
                update(TRIAL).where(TRIAL.c.id.in_(ids), TRIAL.c.state == "running")
                .values(state="interrupted", finished_at=time.time(),
                        error="interrupted; the next run re-runs this trial")).rowcount

    @storage_errors
    def recover_stale(
        self, study_id: int, *, older_than_s: float, trial_ids: Iterable[int] | None = None,
        reason: str | None = None, max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> list[int]:
        """Mark running trials without a heartbeat for ``older_than_s`` as failed (stale) and
        queue their params once more as new trials (``retry_of``: the stale trial's number).
        Returns the stale trials' numbers.

        A stale trial is killed by its infrastructure, not by its configuration: its retry is
        retried again when it dies too, until the configuration has had ``1 + max_retries``
        attempts (counted along the ``retry_of`` chain); then it is given up, and its error
        says so (:meth:`given_up` lists them).

        ``trial_ids`` limits it to those trials (a parent process that saw its worker die
        recovers the worker's trial at once with ``older_than_s=0``); ``reason`` replaces the
        "worker died?" guess in the recorded error.
        """
        cutoff = time.time() - older_than_s
        with self._write() as conn, conn.begin():
            self._lock_study(conn, study_id)
            stmt = select(*TRIAL_COLUMNS).where(
                TRIAL.c.study_id == study_id, TRIAL.c.state == "running",
                TRIAL.c.heartbeat <= cutoff)
            if trial_ids is not None:
                stmt = stmt.where(TRIAL.c.id.in_(list(trial_ids)))
            stale = conn.execute(stmt.with_for_update(skip_locked=True)).all()
            if not stale:
                return []
            retried = set(conn.execute(select(TRIAL.c.retry_of).where(
                TRIAL.c.study_id == study_id,
                TRIAL.c.retry_of.in_([r.number for r in stale]))).scalars())
            for row in stale:
                age = time.time() - (row.heartbeat or 0)
                error = f"stale: no heartbeat for {age:.0f} s ({reason or f'worker {row.worker} died?'})"
                earlier = _attempts(conn, study_id, row.retry_of, max_retries)
                if earlier >= max_retries:
                    error += (f"; {GIVEN_UP} after {earlier + 1} attempts "
                              f"([study] max_retries = {max_retries})")
                conn.execute(update(TRIAL).where(TRIAL.c.id == row.id).values(
                    state="failed", finished_at=time.time(), error=error))
                if earlier >= max_retries or row.number in retried:
                    continue  # given up, or retried already (a run that finished it late)
                number = conn.execute(U_STUDY, {"sid": study_id}).scalar_one() - 1
                conn.execute(insert(TRIAL).values(
                    study_id=study_id, round=row.round, number=number, sample_index=None,
                    state="queued", params=row.params, seed=row.seed, retry_of=row.number,
                    proposed_by=row.proposed_by))
        return [r.number for r in stale]

    # ---------------------------------------------------------------------------- reads
    @storage_errors
    def given_up(self, study: StudyRecord) -> list[TrialRecord]:
        """The configurations given up: trials failed as stale (their worker, pack or run
        died) that no trial retries; their error says why (by number)."""
        retried = select(TRIAL.c.retry_of).where(TRIAL.c.study_id == study.id,
                                                TRIAL.c.retry_of.is_not(None))
        stmt = (select(*TRIAL_COLUMNS)
                .where(TRIAL.c.study_id == study.id, TRIAL.c.state == "failed",
                       TRIAL.c.error.like("stale:%"), TRIAL.c.number.not_in(retried))
                .order_by(TRIAL.c.number))
        with self.engine.connect() as conn:
            return [trial_record(r) for r in conn.execute(stmt)]

    @storage_errors
    def trials(
        self, study: StudyRecord, *, round_: int | None = None, states: Sequence[str] | None = None,
        limit: int | None = None, best_first: bool = True,
    ) -> list[TrialRecord]:
        """Trials of a study: best first (by value in the study's direction, then number;
        trials without a value last, by number), or by number with ``best_first=False``."""
        stmt = select(*TRIAL_COLUMNS).where(TRIAL.c.study_id == study.id)
        if round_ is not None:
            stmt = stmt.where(TRIAL.c.round == round_)
        if states:
            stmt = stmt.where(TRIAL.c.state.in_(list(states)))
        with self.engine.connect() as conn:
            if not best_first:
                return [trial_record(r) for r in conn.execute(stmt.order_by(TRIAL.c.number).limit(limit))]
            # Two queries rather than ORDER BY value IS NULL, ...: that expression keeps SQLite
            # from walking ix_trials_study_value, so `report --top 20` would sort the whole study.
            order = TRIAL.c.value.desc() if study.maximize else TRIAL.c.value.asc()
            rows = [trial_record(r) for r in conn.execute(
                stmt.where(TRIAL.c.value.is_not(None)).order_by(order, TRIAL.c.number).limit(limit))]
            if limit is None or len(rows) < limit:
                rest = None if limit is None else limit - len(rows)
                rows += [trial_record(r) for r in conn.execute(
                    stmt.where(TRIAL.c.value.is_(None)).order_by(TRIAL.c.number).limit(rest))]
        return rows

    @storage_errors
    def trial(self, study: StudyRecord, number: int) -> TrialRecord:
        with self.engine.connect() as conn:
            row = conn.execute(select(*TRIAL_COLUMNS).where(
                TRIAL.c.study_id == study.id, TRIAL.c.number == number)).first()
            if row is None:
                raise StudyError(f"study {study.name!r} has no trial {number}")
            steps = [(s, m) for s, m in conn.execute(
                select(STEP.c.step, STEP.c.metrics).where(STEP.c.trial_id == row.id)
                .order_by(STEP.c.step))]
        return trial_record(row, steps=steps)

    @storage_errors
    def best(self, study: StudyRecord, *, round_: int | None = None) -> TrialRecord | None:
        with self.engine.connect() as conn:
            row = best_row(conn, study.id, study.direction, round_=round_)
        return None if row is None else trial_record(row)

    @storage_errors
    def counts(self, study: StudyRecord, *, round_: int | None = None) -> dict[str, int]:
        stmt = select(TRIAL.c.state, func.count()).where(TRIAL.c.study_id == study.id)
        if round_ is not None:
            stmt = stmt.where(TRIAL.c.round == round_)
        with self.engine.connect() as conn:
            return dict(conn.execute(stmt.group_by(TRIAL.c.state)).all())
