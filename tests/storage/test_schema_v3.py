"""Schema version 3: a version-2 database upgraded in place (SQLite and PostgreSQL), every
objective's value and the constraint verdict recorded, infeasible trials never best."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from support.schema_v1 import v1_statements

from hpsearch.storage import SCHEMA_VERSION, Storage

V2_ADDED = ["ALTER TABLE trials ADD COLUMN proposed_by VARCHAR(20)",
            "ALTER TABLE trials ADD COLUMN pruned_step INTEGER",
            "ALTER TABLE trials ADD COLUMN note TEXT",
            "UPDATE hpsearch_meta SET value = '2' WHERE key = 'schema_version'"]


def make_v2(url: str, dialect: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
    with engine.begin() as conn:
        for stmt in v1_statements(dialect) + V2_ADDED:
            conn.exec_driver_sql(stmt.replace("%", "%%") if dialect == "postgresql" else stmt)
    engine.dispose()


def check_upgrade(url: str) -> None:
    storage = Storage(url)
    with storage.engine.connect() as conn:
        assert conn.execute(text("SELECT value FROM hpsearch_meta")).scalar() == str(SCHEMA_VERSION)
    study = storage.get_study("old")
    trials = storage.trials(study, best_first=False)
    assert [(t.number, t.state, t.value, t.values, t.feasible) for t in trials] == [
        (0, "complete", 0.75, None, None), (1, "failed", None, None, None),
        (2, "interrupted", None, None, None)]
    assert storage.best(study).number == 0  # a trial from before: feasible
    round_ = storage.latest_round(study.id)
    again = storage.claim(study, round_, propose=lambda i: {"x": 0.2}, limit=None, worker="w",
                          device=None)
    storage.finish(again.id, state="complete", value=0.9, metrics={"acc": 0.9, "ms": 3.0},
                   values={"acc": 0.9, "ms": 3.0}, feasible=False, violation="ms = 3 > max 2")
    got = storage.trial(study, again.number)
    assert (got.values, got.feasible, got.violation) == ({"acc": 0.9, "ms": 3.0}, False,
                                                         "ms = 3 > max 2")
    assert storage.best(study).number == 0  # better value, but infeasible: never best
    storage.dispose()
    Storage(url).dispose()  # opened again: nothing more to do


def test_a_version_2_sqlite_database_is_upgraded_in_place(tmp_path):
    url = f"sqlite:///{tmp_path / 'v2.db'}"
    make_v2(url, "sqlite")
    check_upgrade(url)


def test_a_version_2_postgres_database_is_upgraded_in_place(pg_url):
    make_v2(pg_url, "postgresql")
    check_upgrade(pg_url)
