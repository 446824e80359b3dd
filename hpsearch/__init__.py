"""hpsearch: hyperparameter search for PyTorch classifiers and any training program.

The library API, for a notebook or a script (the ``hpsearch`` command is a thin layer over it)::

    import hpsearch

    storage = hpsearch.open_storage("sqlite:///hpsearch.db")
    space = hpsearch.load_space("search_spaces/digits_mlp.toml")
    summary = hpsearch.run_study(storage, space, hpsearch.RunOptions(add=5))
    hpsearch.refine_study(storage, summary.study, top=3, trials=10)
    summary = hpsearch.join_study(storage, summary.study)   # runs the refined round
    best = hpsearch.select_trials(storage, summary.study, top=1).trials[0]
    front = hpsearch.study_front(storage, summary.study).members   # several objectives

Names are loaded on first use, so ``import hpsearch`` (and ``hpsearch --help``) imports neither
SQLAlchemy nor PyTorch. Errors are classes of :mod:`hpsearch.errors`, each with its exit code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpsearch.errors import (
    ConfigError, DataError, HpsearchError, Interrupted, LaunchError, ObjectiveError, SpaceError,
    StorageError, StudyBusy, StudyError, TooManyFailures,
)
from hpsearch.lazy import lazy_attributes

if TYPE_CHECKING:
    from hpsearch.storage import Storage

__version__ = "0.1.0"

#: The database of the CLI when neither ``--db`` nor ``HPSEARCH_DB`` names one.
DEFAULT_DB = "sqlite:///hpsearch.db"

# public name -> the module that defines it (imported when the name is first used)
_LAZY = {
    "load_space": "hpsearch.space", "Space": "hpsearch.space",
    "validate_space": "hpsearch.validate", "Validation": "hpsearch.validate",
    "run_study": "hpsearch.run", "join_study": "hpsearch.run", "run_round": "hpsearch.run",
    "RunOptions": "hpsearch.run", "RunSummary": "hpsearch.run", "TrialEvent": "hpsearch.run",
    "refine_study": "hpsearch.refine", "refine_and_run": "hpsearch.refine",
    "Storage": "hpsearch.storage",
    "select_trials": "hpsearch.report", "study_rows": "hpsearch.report",
    "get_trial": "hpsearch.report", "get_best": "hpsearch.report",
    "best_space": "hpsearch.report", "export_trials": "hpsearch.report",
    "write_plots": "hpsearch.report", "rounds_overview": "hpsearch.report",
    "Pruned": "hpsearch.pruners",
    "load_model": "hpsearch.trainer.checkpoint",
    "study_front": "hpsearch.report", "Front": "hpsearch.report",
}

__all__ = [
    "open_storage", "DEFAULT_DB", *_LAZY,
    "HpsearchError", "SpaceError", "ConfigError", "DataError", "StudyError", "StudyBusy",
    "StorageError", "ObjectiveError", "Interrupted", "TooManyFailures", "LaunchError",
]


def open_storage(url: str = DEFAULT_DB, *, create: bool = True) -> Storage:
    """Open the database at ``url`` (``sqlite:///path.db`` or ``postgresql://user@host/db``).

    With ``create=False`` a missing SQLite file is an error instead of a new empty database
    (what the read-only commands want: a typo must not leave an empty file behind).

    Raises
    ------
    StudyError
        ``create=False`` and there is no SQLite file at the path.
    StorageError
        The database cannot be opened, or its schema is newer than this hpsearch.
    """
    from hpsearch.storage import Storage

    # Storage checks the URL (in-memory SQLite, ?mode=ro) and, without create, neither makes
    # a missing file nor the tables of an empty database.
    return Storage(url, create=create)


__getattr__ = lazy_attributes(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
