"""The :class:`Storage` the runner, refine and the reports use: one database, its studies,
rounds and trials.

Its parts, one module each: :mod:`~hpsearch.storage.engine` (the engine: SQLite's WAL and
pragmas, the PostgreSQL driver), :mod:`~hpsearch.storage.schema` (created or checked on open),
:mod:`~hpsearch.storage.base` (write transactions, the study lock, database errors as
:class:`~hpsearch.errors.StorageError`), and the queries, :mod:`~hpsearch.storage.studies`
(studies and rounds), :mod:`~hpsearch.storage.trials` (the claim/record hot path and the
trial reads) and :mod:`~hpsearch.storage.history` (what pruners read of a round).
"""

from __future__ import annotations

from hpsearch.storage.stream import TrialStream
from hpsearch.storage.history import HistoryQueries
from hpsearch.storage.studies import StudyQueries
from hpsearch.storage.trials import TrialQueries

__all__ = ["Storage"]


class Storage(StudyQueries, TrialQueries, TrialStream, HistoryQueries):
    """One database: create or open studies, claim and record trials, read them back.

    Opening it creates the schema of an empty database or checks the version of an existing
    one; every method turns a database error into :class:`~hpsearch.errors.StorageError`
    (exit 4) naming the database (password hidden) and the operation.
    """
