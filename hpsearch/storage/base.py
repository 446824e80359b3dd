"""What every query needs: the open database, its write transactions, the study lock, and the
translation of database errors into :class:`~hpsearch.errors.StorageError`."""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar, cast

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from hpsearch.errors import StorageError
from hpsearch.storage.engine import error_line, make_engine, redact_url
from hpsearch.storage.schema import ensure_schema
from hpsearch.storage.tables import STUDY

__all__ = ["StorageBase", "storage_errors"]

F = TypeVar("F", bound=Callable[..., Any])


def storage_errors(method: F) -> F:
    """Database errors after the database was opened (locked past the busy timeout, a lost
    connection, a full disk) become :class:`StorageError` (exit 4), not tracebacks. The message
    names the database and the operation: ``sqlite:///x.db: claim failed: database is locked``.
    """
    @functools.wraps(method)
    def wrapper(self: StorageBase, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except SQLAlchemyError as exc:
            raise StorageError(
                f"{redact_url(self.url)}: {method.__name__} failed: {error_line(exc)}") from exc
    return cast(F, wrapper)


class StorageBase:
    """One database, opened (and its schema created or checked) on construction."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = make_engine(url)
            ensure_schema(self.engine, url)
        except StorageError:
            raise
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StorageError(f"{redact_url(url)}: cannot open the database: {error_line(exc)}") from exc

    def _write(self) -> Connection:
        """A connection for one write transaction (BEGIN IMMEDIATE on SQLite)."""
        return self.engine.connect().execution_options(hp_write=True)

    def _lock_study(self, conn: Connection, study_id: int) -> None:
        """Serialise the claims of one study. SQLite's ``BEGIN IMMEDIATE`` already holds the
        database's write lock; PostgreSQL takes the study's row lock first, so every writer on
        the hot path locks rows in one order (study, then round or trial) and cannot deadlock."""
        if self.engine.dialect.name != "sqlite":
            conn.execute(select(STUDY.c.id).where(STUDY.c.id == study_id).with_for_update())

    def dispose(self) -> None:
        """Close the engine's pooled connections (errors here are not translated)."""
        self.engine.dispose()
