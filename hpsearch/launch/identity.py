"""Which scheduler task a worker process belongs to, as stored in a trial's ``worker`` field.

A trial's ``worker`` is ``host:pid``. A worker started by a scheduler adds one word::

    node07:4121 slurm=81234_5            Slurm job array 81234, task 5
    node07:4121 slurm=81240              a plain Slurm job (no array)
    hpsearch-digits-mlp-3-x7k2p:1 k8s=hpsearch-digits-mlp_3   Kubernetes Job, completion index 3

The scripts of this package set ``HPSEARCH_WORKER_TAG`` explicitly; :func:`worker_tag` also
derives it from Slurm's own variables, so a hand-written sbatch script that runs
``hpsearch worker`` is recognised too. :func:`parse_worker` reads it back for ``launch status``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["TAG_ENV", "worker_tag", "tagged_worker_id", "parse_worker", "WorkerIdentity"]

TAG_ENV = "HPSEARCH_WORKER_TAG"
_TAG = re.compile(r"^[a-z0-9]+=[A-Za-z0-9._/-]+$")
_WORKER = re.compile(r"^(?P<host>[^\s:]+):(?P<pid>\d+)(?:\s+(?P<scheduler>[a-z0-9]+)="
                     r"(?P<job>[A-Za-z0-9./-]+?)(?:_(?P<task>\d+))?)?$")


def worker_tag(environ: Mapping[str, str] | None = None) -> str | None:
    """The scheduler word of this process (``slurm=JOB_TASK``...), or None outside a scheduler.

    ``HPSEARCH_WORKER_TAG`` wins when it is a single ``name=value`` word (anything else is
    ignored rather than stored); then Slurm's array variables; then ``SLURM_JOB_ID``.
    """
    env = os.environ if environ is None else environ
    tag = env.get(TAG_ENV, "").strip()
    if tag and _TAG.match(tag):
        return tag
    job, task = env.get("SLURM_ARRAY_JOB_ID"), env.get("SLURM_ARRAY_TASK_ID")
    if job and task:
        return f"slurm={job}_{task}"
    if env.get("SLURM_JOB_ID"):
        return f"slurm={env['SLURM_JOB_ID']}"
    return None


def tagged_worker_id(base: str, environ: Mapping[str, str] | None = None) -> str:
    """``base`` (``host:pid``) with this process's scheduler word, if any."""
    tag = worker_tag(environ)
    return base if tag is None else f"{base} {tag}"


@dataclass(frozen=True)
class WorkerIdentity:
    """A trial's ``worker`` field, taken apart."""

    host: str
    pid: int
    scheduler: str | None = None   # "slurm", "k8s"
    job: str | None = None         # Slurm job id / Kubernetes Job name
    task: int | None = None        # array task id / completion index


def parse_worker(worker: str | None) -> WorkerIdentity | None:
    """Read a ``worker`` field back; None when it is empty or not of this shape."""
    if not worker:
        return None
    m = _WORKER.match(worker.strip())
    if m is None:
        return None
    task = m.group("task")
    return WorkerIdentity(host=m.group("host"), pid=int(m.group("pid")),
                          scheduler=m.group("scheduler"), job=m.group("job"),
                          task=None if task is None else int(task))
