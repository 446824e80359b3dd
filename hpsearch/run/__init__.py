"""Running studies: the claim → run → record loop, its worker processes, study create/resume.

Modules, each importing only those above it in this list::

    options    RunOptions, the defaults of --stale-after and the heartbeat
    records    TrialEvent, RunSummary, Tickets, worker_id (shared by the loop and the pool)
    signals    StopOnSignal (SIGINT/SIGTERM mark the running trial), Heartbeat
    studies    prepare_study (create or resume), round_space, space_changes
    trial      run_trial: one trial through its objective, its steps, its end recorded
    loop       work: the claim → run → record loop of one worker; round budgets
    messages   the typed records a worker process and its parent exchange
    pool       run_parallel: several worker processes; resolve_devices
    api        run_study, join_study, run_round: the entry points
"""

from __future__ import annotations

from hpsearch.run.api import join_study, run_round, run_study
from hpsearch.run.loop import round_limit, trials_to_run, work
from hpsearch.run.options import HEARTBEAT_INTERVAL_S, STALE_AFTER_S, RunOptions
from hpsearch.run.pool import resolve_devices, threads_per_worker
from hpsearch.run.records import RunSummary, TrialEvent, worker_id
from hpsearch.run.studies import prepare_study, round_space, space_changes
# Durations are parsed below the objectives (a command's timeout), so the module is not in run/;
# the CLI reads --timeout and --stale-after through this re-export.
from hpsearch.timeparse import parse_duration

__all__ = [
    "RunOptions", "run_study", "join_study", "run_round", "work", "prepare_study",
    "round_space", "space_changes", "round_limit", "trials_to_run", "resolve_devices",
    "threads_per_worker", "TrialEvent", "RunSummary", "STALE_AFTER_S", "HEARTBEAT_INTERVAL_S",
    "worker_id", "parse_duration",
]
