"""``hpsearch serve``: the HTML page of ``report --html``, live, from a read-only database.

::

    storage = open_read_only("sqlite:///hpsearch.db")
    server = make_server(ServeApp(storage, ["digits-mlp"]), "127.0.0.1", 8080)
    server.serve_forever()

Read-only by construction: SQLite is opened with ``mode=ro`` (a WAL reader: it never blocks a
writer and never writes the file), PostgreSQL sessions are ``READ ONLY`` (every transaction the
server starts is refused any write by the server itself). See :mod:`hpsearch.serve.app` for the
routes and the security headers, :mod:`hpsearch.serve.watch` for what an update holds.
"""

from __future__ import annotations

import secrets
from typing import Any

from hpsearch.serve.app import ServeApp, is_loopback, make_server

__all__ = ["ServeApp", "make_server", "open_read_only", "is_loopback", "new_token"]


def open_read_only(url: str) -> Any:
    """A :class:`~hpsearch.storage.Storage` that cannot write: SQLite through ``mode=ro``,
    PostgreSQL with ``default_transaction_read_only`` set on every connection."""
    from sqlalchemy import event

    from hpsearch.storage import Storage

    storage = Storage(url, create=False, read_only=True)
    engine = storage.engine
    if engine.dialect.name != "sqlite":
        @event.listens_for(engine, "connect")
        def _read_only(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            cursor.close()
            dbapi_conn.commit()

        engine.dispose()  # the connections opened before the listener: gone
    return storage


def new_token() -> str:
    """A random token for a server on a non-loopback address."""
    return secrets.token_urlsafe(24)
