"""Storage: SQLAlchemy models and the few operations the runner and reports need.

Modules, each importing only those above it in this list::

    models     the SQLAlchemy 2.0 tables, SCHEMA_VERSION, the trial STATES
    records    the plain frozen records handed out (StudyRecord, RoundRecord, TrialRecord, ...)
    engine     the engine: SQLite's WAL switch and pragmas, the PostgreSQL driver, URLs in messages
    schema     ensure_schema: tables created on first use, the version checked on every open
    tables     Core handles on the tables, trial rows into records, the best-trial query
    base       StorageBase (open database, write transactions, study lock), @storage_errors
    studies    StudyQueries: studies and rounds
    trials     TrialQueries: claim/record hot path, heartbeat, stale recovery, trial reads
    db         Storage = StudyQueries + TrialQueries

A busy study (``--max-concurrent`` reached) is :class:`~hpsearch.errors.StudyBusy`, an error of
the tree in :mod:`hpsearch.errors`, re-exported here.
"""

from __future__ import annotations

from hpsearch.errors import StudyBusy
from hpsearch.storage.db import Storage
from hpsearch.storage.models import FINISHED_STATES, SCHEMA_VERSION, STATES
from hpsearch.storage.records import RoundRecord, StudyRecord, StudySummary, TrialRecord
from hpsearch.storage.trials import trial_seed

__all__ = [
    "Storage", "StudyBusy", "trial_seed", "STATES", "FINISHED_STATES", "SCHEMA_VERSION",
    "StudyRecord", "RoundRecord", "TrialRecord", "StudySummary",
]
