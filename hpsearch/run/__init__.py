"""Running studies: the claim → run → record loop, its worker processes, study create/resume.

Modules, each importing only those above it in this list::

    options    RunOptions, the defaults of --stale-after and the heartbeat
    records    TrialEvent, RunSummary, Tickets, worker_id (shared by the loop and the pool)
    signals    StopOnSignal (SIGINT/SIGTERM mark the running trial), ParentWatch
    reports    what an objective reports, checked (steps in the database's range, finite numbers)
    history    what a round remembers: earlier trials for its model (evolve, warm start),
               finished grid points, duplicates (wrappers of hpsearch.samplers.history)
    studies    prepare_study (create, resume or evolve), round_space, space_changes,
               preview_change (validate's preview), with_warm_start
    summary    the run's closing facts (study best, trials running elsewhere), failure streaks
    proposing  SamplerProposer: how the claim asks the round's sampler (a model's fit prepared
               before the study lock)
    pruning    the round's pruner per reported step (RoundPruner, TrialWatch), a pruned outcome
    recorder   TrialRecorder: one trial's steps, notes and pruner watch, and its end recorded
    trial      run_trial: one trial through its objective, recorded by its TrialRecorder
    pack       --pack K: trials of one shape grouped and trained together (the objective's hooks)
    loop       RoundContext (a round, its space built once), Worker: the claim → run → record
               loop of one worker (1 trial, or a pack of K, a turn); work()
    messages   the typed records a worker process and its parent exchange
    recovery   a dead or failed worker's trials failed as stale or marked interrupted
    pool       Supervisor (run_parallel): several worker processes; resolve_devices
    api        run_study, join_study, run_round: the entry points
"""

from __future__ import annotations

from hpsearch.run.api import join_study, run_round, run_study
from hpsearch.run.loop import RoundContext, Worker, round_limit, trials_to_run, work
from hpsearch.run.options import HEARTBEAT_INTERVAL_S, STALE_AFTER_S, RunOptions
from hpsearch.run.pool import resolve_devices, threads_per_worker
from hpsearch.run.records import RunSummary, TrialEvent, worker_id
from hpsearch.run.studies import (
    ChangePreview, RoundStart, create_study, evolve_study, prepare_study, preview_change,
    round_space, space_changes, with_warm_start,
)
# Durations are parsed below the objectives (a command's timeout), so the module is not in run/;
# the CLI reads --timeout and --stale-after through this re-export.
from hpsearch.timeparse import parse_duration

__all__ = [
    "create_study",
    "RunOptions", "run_study", "join_study", "run_round", "work", "Worker", "RoundContext",
    "prepare_study",
    "round_space", "space_changes", "round_limit", "trials_to_run", "resolve_devices",
    "threads_per_worker", "TrialEvent", "RunSummary", "STALE_AFTER_S", "HEARTBEAT_INTERVAL_S",
    "worker_id", "parse_duration", "evolve_study", "preview_change", "ChangePreview",
    "RoundStart", "with_warm_start",
]
