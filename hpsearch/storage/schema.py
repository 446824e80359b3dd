"""The schema: created on first use, its version checked on every open.

The version lives in ``hpsearch_meta`` (``schema_version``). A database of a newer version is
refused (an older hpsearch must not write to it); an older one would need a migration, and
none exists yet.
"""

from __future__ import annotations

from sqlalchemy import insert, select, text
from sqlalchemy.engine import Engine

from hpsearch.errors import StorageError
from hpsearch.storage.engine import redact_url
from hpsearch.storage.models import SCHEMA_VERSION, Base, Meta

__all__ = ["ensure_schema"]

_META = Meta.__table__

#: Any fixed number: the PostgreSQL advisory lock that serialises creating the tables.
_CREATE_LOCK = 726354101


def ensure_schema(engine: Engine, url: str) -> None:
    """Create the tables of an empty database, or check the version of an existing one.

    Raises :class:`~hpsearch.errors.StorageError` for a version this hpsearch cannot use;
    database errors are left to the caller.
    """
    with engine.connect().execution_options(hp_write=True) as conn, conn.begin():
        if engine.dialect.name == "postgresql":
            # Workers started together on an empty database would race to create the
            # tables; one creates them, the others wait here and then find them.
            conn.execute(text(f"SELECT pg_advisory_xact_lock({_CREATE_LOCK})"))
        if not engine.dialect.has_table(conn, "hpsearch_meta"):
            Base.metadata.create_all(conn)
            conn.execute(insert(_META).values(key="schema_version", value=str(SCHEMA_VERSION)))
            return
        found = conn.execute(
            select(_META.c.value).where(_META.c.key == "schema_version")
        ).scalar_one_or_none()
    version = int(found or 0)
    if version > SCHEMA_VERSION:
        raise StorageError(
            f"{redact_url(url)}: schema version {version} is newer than this hpsearch "
            f"understands ({SCHEMA_VERSION}); upgrade hpsearch"
        )
    if version < SCHEMA_VERSION:  # pragma: no cover - no migrations exist yet
        raise StorageError(f"{redact_url(url)}: schema version {version} needs a migration")
