"""The schema: created on first use, its version checked (and upgraded) on every open.

The version lives in ``hpsearch_meta`` (``schema_version``). A database of a newer version is
refused (an older hpsearch must not write to it); an older one is upgraded in place, in the
same locked transaction that creates an empty database's tables, so workers opening it together
upgrade it once. A database that has tables but no ``hpsearch_meta`` belongs to something else:
it is refused untouched, never stamped.

Versions:

1. studies, rounds, trials, trial_steps, hpsearch_meta.
2. trials gains ``proposed_by`` (the sampler that proposed the params), ``pruned_step`` and
   ``note`` (all nullable: the trials of version 1 keep None).
3. trials gains ``objective_values`` (every objective's value, metric -> value), ``feasible``
   and ``violation`` (the constraint verdict); nullable, so older trials read as feasible
   single-objective trials (their ``value``) and nothing is rewritten.
"""

from __future__ import annotations

from sqlalchemy import inspect, insert, select, text, update
from sqlalchemy.engine import Connection, Engine

from hpsearch.errors import StorageError, StudyError
from hpsearch.storage.engine import redact_url
from hpsearch.storage.models import META, METADATA, SCHEMA_VERSION

__all__ = ["ensure_schema", "upgrade"]

_META = META

#: Any fixed number: the PostgreSQL advisory lock that serialises creating the tables.
_CREATE_LOCK = 726354101

#: Columns each version added, by version: (table, column).
_ADDED = {2: (("trials", "proposed_by"), ("trials", "pruned_step"), ("trials", "note")),
          3: (("trials", "objective_values"), ("trials", "feasible"), ("trials", "violation"))}


def ensure_schema(engine: Engine, url: str, *, create: bool = True, read_only: bool = False) -> None:
    """Create the tables of an empty database, or check (and upgrade) an existing one.

    ``create=False`` refuses an empty database instead (:class:`StudyError`, the reading
    commands: nothing to read, nothing created); ``read_only`` writes nothing at all (an older
    schema is then refused, as it cannot be upgraded). Raises
    :class:`~hpsearch.errors.StorageError` for a foreign database or a version this hpsearch
    cannot use; database errors are left to the caller.
    """
    with engine.connect().execution_options(hp_write=not read_only) as conn, conn.begin():
        if engine.dialect.name == "postgresql" and not read_only:
            # Workers started together on an empty database would race to create the
            # tables; one creates them, the others wait here and then find them.
            conn.execute(text(f"SELECT pg_advisory_xact_lock({_CREATE_LOCK})"))
        tables = set(inspect(conn).get_table_names())
        if "hpsearch_meta" not in tables:
            if tables:
                found = ", ".join(sorted(tables)[:8]) + (", ..." if len(tables) > 8 else "")
                raise StorageError(
                    f"{redact_url(url)}: not an hpsearch database (it has other tables: {found}); "
                    f"left untouched: give hpsearch a database of its own")
            if not create or read_only:
                raise StudyError(f"{redact_url(url)}: no hpsearch database here yet (it is empty; "
                                 f"`hpsearch run SPACE` creates one)")
            METADATA.create_all(conn)
            conn.execute(insert(_META).values(key="schema_version", value=str(SCHEMA_VERSION)))
            return
        stamped = conn.execute(
            select(_META.c.value).where(_META.c.key == "schema_version")
        ).scalar_one_or_none()
        version = int(stamped or 0)
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"{redact_url(url)}: schema version {version} is newer than this hpsearch "
                f"understands ({SCHEMA_VERSION}); upgrade hpsearch")
        if version < 1:
            raise StorageError(f"{redact_url(url)}: hpsearch_meta has no schema version; "
                               f"not a database hpsearch made")
        if version < SCHEMA_VERSION:
            if read_only:
                raise StorageError(
                    f"{redact_url(url)}: schema version {version} needs an upgrade to "
                    f"{SCHEMA_VERSION}, which a read-only opening cannot do; open it once "
                    f"without ?mode=ro (any command does it)")
            upgrade(conn, version)


def upgrade(conn: Connection, version: int) -> None:
    """Bring a database of ``version`` to :data:`SCHEMA_VERSION` inside ``conn``'s transaction
    (the caller holds the lock). Only columns are added, all nullable: an upgrade never
    rewrites a row, so it takes a moment even on a large study."""
    inspector = inspect(conn)
    for v in range(version + 1, SCHEMA_VERSION + 1):
        for table_name, column in _ADDED.get(v, ()):
            have = {c["name"] for c in inspector.get_columns(table_name)}
            if column in have:
                continue
            col = METADATA.tables[table_name].c[column]
            kind = col.type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE {table_name} ADD COLUMN {column} {kind}"))
    conn.execute(update(_META).where(_META.c.key == "schema_version")
                 .values(value=str(SCHEMA_VERSION)))
