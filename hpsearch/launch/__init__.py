"""Job scripts for the schedulers clusters already run: Slurm job arrays, Kubernetes Indexed Jobs.

hpsearch schedules nothing itself. A study in PostgreSQL already has the right shape for a
cluster: ``hpsearch worker DB STUDY`` pulls trials until the study has its target, so N workers
are N copies of that command, started by whatever the site runs. This package writes the job
those copies run in (:func:`render_sbatch`, :func:`render_indexed_job`), submits a Slurm one
(:func:`submit`), and reads back which scheduler task ran a trial (:func:`parse_worker`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpsearch.lazy import lazy_attributes

if TYPE_CHECKING:
    from hpsearch.launch.common import LaunchError, check_db_url
    from hpsearch.launch.identity import WorkerIdentity, parse_worker, tagged_worker_id, worker_tag
    from hpsearch.launch.k8s import K8sOptions, render_indexed_job
    from hpsearch.launch.slurm import SlurmOptions, render_sbatch, slurm_time, submit, write_script

__all__ = [
    "LaunchError", "check_db_url",
    "SlurmOptions", "render_sbatch", "write_script", "submit", "slurm_time",
    "K8sOptions", "render_indexed_job",
    "WorkerIdentity", "parse_worker", "worker_tag", "tagged_worker_id",
]

# Loaded on first use: every run names its worker (identity.py) and needs no job script.
_LAZY = {
    **dict.fromkeys(["LaunchError", "check_db_url"], "hpsearch.launch.common"),
    **dict.fromkeys(["SlurmOptions", "render_sbatch", "write_script", "submit", "slurm_time"],
                    "hpsearch.launch.slurm"),
    **dict.fromkeys(["K8sOptions", "render_indexed_job"], "hpsearch.launch.k8s"),
    **dict.fromkeys(["WorkerIdentity", "parse_worker", "worker_tag", "tagged_worker_id"],
                    "hpsearch.launch.identity"),
}
__getattr__ = lazy_attributes(__name__, _LAZY, globals())
