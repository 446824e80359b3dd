"""What the cluster commands show: ``create``, ``launch slurm`` and ``launch status``."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any, Sequence


from hpsearch.render.text import console, echo, esc, fmt_seconds

if TYPE_CHECKING:
    from hpsearch.storage import RoundRecord, StudyRecord

__all__ = ["echo_created", "echo_submitted", "print_workers"]


def echo_created(study: StudyRecord, round_: RoundRecord) -> None:
    """``create``: the study exists; how to start its workers (the commands shown with the
    study name shell-quoted, ready to copy)."""
    name = shlex.quote(study.name)
    echo(f"study {study.name} ready: round {round_.number}, target {round_.target} trials, "
         f"sampler {round_.sampler}; start workers with `hpsearch launch slurm "
         f"{name} --tasks N` or `hpsearch worker DB_URL {name}`")


def echo_submitted(study: str, job: str, *, tasks: int, script, logs) -> None:
    """``launch slurm``: the job id and how to watch it."""
    echo(f"submitted job {job}: {tasks} task{'s' if tasks != 1 else ''} of study {study} "
         f"(script {script})")
    echo(f"  watch: squeue -j {job}    logs: {logs}/{job}_*.log    "
         f"workers: hpsearch launch status {shlex.quote(study)}")


def print_workers(study: str, rows: Sequence[Any]) -> None:
    """``launch status``: one row per worker process, alive ones first."""
    from rich.table import Table

    if not rows:
        echo(f"study {study}: no trial has been run by any worker yet")
        return
    alive = sum(1 for w in rows if w.status == "alive")
    table = Table("worker", "scheduler", "job", "task", "status", "running", "heartbeat",
                  "finished", title=f"{esc(study)}: {alive} of {len(rows)} workers alive")
    for w in rows:
        table.add_row(
            esc(f"{w.host}:{w.pid}" if w.host else w.worker), w.scheduler or "-", w.job or "-",
            "-" if w.task is None else str(w.task), w.status,
            ", ".join(map(str, w.running)) or "-",
            "-" if w.heartbeat_age is None else f"{fmt_seconds(w.heartbeat_age)} ago",
            str(w.finished))
    console().print(table)
