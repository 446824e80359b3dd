"""A database of schema version 1, as hpsearch made it before version 2 (the DDL that
``Base.metadata.create_all`` emitted from the v1 models, ``git show d2a3db6:hpsearch/storage/models.py``),
with one study, one round, three trials and their steps: the upgrade tests start from it.
``{serial}`` is ``INTEGER`` on SQLite and ``SERIAL`` on PostgreSQL."""

from __future__ import annotations

V1_DDL = """
CREATE TABLE hpsearch_meta ("key" VARCHAR(64) NOT NULL, value VARCHAR(256) NOT NULL, PRIMARY KEY ("key"));
CREATE TABLE studies (
    id {serial} NOT NULL, name VARCHAR(200) NOT NULL, metric VARCHAR(100) NOT NULL,
    direction VARCHAR(10) NOT NULL, sampler VARCHAR(20) NOT NULL, seed INTEGER NOT NULL,
    space JSON NOT NULL, source TEXT NOT NULL, next_number INTEGER NOT NULL,
    created_at FLOAT NOT NULL, PRIMARY KEY (id), UNIQUE (name));
CREATE TABLE rounds (
    id {serial} NOT NULL, study_id INTEGER NOT NULL, number INTEGER NOT NULL, parent INTEGER,
    space JSON NOT NULL, rule JSON, sampler VARCHAR(20) NOT NULL, seed INTEGER NOT NULL,
    target INTEGER NOT NULL, n_claimed INTEGER NOT NULL, created_at FLOAT NOT NULL,
    PRIMARY KEY (id), UNIQUE (study_id, number),
    FOREIGN KEY(study_id) REFERENCES studies (id) ON DELETE CASCADE);
CREATE TABLE trials (
    id {serial} NOT NULL, study_id INTEGER NOT NULL, round INTEGER NOT NULL, number INTEGER NOT NULL,
    sample_index INTEGER, state VARCHAR(12) NOT NULL, params JSON NOT NULL, value FLOAT,
    metrics JSON, seed INTEGER NOT NULL, worker VARCHAR(200), device VARCHAR(50), heartbeat FLOAT,
    started_at FLOAT, finished_at FLOAT, error TEXT, retry_of INTEGER,
    PRIMARY KEY (id), UNIQUE (study_id, number),
    FOREIGN KEY(study_id) REFERENCES studies (id) ON DELETE CASCADE);
CREATE INDEX ix_trials_study_state ON trials (study_id, state);
CREATE INDEX ix_trials_study_value ON trials (study_id, value);
CREATE TABLE trial_steps (
    id {serial} NOT NULL, trial_id INTEGER NOT NULL, step INTEGER NOT NULL, metrics JSON NOT NULL,
    PRIMARY KEY (id), UNIQUE (trial_id, step),
    FOREIGN KEY(trial_id) REFERENCES trials (id) ON DELETE CASCADE);
CREATE INDEX ix_trial_steps_trial_id ON trial_steps (trial_id);
INSERT INTO hpsearch_meta ("key", value) VALUES ('schema_version', '1');
INSERT INTO studies (name, metric, direction, sampler, seed, space, source, next_number, created_at)
    VALUES ('old', 'acc', 'maximize', 'random', 3, '{{"params": {{}}}}', 'old.toml', 3, 1.0);
INSERT INTO rounds (study_id, number, parent, space, rule, sampler, seed, target, n_claimed, created_at)
    VALUES (1, 1, NULL, '{{"params": {{}}}}', NULL, 'random', 3, 5, 3, 1.0);
INSERT INTO trials (study_id, round, number, sample_index, state, params, value, metrics, seed,
                    worker, device, heartbeat, started_at, finished_at, error, retry_of)
    VALUES (1, 1, 0, 0, 'complete', '{{"x": 0.5}}', 0.75, '{{"acc": 0.75}}', 11, 'w', NULL, 1.0, 1.0, 2.0, NULL, NULL),
           (1, 1, 1, 1, 'failed', '{{"x": 0.1}}', NULL, NULL, 12, 'w', NULL, 1.0, 1.0, 2.0, 'boom', NULL),
           (1, 1, 2, 2, 'interrupted', '{{"x": 0.9}}', NULL, NULL, 13, 'w', NULL, 1.0, 1.0, 2.0, NULL, NULL);
INSERT INTO trial_steps (trial_id, step, metrics) VALUES (1, 1, '{{"acc": 0.5}}'), (1, 2, '{{"acc": 0.75}}');
"""


def v1_statements(dialect: str) -> list[str]:
    """The statements, one each, for ``sqlite`` or ``postgresql``."""
    ddl = V1_DDL.format(serial="SERIAL" if dialect == "postgresql" else "INTEGER")
    return [s.strip() for s in ddl.split(";") if s.strip()]


def make_v1_sqlite(path) -> None:
    import sqlite3

    con = sqlite3.connect(path)
    for stmt in v1_statements("sqlite"):
        con.execute(stmt)
    con.commit()
    con.close()
