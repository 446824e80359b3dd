"""What the Slurm and Kubernetes launchers share: the database URL rules and the error type."""

from __future__ import annotations

import re

from hpsearch.errors import ConfigError, LaunchError
from hpsearch.storage.urls import mask_url, url_has_secret

__all__ = ["LaunchError", "check_db_url", "check_text", "url_has_password", "slug", "job_name_for",
           "worker_options"]

# Characters no value of a script or manifest may hold: C0 controls (newline, carriage return,
# NUL, ESC ...), DEL, C1 controls, the Unicode line and paragraph separators (YAML breaks lines
# there) and lone surrogates (undecodable command-line bytes).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def check_text(option: str, value: str, *, allow_tab: bool = False, show: bool = True) -> str:
    """``value`` when it holds no control character (see ``_CONTROL``); else ConfigError naming
    ``option`` and the first such character (the value itself too unless ``show`` is false: a
    database URL may hold a password). Every value that reaches a job script or manifest passes
    here, so none can start a line of its own there."""
    text = str(value)
    for m in _CONTROL.finditer(text):
        if allow_tab and m.group() == "\t":
            continue
        what = f"{text!r} holds" if show else "the value holds"
        raise ConfigError(f"{option}: {what} a control character ({m.group()!r}); give it on "
                          "one line, without control characters")
    return text


def check_db_url(db_url: str, *, allow_sqlite: bool = False) -> None:
    """Refuse a URL that workers on other machines cannot share.

    Every task of a job array opens the database at once, from whichever node Slurm picked.
    SQLite's locks do not work over NFS or Lustre (the file gets corrupted or writes fail with
    "database is locked"), so a SQLite URL is refused unless ``allow_sqlite`` says every task
    runs on one node with a local disk.
    """
    if not isinstance(db_url, str) or "://" not in db_url:
        raise ConfigError(f"--db: not a database URL: {db_url!r} "
                          "(expected postgresql://user@host/database)")
    check_text("--db", db_url, show=False)
    scheme = db_url.split("://", 1)[0].lower()
    if scheme.startswith("sqlite") and not allow_sqlite:
        raise ConfigError(
            f"--db: {mask_url(db_url)} is a SQLite file, which workers on several nodes cannot share "
            "(SQLite's locking does not work over NFS or other shared file systems); use a "
            "PostgreSQL URL, or pass --allow-sqlite if every task runs on this one node")


def url_has_password(db_url: str) -> bool:
    """Whether the URL carries a secret (``user:secret@host``, ``?password=``, a token: what
    :func:`~hpsearch.storage.urls.mask_url` hides)."""
    return url_has_secret(db_url)


def slug(study: str) -> str:
    """A study name as lower-case letters, digits and ``-`` (for job and folder names)."""
    return re.sub(r"[^a-z0-9]+", "-", study.lower()).strip("-") or "study"


def job_name_for(study: str) -> str:
    """A scheduler-safe job name for a study: ``hpsearch-SLUG``, at most 63 characters
    (Kubernetes' DNS-label rule, which also suits Slurm)."""
    return f"hpsearch-{slug(study)}"[:63].rstrip("-")


def worker_options(*, trials_per_task: int | None, gpus_per_task: int,
                   extra: tuple[str, ...] = ()) -> list[str]:
    """The options of ``hpsearch worker`` for one scheduler task.

    The scheduler hands the task its GPUs through ``CUDA_VISIBLE_DEVICES``: one GPU is
    ``--device cuda``; several are one worker process per GPU (``--workers G --devices auto``).
    """
    args: list[str] = []
    if trials_per_task is not None:
        args += ["--add", str(trials_per_task)]
    if gpus_per_task == 1:
        args += ["--device", "cuda"]
    elif gpus_per_task > 1:
        args += ["--workers", str(gpus_per_task), "--devices", "auto"]
    return args + list(extra)
