"""The error hierarchy of hpsearch.

The library raises these; only :mod:`hpsearch.cli` (``cli/errors.py``) turns them into one red
line and an exit code. Each class carries its exit code, so the CLI never maps types by hand::

    HpsearchError                 exit 1   (base; never raised directly)
    ├── SpaceError                exit 2   a search-space file is wrong (names file and field)
    ├── ConfigError               exit 2   bad settings: trainer settings, data files, arguments,
    │                                      database URLs that would store nothing or are ?mode=ro
    │   └── DataError             exit 2   a dataset file is missing, malformed or unusable
    ├── StudyError                exit 3   unknown study or trial, changed space, nothing to refine
    ├── StudyBusy                 (exit 0) the study has its most trials running already; the
    │                                      runner catches it and stops claiming, never the CLI
    ├── StorageError              exit 4   the database cannot be opened or written (read-only, full
    │                                      disk), is of a newer schema, or is not hpsearch's
    ├── ObjectiveError            exit 5   the objective cannot be loaded (import, missing function)
    ├── TooManyFailures           exit 6   a run stopped: N trials in a row failed, none ever succeeded
    ├── LaunchError               exit 7   the cluster scheduler is missing or refused the job (sbatch)
    └── Interrupted               exit 130 SIGINT/SIGTERM stopped a run; running trials were marked

Trial-level failures (an objective that raises, a diverged loss, CUDA out of memory) are *not*
errors of the tool: they are recorded on the trial and the study goes on.
"""

from __future__ import annotations

__all__ = [
    "HpsearchError",
    "SpaceError",
    "ConfigError",
    "DataError",
    "StudyError",
    "StudyBusy",
    "StorageError",
    "ObjectiveError",
    "LaunchError",
    "Interrupted",
    "TooManyFailures",
    "EXIT_CODES",
]


class HpsearchError(Exception):
    """Base class; ``exit_code`` is what the CLI exits with."""

    exit_code = 1


class SpaceError(HpsearchError):
    """A search-space file (or stored space) is invalid. Message: ``file: params.x: what``."""

    exit_code = 2


class ConfigError(HpsearchError):
    """Invalid settings outside the space grammar: trainer settings, option values."""

    exit_code = 2


class DataError(ConfigError):
    """A dataset cannot be loaded: missing file, missing label column, NaN features, one class."""


class StudyError(HpsearchError):
    """The study is not in a state to do what was asked."""

    exit_code = 3


class StudyBusy(HpsearchError):
    """:meth:`Storage.claim <hpsearch.storage.Storage.claim>` found ``limit`` trials of the
    study running already (``--max-concurrent``). Not a failure: the runner catches it, stops
    claiming and says so; exit code 0 should it ever reach the CLI."""

    exit_code = 0

    def __init__(self, running: int, limit: int) -> None:
        trials = "trial" if running == 1 else "trials"
        super().__init__(f"{running} {trials} already running (limit {limit})")
        self.running = running
        self.limit = limit

    def __reduce__(self):  # picklable (a worker process may pass it on): rebuilt from both counts
        return type(self), (self.running, self.limit)


class StorageError(HpsearchError):
    """The database cannot be used (unreachable, corrupt, newer schema)."""

    exit_code = 4


class ObjectiveError(HpsearchError):
    """The objective cannot be set up at all (so every trial would fail the same way)."""

    exit_code = 5


class TooManyFailures(HpsearchError):
    """A run stopped after ``[study] max_consecutive_failures`` trials in a row failed while
    no trial of the study ever succeeded: the objective is broken, not unlucky, and a cron
    job should not burn the study's budget on it."""

    exit_code = 6


class LaunchError(HpsearchError):
    """The scheduler is missing or refused the job (``sbatch`` not found, or it failed).

    Not a bad argument (that is :class:`ConfigError`, exit 2) and not a bug (exit 1)."""

    exit_code = 7


class Interrupted(HpsearchError):
    """A run was stopped by a signal; running trials are marked ``interrupted``."""

    exit_code = 130

    def __init__(self, message: str = "interrupted", *, signum: int = 2) -> None:
        super().__init__(message)
        self.signum = signum
        self.exit_code = 128 + signum


EXIT_CODES = {
    0: "success",
    1: "internal error (a bug: please report it with the traceback)",
    2: "bad input: space file, arguments, trainer settings or data file",
    3: "study problem: unknown study or trial, space changed, too few trials to refine",
    4: "storage problem: database unreachable, locked too long, or of a newer schema",
    5: "objective problem: the python function or command cannot be loaded",
    6: "every trial fails: max_consecutive_failures trials in a row failed, none succeeded",
    7: "launch problem: sbatch is missing or the scheduler refused the job",
    130: "interrupted by SIGINT (143 for SIGTERM); running trials marked interrupted, rerun resumes",
}
