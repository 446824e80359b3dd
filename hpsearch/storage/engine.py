"""Engine set-up: SQLite's pragmas and WAL switch, the PostgreSQL driver, URLs in messages.

SQLite (the default) gets WAL, a busy timeout and ``BEGIN IMMEDIATE`` for write transactions;
PostgreSQL gets whichever driver is installed and ``pool_pre_ping`` (workers hold connections
for hours between trials).
"""

from __future__ import annotations

import random
import sqlite3
import time
from urllib.parse import quote

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

from hpsearch.errors import StorageError
from hpsearch.storage.limits import json_dumps
from hpsearch.storage.urls import DbUrl, mask_url, parse_db_url

__all__ = ["SQLITE_BUSY_TIMEOUT_S", "make_engine", "with_pg_driver", "redact_url", "error_line"]

#: How long a SQLite writer waits for the lock before "database is locked".
SQLITE_BUSY_TIMEOUT_S = 60.0


def make_engine(url: str, *, db: DbUrl | None = None, read_only: bool = False,
                create: bool = True, immutable: bool = False) -> Engine:
    """An engine for ``url``. Write transactions ask for ``execution_options(hp_write=True)``.

    JSON values are written by :func:`~hpsearch.storage.limits.json_dumps` (non-finite floats
    as null) on every database. SQLite: ``read_only`` opens the file read-only; without
    ``create`` an empty file is not switched to WAL (nothing is written to it); ``immutable``
    reads a file nobody can write without locks (a read-only file system).
    """
    db = db or parse_db_url(url)
    if db.sqlite:
        return _sqlite_engine(db, read_only=read_only, create=create, immutable=immutable)
    return create_engine(with_pg_driver(url), pool_pre_ping=True, json_serializer=json_dumps)


def _sqlite_engine(db: DbUrl, *, read_only: bool, create: bool, immutable: bool) -> Engine:
    # Read at call time, not import time: the tests shorten it.
    timeout = SQLITE_BUSY_TIMEOUT_S
    path = str(db.path)
    if read_only or db.must_exist:
        # SQLite's own URI form: "ro" cannot write at all; "rw" does not create a missing file.
        target = f"file:{quote(path)}?mode={'ro' if read_only else 'rw'}"
        if read_only and immutable:
            target += "&immutable=1"
    else:
        target = path

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(target, timeout=timeout, uri=target.startswith("file:"),
                               check_same_thread=False)

    # The URL names the file (so SQLAlchemy pools it as a file); the creator opens it, with
    # the options parsed above instead of SQLAlchemy's query-string pass-through.
    engine = create_engine(f"sqlite:///{path}", creator=connect, json_serializer=json_dumps)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        # We emit BEGIN ourselves (below): pysqlite's implicit transactions start deferred,
        # and a deferred transaction that reads before it writes fails with "database is
        # locked" without waiting when another writer got in first.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        if not read_only:
            _use_wal(cursor, timeout, create=create)
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


def _use_wal(cursor, timeout: float, *, create: bool = True) -> None:
    """Switch the database to WAL unless it is in WAL already. The switch needs the file to
    itself, and SQLite answers "database is locked" at once, without its busy handler, when
    several processes open a new database together (workers, cron and ``report``): retry it
    with a jittered back-off for up to the busy timeout.

    The switch writes to the file, so it is left out for a database that is not hpsearch's
    (tables, but no ``hpsearch_meta``: the schema check refuses it untouched) and, without
    ``create``, for an empty one."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return
            tables = {r[0] for r in cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            if ("hpsearch_meta" not in tables) and (tables or not create):
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


def with_pg_driver(url: str) -> str:
    """``postgresql://`` with the driver that is installed: SQLAlchemy 2.0 assumes psycopg2
    and 2.1 psycopg 3 for a bare URL, whichever of them the user happens to have. Other URLs,
    and PostgreSQL URLs that name their driver, are returned unchanged."""
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


def redact_url(url: str) -> str:
    """The URL for messages: :func:`~hpsearch.storage.urls.mask_url` (every secret as ``***``,
    the rest as given, so the message still says which database was meant)."""
    return mask_url(url)


def error_line(exc: BaseException) -> str:
    """The first line of the database's own message (the DBAPI error under SQLAlchemy's)."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
