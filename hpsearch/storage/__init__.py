"""Storage: SQLAlchemy models and the few operations the runner and reports need.

Modules, each importing only those above it in this list::

    limits     DB_LIMITS (what every supported database stores), JSON and step clean-up; no SQLAlchemy
    records    the plain frozen records handed out (StudyRecord, TrialRecord, RoundHistory, ...),
               the proposal contract of a claim (Proposer, Proposal)
    models     the SQLAlchemy 2.0 tables (Core, no ORM), SCHEMA_VERSION, the trial STATES
    urls       database URLs checked: in-memory SQLite refused, ?mode=ro, unknown options
    engine     the engine: SQLite's WAL switch and pragmas, the PostgreSQL driver, URLs in messages
    files      a SQLite file looked at before opening (directory, missing folder, read-only)
    schema     ensure_schema: tables created on first use, the version checked and upgraded
    tables     Core handles on the tables, trial rows into records, the best-trial query
    base       StorageBase (open database, write transactions, study lock), @storage_errors
    history    HistoryQueries: a round's history for model samplers, its step curves for pruners
    writes     TrialWrites: the statements of a claim and a record; CoreWrites (SQLAlchemy Core)
    sqlite_writes  the same statements on SQLite's own sqlite3 connection (SqliteHotPath)
    studies    StudyQueries: studies and rounds
    trials     TrialQueries: claim/record hot path, heartbeat, stale recovery, trial reads
    stream     TrialStream: iter_trials, iter_rows, count_trials (reads that never hold a whole
               study in memory)
    db         Storage = StudyQueries + TrialQueries + TrialStream + HistoryQueries
    artifacts  the kept files of a study's best trials (``[trainer] keep_best``): Keeper,
               ArtifactFolder (imported by their users, not re-exported here)

``limits`` and ``records`` load without SQLAlchemy (``hpsearch.validate`` reads
:data:`DB_LIMITS`); the other names are loaded on first use.

A busy study (``--max-concurrent`` reached) is :class:`~hpsearch.errors.StudyBusy`, an error of
the tree in :mod:`hpsearch.errors`, re-exported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpsearch.errors import StudyBusy
from hpsearch.lazy import lazy_attributes
from hpsearch.storage.limits import DB_LIMITS, DbLimits
from hpsearch.storage.records import (
    ByIndex, FinishedTrial, Proposal, Proposer, RoundHistory, RoundRecord, StepSeries, StudyRecord,
    StudySummary, TrialRecord,
)

if TYPE_CHECKING:
    from hpsearch.storage.db import Storage
    from hpsearch.storage.models import FINISHED_STATES, SCHEMA_VERSION, STATES
    from hpsearch.storage.stream import TrialStream
    from hpsearch.storage.trials import trial_seed

_LAZY = {
    "Storage": "hpsearch.storage.db", "trial_seed": "hpsearch.storage.trials",
    "STATES": "hpsearch.storage.models", "FINISHED_STATES": "hpsearch.storage.models",
    "SCHEMA_VERSION": "hpsearch.storage.models", "TrialStream": "hpsearch.storage.stream",
}

__all__ = [
    "Storage", "TrialStream", "StudyBusy", "trial_seed", "STATES", "FINISHED_STATES", "SCHEMA_VERSION",
    "StudyRecord", "RoundRecord", "TrialRecord", "StudySummary", "FinishedTrial", "RoundHistory",
    "StepSeries", "DB_LIMITS", "DbLimits", "Proposal", "Proposer", "ByIndex",
]


__getattr__ = lazy_attributes(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
