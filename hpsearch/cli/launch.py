"""The cluster commands: ``hpsearch create`` and ``hpsearch launch slurm|k8s|status``.

Like every command they parse options, call one library function (:mod:`hpsearch.launch`,
:mod:`hpsearch.run`) and hand the result to :mod:`hpsearch.render`. :mod:`hpsearch.cli`
registers :data:`COMMANDS` on its group.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hpsearch.cli.options import duration, open_db

__all__ = ["COMMANDS", "create", "launch"]


def _default_hpsearch() -> tuple[str, ...]:
    """The ``hpsearch`` the job should run: the one running now when it sits beside this
    Python (a venv's bin/), so a cluster node that shares the file system runs the same
    installation; else whatever ``hpsearch`` is on the node's PATH."""
    here = Path(sys.executable).with_name("hpsearch")
    return (str(here),) if here.exists() else ("hpsearch",)


@click.command()
@click.argument("space_file", type=click.Path(path_type=Path))  # load_space names a folder
@click.option("--study", "study_name", default=None, help="Study name (default: [study] name or the file's stem).")
@click.option("--trials", type=click.IntRange(min=1), default=None, help="Target size (default: the file's `trials`).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed of a new study (default: [study] seed).")
@click.pass_context
def create(ctx, space_file, study_name, trials, seed):
    """Create (or update the target of) the study of SPACE_FILE without running any trial.

    For cluster runs: create the study once in the shared database, then start workers on
    other machines (`hpsearch launch slurm`, `hpsearch worker`). Checks the file and the
    objective's settings exactly as `run` does.
    """
    from hpsearch import render
    from hpsearch.run import create_study
    from hpsearch.space import load_space

    space = load_space(space_file)
    storage = open_db(ctx, create=True)
    study, round_ = create_study(storage, space, name=study_name, trials=trials, seed=seed)
    render.echo_created(study, round_)


@click.group()
def launch():
    """Start a study's workers with the scheduler a cluster already runs (Slurm, Kubernetes).

    The study must exist in a database every node can reach (PostgreSQL): create it with
    `hpsearch create SPACE --db postgresql://...` (or `run`). Each scheduler task runs
    `hpsearch worker`, which pulls trials until the study has its target.
    """


def _db_option(fn):
    """--db here too (`launch slurm STUDY --db postgresql://...`): it overrides the global one."""
    return click.option("--db", "db_url", default=None, metavar="URL",
                        help="Database URL of the study (default: the global --db / HPSEARCH_DB).")(fn)


def _worker_arg_option(fn):
    return click.option(
        "--worker-arg", "worker_args", multiple=True, metavar="OPT",
        help="An option for each task's `hpsearch worker`, e.g. --worker-arg=--pruner=asha or "
             "--worker-arg=--stale-after=5m; repeatable.")(fn)


def _use_db(ctx: click.Context, db_url: str | None) -> str:
    if db_url is not None:
        ctx.obj["db"] = db_url
    return ctx.obj["db"]


@launch.command("slurm")
@click.argument("study")
@_db_option
@_worker_arg_option
@click.option("--tasks", "-n", type=click.IntRange(min=1), required=True, help="Array tasks (workers) to start.")
@click.option("--parallel", "-p", type=click.IntRange(min=1), default=None, help="At most P tasks at once (--array=...%P).")
@click.option("--trials-per-task", type=click.IntRange(min=1), default=None, metavar="K",
              help="Each task runs K trials and ends (default: until the study has its target).")
@click.option("--time", "time_limit", default=None, metavar="DURATION", help="Time limit per task: 90m, 2h, 1-00:00:00.")
@click.option("--partition", default=None, help="Slurm partition.")
@click.option("--gpus-per-task", type=click.IntRange(min=0), default=0, show_default=True,
              help="GPUs per task (one worker process per GPU).")
@click.option("--cpus-per-task", type=click.IntRange(min=1), default=None)
@click.option("--mem", default=None, help="Memory per task, e.g. 16G.")
@click.option("--setup", multiple=True, metavar="LINE", help="A shell line run first in every task (module load ..., source venv/bin/activate); repeatable.")
@click.option("--sbatch-arg", "sbatch_args", multiple=True, metavar="OPT", help="An extra #SBATCH option, e.g. --account=proj; repeatable.")
@click.option("--log-dir", default=None, help="Where the tasks' logs go (default: hpsearch-logs/STUDY).")
@click.option("--script", "script_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the sbatch script (default: LOG_DIR/STUDY.sbatch).")
@click.option("--allow-sqlite", is_flag=True, help="Accept a SQLite URL: only when every task runs on this one node with a local disk.")
@click.option("--dry-run", is_flag=True, help="Print the script; submit nothing.")
@click.pass_context
def launch_slurm(ctx, study, db_url, worker_args, tasks, parallel, trials_per_task, time_limit,
                 partition, gpus_per_task, cpus_per_task, mem, setup, sbatch_args, log_dir,
                 script_path, allow_sqlite, dry_run):
    """Run STUDY's workers as a Slurm job array, one `hpsearch worker` per task.

    The database URL comes from --db (or HPSEARCH_DB); a URL with a password is passed to the
    tasks through the environment, never written into the script.
    """
    from hpsearch import render
    from hpsearch.launch import SlurmOptions, check_db_url, render_sbatch, submit, write_script
    from hpsearch.launch.common import slug
    from hpsearch.launch.slurm import log_dir_for

    db_url = _use_db(ctx, db_url)
    check_db_url(db_url, allow_sqlite=allow_sqlite)
    opts = SlurmOptions(tasks=tasks, parallel=parallel, trials_per_task=trials_per_task,
                        time=time_limit, partition=partition, gpus_per_task=gpus_per_task,
                        cpus_per_task=cpus_per_task, mem=mem, setup=tuple(setup),
                        sbatch_args=tuple(sbatch_args), log_dir=log_dir,
                        allow_sqlite=allow_sqlite, hpsearch=_default_hpsearch(),
                        worker_args=tuple(worker_args))
    open_db(ctx).get_study(study)  # the study must exist: StudyError (exit 3) names it
    if dry_run:
        click.echo(render_sbatch(study, db_url, opts), nl=False)
        return
    logs = Path(log_dir_for(study, opts))
    path = write_script(script_path or logs / f"{slug(study)}.sbatch", study, db_url, opts)
    job = submit(path, db_url=db_url)
    render.echo_submitted(study, job, tasks=tasks, script=path, logs=logs)


@launch.command("k8s")
@click.argument("study")
@_db_option
@_worker_arg_option
@click.option("--image", required=True, help="Container image with hpsearch and your code installed.")
@click.option("--tasks", "-n", type=click.IntRange(min=1), required=True, help="Completions (workers) of the Indexed Job.")
@click.option("--parallel", "-p", type=click.IntRange(min=1), default=None, help="Pods at once (default: all).")
@click.option("--trials-per-task", type=click.IntRange(min=1), default=None, metavar="K")
@click.option("--gpus-per-task", type=click.IntRange(min=0), default=0, show_default=True, help="nvidia.com/gpu per pod.")
@click.option("--cpus-per-task", "cpus", default=None, help="CPU request per pod, e.g. 4 or 500m.")
@click.option("--mem", default=None, help="Memory per pod, e.g. 16Gi.")
@click.option("--secret", default="hpsearch-db", show_default=True, help="Secret holding the database URL.")
@click.option("--secret-key", default="url", show_default=True, help="Key of the URL in that Secret.")
@click.option("--namespace", default=None)
@click.option("--time", "time_limit", callback=duration, default=None, metavar="DURATION",
              help="activeDeadlineSeconds of the Job (90m, 2h).")
@click.option("--backoff-limit", type=click.IntRange(min=0), default=None)
@click.pass_context
def launch_k8s(ctx, study, db_url, worker_args, image, tasks, parallel, trials_per_task,
               gpus_per_task, cpus, mem, secret, secret_key, namespace, time_limit, backoff_limit):
    """Print a Kubernetes Indexed Job that runs STUDY's workers (pipe it to kubectl apply -f -).

    The study must exist in the database of --db (or HPSEARCH_DB): the pods read the URL from
    the Secret, this command only checks that the study is there.
    """
    from hpsearch.launch import K8sOptions, render_indexed_job

    opts = K8sOptions(image=image, tasks=tasks, parallel=parallel, trials_per_task=trials_per_task,
                      secret=secret, secret_key=secret_key, gpus_per_task=gpus_per_task,
                      cpus=cpus, mem=mem, time=time_limit, namespace=namespace,
                      backoff_limit=backoff_limit, worker_args=tuple(worker_args))
    _use_db(ctx, db_url)
    open_db(ctx, missing="create the study first").get_study(study)  # StudyError: exit 3
    click.echo(render_indexed_job(study, opts), nl=False)


@launch.command("status")
@click.argument("study")
@_db_option
@click.option("--stale-after", callback=duration, default=None, metavar="DURATION",
              help="A running trial with no heartbeat for this long counts as stale (default 2m).")
@click.pass_context
def launch_status(ctx, study, db_url, stale_after):
    """Which workers of STUDY are alive: host, scheduler job/task, running trial, heartbeat."""
    from hpsearch import render
    from hpsearch.launch.status import worker_status
    from hpsearch.run import STALE_AFTER_S

    _use_db(ctx, db_url)
    rows = worker_status(open_db(ctx), study, stale_after=stale_after or STALE_AFTER_S)
    render.print_workers(study, rows)


COMMANDS = (create, launch)
