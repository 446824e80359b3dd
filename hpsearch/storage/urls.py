"""Database URLs checked before anything is opened: what the URL asks for, or why it cannot be.

SQLite URLs are taken apart here, because several of them look fine and store nothing:
``sqlite://`` and ``sqlite:///`` (what ``HPSEARCH_DB=sqlite:///$UNSET`` gives) and
``sqlite:///:memory:`` are in-memory databases that vanish when the run ends, so they are
refused (exit 2). Query options are handled deliberately, not passed on for SQLAlchemy to warn
about and ignore:

- ``?mode=ro``: read-only. The reading commands (studies, report, show, best, rounds) open the
  file read-only; a command that writes is refused (exit 2).
- ``?mode=rw``: the file must exist already (nothing is created); ``?mode=rwc``: the default.
- ``?uri=true`` with a ``file:`` path (SQLAlchemy's spelling of the same): accepted.
- anything else is refused (exit 2), naming the options hpsearch understands.

PostgreSQL URLs are passed on unchanged (their query options are libpq's).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from hpsearch.errors import ConfigError

__all__ = ["DbUrl", "parse_db_url"]

_MODES = ("ro", "rw", "rwc")
_SQLITE_KEYS = ("mode", "uri")


@dataclass(frozen=True)
class DbUrl:
    """What a URL asks for: ``path`` is the SQLite file (None for a server database);
    ``read_only`` for ``?mode=ro``; ``must_exist`` for ``?mode=rw``."""

    url: str
    sqlite: bool
    path: Path | None = None
    read_only: bool = False
    must_exist: bool = False


def parse_db_url(url: str) -> DbUrl:
    """``url`` taken apart. Raises :class:`~hpsearch.errors.ConfigError` (exit 2) for an
    in-memory or empty SQLite URL and for SQLite query options hpsearch does not handle. A
    string that is no URL at all is returned as a non-SQLite URL: opening it says why."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return DbUrl(url=url, sqlite=False)
    if parsed.get_backend_name() != "sqlite":
        return DbUrl(url=url, sqlite=False)
    database = parsed.database or ""
    query = {k: (v if isinstance(v, str) else v[-1]) for k, v in parsed.query.items()}
    unknown = sorted(set(query) - set(_SQLITE_KEYS))
    if unknown:
        raise ConfigError(
            f"{url}: unknown SQLite URL option{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(unknown)}: hpsearch understands ?mode=ro (read-only), ?mode=rw (the file "
            f"must exist) and ?mode=rwc (the default)")
    mode = query.get("mode", "rwc")
    if mode == "memory":
        raise ConfigError(_in_memory(url))
    if mode not in _MODES:
        raise ConfigError(f"{url}: mode={mode}: must be one of {', '.join(_MODES)}")
    if database.startswith("file:"):
        if query.get("uri", "").lower() not in ("true", "1"):
            raise ConfigError(f"{url}: a file: path needs ?uri=true (or write sqlite:///{database[5:]})")
        database = database[5:]
    elif "uri" in query:
        raise ConfigError(f"{url}: ?uri=true goes with a file: path (sqlite:///file:PATH?uri=true)")
    if not database:
        raise ConfigError(f"{url}: no file named, and SQLite then opens an in-memory database "
                          f"that keeps nothing once the command ends; give a file "
                          f"(sqlite:///hpsearch.db) or a server (postgresql://user@host/db)")
    if database.startswith(":memory:"):
        raise ConfigError(_in_memory(url))
    return DbUrl(url=url, sqlite=True, path=Path(database), read_only=mode == "ro",
                 must_exist=mode == "rw")


def _in_memory(url: str) -> str:
    return (f"{url}: an in-memory SQLite database keeps nothing once the command ends; give a "
            f"file (sqlite:///hpsearch.db) or a server (postgresql://user@host/db)")
