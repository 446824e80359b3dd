"""A study's workers as a Slurm job array: the sbatch script, and its submission.

hpsearch does not schedule anything here. It writes the script a cluster user would write by
hand: a job array of ``tasks`` tasks, at most ``parallel`` at once (``--array=0-31%8``), each
task running ``hpsearch worker STUDY`` on the GPUs Slurm gave it (the URL from ``HPSEARCH_DB``,
never on the command line, where ``ps`` on a shared node would show a password). The workers claim trials
from the study's database one at a time, so tasks may start, end or be preempted in any order:
a task killed mid-trial leaves that trial ``running`` with a stale heartbeat, and the next
worker's stale check fails it and queues its params once more, as after any SIGKILL.

The database URL is not written into the script when it holds a password: the script reads
``HPSEARCH_DB`` from its environment, which ``sbatch`` copies from the submitting shell (its
default ``--export=ALL``), and :func:`submit` puts the URL there. A URL without a password is
written as the default, so the script can be resubmitted by hand with plain ``sbatch``.

Example (``render_sbatch("digits-mlp", "postgresql://hp@db/sweeps", SlurmOptions(tasks=32,
parallel=8, gpus_per_task=1, time="2h"))``) gives, after a comment header::

    #SBATCH --job-name=hpsearch-digits-mlp
    #SBATCH --array=0-31%8
    #SBATCH --output=hpsearch-logs/digits-mlp/%A_%a.log
    #SBATCH --ntasks=1
    #SBATCH --time=02:00:00
    #SBATCH --gres=gpu:1
    ...
    exec hpsearch worker digits-mlp --device cuda
"""

from __future__ import annotations

import math
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hpsearch.errors import ConfigError
from hpsearch.launch.common import (LaunchError, check_db_url, check_text, job_name_for, slug,
                                    url_has_password, worker_options)
from hpsearch.launch.identity import TAG_ENV

__all__ = ["SlurmOptions", "render_sbatch", "write_script", "submit", "slurm_time", "DB_ENV"]

DB_ENV = "HPSEARCH_DB"
DEFAULT_LOG_DIR = "hpsearch-logs"
_MEM = re.compile(r"\d+[KMGT]?", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SUFFIXED = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([smhd])")
_CLOCK = re.compile(r"^(?:(?P<days>\d+)-)?(?P<rest>\d+(?::\d+){0,2})$")
_SAFE_WORD = re.compile(r"[^\s'\"\\$`;&|<>()]+")
# A log folder lands unquoted in `#SBATCH --output=`, which sbatch splits at white space.
_LOG_DIR_BAD = re.compile(r"[\s'\"\\]")


def slurm_time(text: str) -> str:
    """A time limit in Slurm's ``[D-]HH:MM:SS`` form, from what people write.

    Accepts hpsearch durations (``90m``, ``2h``, ``1h30m``, ``1.5h``, ``2d``, ``45s``) and
    Slurm's own forms (``90`` = minutes, ``MM:SS``, ``HH:MM:SS``, ``D-HH``, ``D-HH:MM``,
    ``D-HH:MM:SS``), plus ``unlimited``. Seconds are rounded up to whole seconds (Slurm itself
    rounds a limit up to whole minutes). Raises ConfigError naming ``--time``.
    """
    s = str(text).strip().lower()
    if s in ("unlimited", "infinite"):
        return "UNLIMITED"
    seconds = _suffixed_seconds(s)
    if seconds is None:
        seconds = _clock_seconds(s)
    if seconds is None:
        raise ConfigError(f"--time: not a time limit: {text!r} (try 90m, 2h, 1-00:00:00)")
    if seconds <= 0:
        raise ConfigError(f"--time: a time limit must be positive, got {text!r}")
    total = math.ceil(seconds)
    days, rest = divmod(total, 86400)
    clock = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days}-{clock}" if days else clock


def _suffixed_seconds(s: str) -> float | None:
    pos, seconds = 0, 0.0
    for m in _SUFFIXED.finditer(s):
        if s[pos:m.start()].strip():
            return None
        seconds += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return seconds if pos and not s[pos:].strip() else None


def _clock_seconds(s: str) -> float | None:
    """Slurm's forms; without days, one number is minutes and two are minutes:seconds."""
    m = _CLOCK.match(s)
    if m is None:
        return None
    parts = [int(p) for p in m.group("rest").split(":")]
    if m.group("days") is not None:
        hours, minutes, secs = (parts + [0, 0])[:3]
        days = int(m.group("days"))
    else:
        days = 0
        hours, minutes, secs = {1: (0, parts[0], 0), 2: (0, *parts), 3: tuple(parts)}[len(parts)]
    # Slurm rejects 1:75:00; so do we, rather than guess what was meant.
    if (len(parts) > 1 or m.group("days") is not None) and (minutes > 59 or secs > 59):
        return None
    return days * 86400 + hours * 3600 + minutes * 60 + secs


@dataclass(frozen=True)
class SlurmOptions:
    """How to launch a study's workers as a Slurm job array; checked when built.

    ``tasks`` array tasks (each one ``hpsearch worker``), at most ``parallel`` at once (None:
    as many as Slurm will); each runs ``trials_per_task`` trials and stops (None: until the
    study has its target). ``time`` is the per-task limit (see :func:`slurm_time`), ``mem`` a
    Slurm size (``16G``). ``setup`` lines run before the worker (``module load ...``, ``source
    venv/bin/activate``); each of ``sbatch_args`` becomes one ``#SBATCH`` line (``--qos=high``).
    Logs go to ``log_dir/%A_%a.log`` (one file per task; relative to the directory ``sbatch``
    runs in; default ``hpsearch-logs/STUDY``). ``hpsearch`` is the command that starts hpsearch
    on the nodes, ``worker_args`` extra options of ``hpsearch worker`` (``--stale-after 5m``).
    """

    tasks: int
    parallel: int | None = None
    trials_per_task: int | None = None
    time: str | None = None
    partition: str | None = None
    gpus_per_task: int = 0
    cpus_per_task: int | None = None
    mem: str | None = None
    setup: tuple[str, ...] = ()
    sbatch_args: tuple[str, ...] = ()
    log_dir: str | None = None
    job_name: str | None = None
    allow_sqlite: bool = False
    hpsearch: tuple[str, ...] = ("hpsearch",)
    worker_args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _positive("--tasks", self.tasks)
        if self.parallel is not None:
            _positive("--parallel", self.parallel)
            if self.parallel > self.tasks:
                raise ConfigError(f"--parallel ({self.parallel}) cannot exceed --tasks "
                                  f"({self.tasks}): at most {self.tasks} tasks can run at once")
        if self.trials_per_task is not None:
            _positive("--trials-per-task", self.trials_per_task)
        if self.cpus_per_task is not None:
            _positive("--cpus-per-task", self.cpus_per_task)
        if not isinstance(self.gpus_per_task, int) or self.gpus_per_task < 0:
            raise ConfigError(f"--gpus-per-task must be 0 or more, got {self.gpus_per_task!r}")
        if self.time is not None:
            object.__setattr__(self, "time", slurm_time(self.time))
        if self.mem is not None:
            if not _MEM.fullmatch(str(self.mem).strip()):
                raise ConfigError(f"--mem: not a Slurm memory size: {self.mem!r} "
                                  "(a number of megabytes, or with K, M, G or T: 16G)")
            object.__setattr__(self, "mem", str(self.mem).strip().upper())
        for option, value in (("--partition", self.partition), ("--job-name", self.job_name)):
            if value is not None and not _SAFE_WORD.fullmatch(check_text(option, value)):
                raise ConfigError(f"{option}: {value!r} must be one word without quotes or "
                                  "shell characters")
        object.__setattr__(self, "setup", _lines("--setup", self.setup))
        args = tuple(check_text("--sbatch-arg", arg) for arg in self.sbatch_args)
        for arg in args:
            if not arg.startswith("-"):
                raise ConfigError(f"--sbatch-arg: {arg!r} must be one sbatch option starting with "
                                  "'-' (--qos=high), on one line")
        object.__setattr__(self, "sbatch_args", args)
        if self.log_dir is not None:
            log_dir = check_text("--log-dir", self.log_dir)
            if not log_dir or _LOG_DIR_BAD.search(log_dir):
                raise ConfigError(f"--log-dir: {log_dir!r} must be a folder name without white "
                                  "space, quotes or backslashes (sbatch reads it unquoted)")
        if not self.hpsearch:
            raise ConfigError("the hpsearch command to run on the nodes is empty")
        object.__setattr__(self, "hpsearch", tuple(check_text("the hpsearch command", word)
                                                   for word in self.hpsearch))
        object.__setattr__(self, "worker_args", tuple(check_text("--worker-arg", arg)
                                                      for arg in self.worker_args))


def _positive(option: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{option} must be at least 1, got {value!r}")


def _lines(option: str, lines: tuple[str, ...] | str) -> tuple[str, ...]:
    if isinstance(lines, str):
        lines = (lines,)
    out: list[str] = []
    for text in lines:
        # Split where bash does (at newlines only); any other control character is refused.
        for line in str(text).split("\n"):
            out.append(check_text(option, line.rstrip(), allow_tab=True))
    if any(line.lstrip().startswith("#SBATCH") for line in out):
        raise ConfigError(f"{option}: put #SBATCH options in --sbatch-arg (sbatch ignores them "
                          "after the first command)")
    return tuple(out)


def log_dir_for(study: str, opts: SlurmOptions) -> str:
    """Where the tasks' logs go (``opts.log_dir``, default ``hpsearch-logs/STUDY``)."""
    if opts.log_dir is not None:
        return str(opts.log_dir)
    return f"{DEFAULT_LOG_DIR}/{slug(study)}"


def render_sbatch(study: str, db_url: str, opts: SlurmOptions) -> str:
    """The sbatch script that runs ``opts.tasks`` workers of ``study``; see the module doc.

    Raises ConfigError for a SQLite URL (unless ``opts.allow_sqlite``) or a malformed one.
    """
    check_db_url(db_url, allow_sqlite=opts.allow_sqlite)
    if not study:
        raise ConfigError("the study name is empty")
    check_text("study name", study)
    logs = log_dir_for(study, opts)
    last = opts.tasks - 1
    array = f"0-{last}" + (f"%{opts.parallel}" if opts.parallel is not None else "")
    at_once = (f"{opts.parallel} at a time" if opts.parallel is not None
               else "as many at once as Slurm allows")
    until = (f"{opts.trials_per_task} trials each" if opts.trials_per_task is not None
             else "until the study has its target")
    directives = [
        f"--job-name={opts.job_name or job_name_for(study)}",
        f"--array={array}",
        f"--output={logs}/%A_%a.log",
        "--ntasks=1",
    ]
    if opts.time is not None:
        directives.append(f"--time={opts.time}")
    if opts.partition is not None:
        directives.append(f"--partition={opts.partition}")
    if opts.cpus_per_task is not None:
        directives.append(f"--cpus-per-task={opts.cpus_per_task}")
    if opts.mem is not None:
        directives.append(f"--mem={opts.mem}")
    if opts.gpus_per_task:
        # --gres works on every Slurm with GPUs configured (--gpus-per-task needs cons_tres);
        # Slurm then sets CUDA_VISIBLE_DEVICES to the task's GPUs.
        directives.append(f"--gres=gpu:{opts.gpus_per_task}")
    directives.extend(opts.sbatch_args)

    lines = [
        "#!/bin/bash",
        f"# hpsearch workers for study {study!r}: a Slurm job array of {opts.tasks} tasks,",
        f"# {at_once}; each task runs `hpsearch worker`, which claims trials one at a time,",
        f"# {until}.",
        "# A task cancelled or preempted mid-trial leaves it stale; another worker retries it.",
        f"# Logs: {logs}/JOBID_TASK.log (relative to the folder sbatch ran in).",
        "# Written by `hpsearch launch slurm`; resubmit with `sbatch FILE`.",
        *(f"#SBATCH {d}" for d in directives),
        "",
    ]
    if opts.setup:
        # -u only after the setup: `module load` and `conda activate` read unset variables.
        lines += ["set -eo pipefail", "", "# --setup", *opts.setup, "", "set -u"]
    else:
        lines += ["set -euo pipefail"]
    lines += ["", *_db_lines(db_url), ""]
    lines += [
        f'export {TAG_ENV}="slurm=${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}"',
        f'echo "hpsearch: study {_dq(study)}, task ${{SLURM_ARRAY_TASK_ID}} of job '
        f'${{SLURM_ARRAY_JOB_ID}} on $(hostname), GPUs: ${{CUDA_VISIBLE_DEVICES:-none}}"',
        "exec " + " ".join([*map(shlex.quote, opts.hpsearch), "worker",
                            shlex.quote(study), *map(shlex.quote, worker_options(
                                trials_per_task=opts.trials_per_task,
                                gpus_per_task=opts.gpus_per_task, extra=opts.worker_args))]),
        "",
    ]
    return "\n".join(lines)


def _db_lines(db_url: str) -> list[str]:
    if url_has_password(db_url):
        return [
            f"# The database URL holds a password, so it is not written here: {DB_ENV} comes",
            "# from the environment of `sbatch` (Slurm copies it to every task): set it before",
            "# resubmitting this file.",
            f': "${{{DB_ENV}:?set {DB_ENV} to the database URL of the study, then sbatch}}"',
        ]
    # Not ${HPSEARCH_DB:-URL}: inside that expansion `}` ends the default and quotes pair up
    # across it, so a URL holding either would name another database or break the script.
    return [
        f"# The study's database ({DB_ENV} from the environment of `sbatch` wins).",
        f'if [ -z "${{{DB_ENV}:-}}" ]; then {DB_ENV}={shlex.quote(db_url)}; fi',
        f"export {DB_ENV}",
    ]


def _dq(text: str) -> str:
    """``text`` made safe inside a double-quoted shell string."""
    return re.sub(r'([\\"$`])', r"\\\1", text)


def write_script(path: str | os.PathLike, study: str, db_url: str, opts: SlurmOptions) -> Path:
    """Render the script to ``path`` (mode 0755) and create its log folder (Slurm does not:
    a task whose ``--output`` folder is missing fails without a word). A relative log folder is
    created under the current directory, where :func:`submit` runs ``sbatch``."""
    text = render_sbatch(study, db_url, opts)
    Path(log_dir_for(study, opts)).mkdir(parents=True, exist_ok=True)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def submit(script_path: str | os.PathLike, *, db_url: str | None = None,
           cwd: str | os.PathLike | None = None, sbatch: str = "sbatch",
           timeout: float = 120) -> str:
    """Submit ``script_path`` with ``sbatch --parsable`` (no shell) and return the job id.

    ``sbatch`` runs in ``cwd`` (default: the current directory), which becomes the tasks'
    working directory and the base of a relative log folder.
    ``db_url`` is handed to the tasks as ``HPSEARCH_DB`` in sbatch's environment (never on its
    command line, where ``ps`` would show it). Raises LaunchError when sbatch is missing or
    refuses the job, with sbatch's own message.
    """
    exe = shutil.which(sbatch)
    if exe is None:
        raise LaunchError(f"{sbatch}: not found; run this on a Slurm login node "
                          "(or use --dry-run and submit the script yourself)")
    env = dict(os.environ)
    if db_url is not None:
        env[DB_ENV] = db_url
    try:
        proc = subprocess.run([exe, "--parsable", os.fspath(script_path)], capture_output=True,
                              text=True, env=env, cwd=cwd, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise LaunchError(f"sbatch did not answer within {timeout:.0f}s") from exc
    if proc.returncode != 0:
        message = (proc.stderr or proc.stdout).strip() or f"exit status {proc.returncode}"
        raise LaunchError(f"sbatch refused {script_path}: {message}")
    # --parsable prints "jobid" or "jobid;cluster".
    job_id = proc.stdout.strip().split(";", 1)[0]
    if not job_id.isdigit():
        raise LaunchError(f"sbatch printed no job id: {proc.stdout.strip()!r}")
    return job_id
