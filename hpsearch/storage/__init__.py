"""Storage: SQLAlchemy models and the few operations the runner and reports need."""

from __future__ import annotations

from hpsearch.storage.db import Storage, StudyBusy, trial_seed
from hpsearch.storage.models import FINISHED_STATES, SCHEMA_VERSION, STATES
from hpsearch.storage.records import RoundRecord, StudyRecord, StudySummary, TrialRecord

__all__ = [
    "Storage", "StudyBusy", "trial_seed", "STATES", "FINISHED_STATES", "SCHEMA_VERSION",
    "StudyRecord", "RoundRecord", "TrialRecord", "StudySummary",
]
