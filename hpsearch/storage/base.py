"""What every query needs: the open database, its write transactions, the study lock, and the
translation of database errors into :class:`~hpsearch.errors.StorageError`."""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar, cast

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from hpsearch.errors import ConfigError, StorageError, StudyError
from hpsearch.storage.engine import error_line, make_engine, redact_url
from hpsearch.storage.files import SqliteFile
from hpsearch.storage.schema import ensure_schema
from hpsearch.storage.sqlite_writes import SqliteHotPath
from hpsearch.storage.tables import STUDY
from hpsearch.storage.urls import parse_db_url

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
    """One database, opened (and its schema created, checked or upgraded) on construction.

    ``create=False`` (the commands that only read an existing database) neither creates a
    missing SQLite file nor the tables of an empty database: both are a
    :class:`~hpsearch.errors.StudyError`. ``read_only``: None takes it from the URL
    (``?mode=ro``), or from a SQLite file that cannot be written while ``create`` is False;
    then every write is refused with :class:`~hpsearch.errors.ConfigError` (exit 2) saying why.
    False refuses a read-only URL at once. Raises ConfigError for URLs that would store nothing
    (in-memory SQLite) and StorageError for a database that cannot be used.
    """

    #: Whether SQLite's claims, records and round histories run on sqlite3 itself
    #: (:mod:`~hpsearch.storage.sqlite_writes`); False: SQLAlchemy Core, as on PostgreSQL.
    fast_sqlite = True

    def __init__(self, url: str, *, create: bool = True, read_only: bool | None = None) -> None:
        self.url = url
        self._sqlite_hot: SqliteHotPath | None = None
        db = parse_db_url(url)
        reason = "the URL says ?mode=ro" if db.read_only else None
        if reason and (read_only is False or create):
            raise ConfigError(f"{redact_url(url)}: opened read-only ({reason}), and this command "
                              f"writes to the database; drop ?mode=ro")
        file = SqliteFile(url, db.path) if db.path is not None else None
        self._read_only_error: type[Exception] = ConfigError
        if file is not None and not reason:
            reason = file.check(create=create and not db.must_exist, read_only=False)
            if reason is not None:
                self._read_only_error = StorageError
                if create or read_only is False:
                    raise StorageError(f"{redact_url(url)}: the database is read-only ({reason})")
        elif file is not None:
            file.check(create=False, read_only=True)
        if read_only and reason is None:
            reason = "opened read-only"
        self.read_only_reason = reason
        self.read_only = reason is not None
        try:
            self.engine = make_engine(url, db=db, read_only=self.read_only, create=create,
                                      immutable=file is not None and file.immutable)
            ensure_schema(self.engine, url, create=create, read_only=self.read_only)
            if db.sqlite:  # its connection is checked out when a claim, record or read needs it
                self._sqlite_hot = SqliteHotPath(self.engine)
        except (StorageError, StudyError):
            self._drop_new_file(file)
            raise
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            self._drop_new_file(file)
            line = error_line(exc)
            raise StorageError(f"{redact_url(url)}: cannot open the database: "
                               f"{file.explain(line) if file is not None else line}") from exc

    def _sqlite_hot_path(self) -> SqliteHotPath | None:
        """The SQLite hot path (None: PostgreSQL, or ``fast_sqlite`` off)."""
        return self._sqlite_hot if self.fast_sqlite else None

    def _drop_new_file(self, file: SqliteFile | None) -> None:
        if getattr(self, "engine", None) is not None:
            self.engine.dispose()
        if file is not None:
            file.remove_if_new_and_empty()

    def _writable(self) -> None:
        """Refuse a write to a database opened read-only."""
        if self.read_only:
            raise self._read_only_error(f"{redact_url(self.url)}: the database is read-only "
                              f"({self.read_only_reason}), and this command writes to it")

    def _write(self) -> Connection:
        """A connection for one write transaction (BEGIN IMMEDIATE on SQLite)."""
        self._writable()
        return self.engine.connect().execution_options(hp_write=True)

    def _lock_study(self, conn: Connection, study_id: int) -> None:
        """Serialise the claims of one study. SQLite's ``BEGIN IMMEDIATE`` already holds the
        database's write lock; PostgreSQL takes the study's row lock first, so every writer on
        the hot path locks rows in one order (study, then round or trial) and cannot deadlock."""
        if self.engine.dialect.name != "sqlite":
            conn.execute(select(STUDY.c.id).where(STUDY.c.id == study_id).with_for_update())

    def dispose(self) -> None:
        """Close the engine's pooled connections (errors here are not translated)."""
        if self._sqlite_hot is not None:
            self._sqlite_hot.close()
        self.engine.dispose()

