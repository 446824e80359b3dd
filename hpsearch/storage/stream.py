"""Trials streamed in any order, for reports of big studies: the rows are read in batches and
turned into records one at a time, so a csv of 100,000 trials needs the memory of one batch.

The order is SQL's (``ORDER BY``): by number, value, duration, round, a metric or a parameter
(read from the JSON columns: ``json_extract`` on SQLite, ``->>`` on PostgreSQL), trials without
the key last, then an optional tie-breaking metric, then the number.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

from sqlalchemy import Text, cast, func, select, type_coerce

from hpsearch.storage.base import StorageBase, storage_errors
from hpsearch.storage.records import StudyRecord, TrialRecord
from hpsearch.storage.tables import TRIAL, TRIAL_COLUMNS, trial_record

__all__ = ["TrialStream"]


class TrialStream(StorageBase):
    """:meth:`iter_trials`, :meth:`iter_rows` and :meth:`count_trials`, mixed into
    :class:`~hpsearch.storage.Storage`."""

    def _json_key(self, column: Any, key: str, *, numeric: bool) -> Any:
        if self.engine.dialect.name == "sqlite":
            # json_extract keeps the JSON type: numbers sort before text, NULL (absent) first.
            return func.json_extract(column, "$." + '"' + key.replace('"', '\\"') + '"')
        item = column[key]
        return item.as_float() if numeric else item.as_string()

    def _order_expr(self, sort: str, *, numeric: bool) -> Any:
        if sort in ("number", "value", "round", "proposed_by"):
            return getattr(TRIAL.c, sort)
        if sort == "duration":
            return TRIAL.c.finished_at - TRIAL.c.started_at
        kind, _, key = sort.partition(":")
        if kind == "metric":
            return self._json_key(TRIAL.c.metrics, key, numeric=True)
        if kind == "param":
            return self._json_key(TRIAL.c.params, key, numeric=numeric)
        raise ValueError(f"unknown trial order {sort!r}")

    def _filtered(self, stmt: Any, study: StudyRecord, round_: int | None,
                  states: Sequence[str] | None, value: float | None, every: int | None = None) -> Any:
        stmt = stmt.where(TRIAL.c.study_id == study.id)
        if every is not None and every > 1:
            stmt = stmt.where(TRIAL.c.number % every == 0)
        if round_ is not None:
            stmt = stmt.where(TRIAL.c.round == round_)
        if states:
            stmt = stmt.where(TRIAL.c.state.in_(list(states)))
        if value is not None:
            stmt = stmt.where(TRIAL.c.value == value)
        return stmt

    @storage_errors
    def count_trials(self, study: StudyRecord, *, round_: int | None = None,
                     states: Sequence[str] | None = None, value: float | None = None) -> int:
        """How many trials :meth:`iter_trials` would yield without a limit."""
        stmt = self._filtered(select(func.count()).select_from(TRIAL), study, round_, states, value)
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def iter_trials(
        self, study: StudyRecord, *, round_: int | None = None, states: Sequence[str] | None = None,
        sort: str = "number", descending: bool = False, tie: tuple[str, bool] | None = None,
        numeric_param: bool = True, limit: int | None = None, value: float | None = None,
        every: int | None = None, batch: int = 500,
    ) -> Iterator[TrialRecord]:
        """Trials of a study one at a time, in ``sort`` order.

        ``sort``: ``number``, ``value``, ``duration``, ``round``, ``metric:NAME`` or
        ``param:NAME`` (``numeric_param``: the parameter's values are numbers); trials without
        it come last. ``tie``: ``(metric, descending)`` ordering equal keys before the number.
        ``value``: only trials with exactly this value (the tied best). ``every``: only trials
        whose number is a multiple of it (an even subsample of a big study). Database errors become
        :class:`~hpsearch.errors.StorageError` when the first batch is read.
        """
        stmt = self._ordered(select(*TRIAL_COLUMNS), study, round_=round_, states=states, sort=sort,
                             descending=descending, tie=tie, numeric_param=numeric_param,
                             limit=limit, value=value, every=every)
        return (trial_record(row) for row in self._stream(stmt, batch))

    @storage_errors
    def iter_rows(
        self, study: StudyRecord, fields: Sequence[str], *, round_: int | None = None,
        states: Sequence[str] | None = None, sort: str = "number", descending: bool = False,
        tie: tuple[str, bool] | None = None, numeric_param: bool = True, limit: int | None = None,
        value: float | None = None, every: int | None = None, batch: int = 2000,
    ) -> Iterator[tuple]:
        """The trials of :meth:`iter_trials` (same arguments, same order) as plain tuples of
        the columns ``fields`` (names of the trials table: ``number``, ``value``, ``params``,
        ...), for reports of big studies: no record is built, and the JSON columns
        (``params``, ``metrics``) come as their JSON text (None for SQL NULL), to be decoded
        only where needed."""
        cols = [self._raw(f) for f in fields]
        stmt = self._ordered(select(*cols), study, round_=round_, states=states, sort=sort,
                             descending=descending, tie=tie, numeric_param=numeric_param,
                             limit=limit, value=value, every=every)
        return (tuple(row) for row in self._stream(stmt, batch))

    def _raw(self, field: str) -> Any:
        col = TRIAL.c[field]
        if field not in ("params", "metrics"):
            return col
        # The text as stored: SQLite keeps JSON as text; PostgreSQL's drivers decode json
        # columns themselves unless they are cast.
        if self.engine.dialect.name == "sqlite":
            return type_coerce(col, Text).label(field)
        return cast(col, Text).label(field)

    def _ordered(self, stmt: Any, study: StudyRecord, *, round_: int | None,
                 states: Sequence[str] | None, sort: str, descending: bool,
                 tie: tuple[str, bool] | None, numeric_param: bool, limit: int | None,
                 value: float | None, every: int | None) -> Any:
        key = self._order_expr(sort, numeric=numeric_param)
        order = [key.is_(None), key.desc() if descending else key.asc()]
        if tie is not None:
            tkey = self._order_expr("metric:" + tie[0], numeric=True)
            order += [tkey.is_(None), tkey.desc() if tie[1] else tkey.asc()]
        if sort != "number":
            order.append(TRIAL.c.number)
        stmt = self._filtered(stmt, study, round_, states, value, every)
        return stmt.order_by(*order).limit(limit)

    @storage_errors
    def _first_batch(self, conn: Any, stmt: Any, batch: int) -> Any:
        return conn.execution_options(stream_results=True, yield_per=batch).execute(stmt)

    def _stream(self, stmt: Any, batch: int) -> Iterator[Any]:
        with self.engine.connect() as conn:
            result = self._first_batch(conn, stmt, batch)
            for rows in result.partitions(batch):
                yield from rows
