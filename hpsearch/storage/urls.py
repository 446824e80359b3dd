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

SQLAlchemy is imported inside :func:`parse_db_url`, so :func:`mask_url` loads without it (the
launchers use it).

PostgreSQL URLs are passed on unchanged (their query options are libpq's). A port that is not
a number is refused (exit 2) in every command, before anything is opened.

:func:`mask_url` is the one way a URL is shown (every message, every command): a password in
``user:password@`` and the value of every secret query option (``?password=``,
``?sslpassword=``, ``?token=``, ``?access_token=``, ``?api_key=``, ``?secret=``, ... : any key
that names a password, token, secret, key for an API, or credential) are shown as ``***``. Paths
(``?sslkey=``, ``?sslcert=``, ``?passfile=``) are shown: they are where a secret is, not the
secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from hpsearch.errors import ConfigError

__all__ = ["DbUrl", "parse_db_url", "mask_url", "url_has_secret"]

MASK = "***"
_SCHEME_AUTHORITY = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://)([^/?#]*)")
# Query keys whose value is a secret; matched in the key lower-cased, without - and _.
_SECRET_KEY = re.compile(r"pass(word|wd)?$|pwd|secret|token|apikey|credential|auth")
_PATH_KEYS = {"sslkey", "sslcert", "sslrootcert", "sslcrl", "sslcrldir", "passfile"}


def mask_url(url: str) -> str:
    """``url`` as shown in messages: every secret in it as ``***``, the rest exactly as given
    (see the module doc). Works on any string, parsable or not: it never raises."""
    text = str(url)
    m = _SCHEME_AUTHORITY.match(text)
    if m is not None and "@" in m.group(2):
        userinfo, host = m.group(2).rsplit("@", 1)
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":" + MASK
        text = m.group(1) + userinfo + "@" + host + text[m.end():]
    base, sep, query = text.partition("?")
    if not sep:
        return text
    query, hash_, fragment = query.partition("#")
    parts = []
    for part in re.split(r"([&;])", query):
        key, eq, _value = part.partition("=")
        if eq and _is_secret_key(key):
            part = f"{key}={MASK}"
        parts.append(part)
    return base + sep + "".join(parts) + hash_ + fragment


def _is_secret_key(key: str) -> bool:
    name = re.sub(r"[-_]", "", unquote(key).strip().lower())
    return name not in _PATH_KEYS and bool(_SECRET_KEY.search(name))


def url_has_secret(url: str) -> bool:
    """Whether showing ``url`` would show a secret (what :func:`mask_url` hides)."""
    return mask_url(url) != str(url)

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
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    _check_port(url)
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
            f"{mask_url(url)}: unknown SQLite URL option{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(unknown)}: hpsearch understands ?mode=ro (read-only), ?mode=rw (the file "
            f"must exist) and ?mode=rwc (the default)")
    mode = query.get("mode", "rwc")
    if mode == "memory":
        raise ConfigError(_in_memory(url))
    if mode not in _MODES:
        raise ConfigError(f"{mask_url(url)}: mode={mode}: must be one of {', '.join(_MODES)}")
    if database.startswith("file:"):
        if query.get("uri", "").lower() not in ("true", "1"):
            raise ConfigError(f"{mask_url(url)}: a file: path needs ?uri=true (or write sqlite:///{database[5:]})")
        database = database[5:]
    elif "uri" in query:
        raise ConfigError(f"{mask_url(url)}: ?uri=true goes with a file: path (sqlite:///file:PATH?uri=true)")
    if not database:
        raise ConfigError(f"{mask_url(url)}: no file named, and SQLite then opens an in-memory database "
                          f"that keeps nothing once the command ends; give a file "
                          f"(sqlite:///hpsearch.db) or a server (postgresql://user@host/db)")
    if database.startswith(":memory:"):
        raise ConfigError(_in_memory(url))
    return DbUrl(url=url, sqlite=True, path=Path(database), read_only=mode == "ro",
                 must_exist=mode == "rw")


def _check_port(url: str) -> None:
    """A port must be digits (SQLAlchemy's parser raises a bare ValueError otherwise)."""
    m = _SCHEME_AUTHORITY.match(url)
    if m is None:
        return
    host = m.group(2).rsplit("@", 1)[-1]
    port = host.rsplit("]", 1)[-1] if host.startswith("[") else host
    if ":" in port:
        port = port.rsplit(":", 1)[1]
        if not port.isdigit() or not port.isascii():
            raise ConfigError(f"{mask_url(url)}: the port {port!r} is not a number "
                              "(postgresql://user@host:5432/database)")


def _in_memory(url: str) -> str:
    return (f"{mask_url(url)}: an in-memory SQLite database keeps nothing once the command ends; give a "
            f"file (sqlite:///hpsearch.db) or a server (postgresql://user@host/db)")
