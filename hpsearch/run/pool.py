"""Several trials at once: worker processes on one study, pinned to devices.

:func:`run_parallel` starts ``workers`` processes (multiprocessing's "spawn" context: a fresh
interpreter each, so no CUDA context, open database connection or lock is inherited). Each opens
its own :class:`~hpsearch.storage.Storage` and runs :func:`hpsearch.run.loop.work` on the same
round; :meth:`Storage.claim` hands every trial to exactly one of them. The parent only watches:
it hears trial events on a queue (:mod:`hpsearch.run.messages`; it turns them into the caller's
progress callback), forwards SIGINT/SIGTERM to its workers, re-queues at once the trial of a
worker that died or stopped with an error, and merges the workers' summaries into one.

CPU workers share the machine's cores: each gets ``cpu_count // workers`` threads
(``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` set before torch is imported, and
``torch.set_num_threads``), unless the user set ``OMP_NUM_THREADS`` already.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import queue as queue_mod
import signal
import time
from typing import Callable

from hpsearch import errors
from hpsearch.errors import ConfigError, HpsearchError, Interrupted
from hpsearch.objectives import objective_class
from hpsearch.run.loop import round_limit, trials_to_run
from hpsearch.run.messages import Job, Message, TrialMessage, WorkerDone, WorkerFailed
from hpsearch.run.options import RunOptions
from hpsearch.run.records import FailureStreak, RunSummary, TrialEvent, worker_id
from hpsearch.run.recovery import recover_lost_worker, recover_trial
from hpsearch.run.signals import STOP_SIGNALS, ParentWatch, start_ignoring_signals
from hpsearch.run.summary import close_summary, failure_limit
from hpsearch.space import Space
from hpsearch.storage import RoundRecord, Storage, StudyRecord, TrialRecord

log = logging.getLogger(__name__)

#: How long the workers get to mark their trials interrupted after a signal before they are
#: killed (their trials are then marked by the parent).
SIGNAL_GRACE_S = 30.0
#: How often the parent wakes up to check on its workers (seconds).
POLL_S = 0.2
#: How long the parent reads the queue for the last words of a worker that died, at most.
DRAIN_S = 2.0


def resolve_devices(spec: str | None) -> list[str | None]:
    """The devices named by ``--devices``: a comma-separated list (``cuda:0,cuda:1``, ``cpu``)
    or ``auto``: every visible GPU (``torch.cuda.device_count()``), else the CPU."""
    if spec is None:
        return [None]
    spec = spec.strip()
    if spec == "auto":
        try:
            import torch
        except ImportError:
            return ["cpu"]
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        return [f"cuda:{i}" for i in range(n)] or ["cpu"]
    devices = [d.strip() for d in spec.split(",") if d.strip()]
    if not devices:
        raise ConfigError(f"--devices: expected auto or a list like cuda:0,cuda:1, got {spec!r}")
    return list(devices)


def threads_per_worker(workers: int) -> int:
    """The CPU threads each of ``workers`` processes may use without oversubscribing."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


class SharedTickets:
    """:class:`hpsearch.run.records.Tickets` over a multiprocessing counter."""

    def __init__(self, value) -> None:
        self.value = value

    def take(self) -> bool:
        with self.value.get_lock():
            if self.value.value <= 0:
                return False
            self.value.value -= 1
            return True

    def give_back(self) -> None:
        with self.value.get_lock():
            self.value.value += 1


def worker_main(job: Job, events, tickets_value, streak_value=None) -> None:
    """A worker process: set its thread budget, then run the claim loop; report on ``events``.

    It starts with SIGINT and SIGTERM ignored and blocked (:func:`run_parallel` starts it so),
    so a Ctrl-C while it imports prints no traceback; from here on a signal stops it quietly (the parent
    forwards the signal again until its workers are gone). A worker whose run died (SIGKILL)
    stops too (:class:`ParentWatch`).
    """
    signal.signal(signal.SIGINT, raise_interrupt)
    signal.signal(signal.SIGTERM, raise_interrupt)
    watch = ParentWatch(job.parent_pid or os.getppid(), grace=10.0).start()
    try:
        # Started with them blocked too (the mask passes through exec): one that came
        # meanwhile arrives now.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        code = worker_body(job, events, tickets_value, streak_value)
    except KeyboardInterrupt:  # a signal before the claim loop took over
        events.put(WorkerFailed(job.index, "Interrupted", f"worker {job.index} stopped while "
                                "starting", 130))
        code = 130
    # Done: a late signal must not cut the last message short (the parent kills a worker
    # that does not exit within its grace period).
    ignore_stop_signals()
    if watch.orphaned():
        # Nobody reads the queue any more: joining its feeder thread would wait forever.
        events.cancel_join_thread()
    else:
        events.close()
        events.join_thread()
    os._exit(code)  # skip atexit work of libraries (CUDA teardown) in a finished worker


def raise_interrupt(signum, _frame) -> None:
    """A signal before the claim loop installs its handler: stop (once)."""
    ignore_stop_signals()
    raise KeyboardInterrupt


def ignore_stop_signals() -> None:
    """The worker is stopping: the parent's repeated forwards must not cut it short."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


def worker_body(job: Job, events, tickets_value, streak_value) -> int:
    """The worker's set-up and claim loop; its exit status."""
    threads = str(job.threads)
    os.environ.setdefault("OMP_NUM_THREADS", threads)
    os.environ.setdefault("MKL_NUM_THREADS", threads)
    logging.basicConfig(level=job.log_level, stream=None,
                        format="%(asctime)s %(levelname)s %(name)s[w%(process)d]: %(message)s")
    # Imported here, after the environment is set: torch reads it when first imported (and
    # the objective, which may import torch, comes with the loop).
    from hpsearch.run.loop import work
    from hpsearch.run.studies import round_space

    def on_event(ev: TrialEvent) -> None:
        events.put(TrialMessage(job.index, ev.kind, ev.trial, ev.step, ev.metrics))

    try:
        file_space = None if job.space is None else Space.from_dict(job.space, source=job.source)
        objective_class(round_space(job.study, job.round_, file_space)).prepare_process(
            int(os.environ["OMP_NUM_THREADS"]))
        storage = Storage(job.url)
        timeout = None if job.deadline is None else max(0.0, job.deadline - time.time())
        tickets = None if tickets_value is None else SharedTickets(tickets_value)
        space = round_space(job.study, job.round_, file_space)
        streak = FailureStreak(failure_limit(job.options, space), streak_value)
        summary = work(storage, job.study, job.round_,
                       dataclasses.replace(job.options, timeout=timeout),
                       file_space=file_space, on_event=on_event, tickets=tickets,
                       worker=worker_id(), streak=streak)
        storage.dispose()
        events.put(WorkerDone(job.index, summary))
    except HpsearchError as exc:
        ignore_stop_signals()
        events.put(WorkerFailed(job.index, type(exc).__name__, str(exc), exc.exit_code))
        code = exc.exit_code
    except KeyboardInterrupt:
        raise  # a signal before the claim loop: worker_main reports it
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which re-raises
        ignore_stop_signals()
        import traceback

        events.put(WorkerFailed(job.index, type(exc).__name__,
                                f"worker {job.index} crashed: {type(exc).__name__}: {exc}\n"
                                + traceback.format_exc(limit=-8), 1))
        code = 1
    else:
        code = 0
    return code


def run_parallel(
    storage: Storage, study: StudyRecord, round_: RoundRecord, options: RunOptions, *,
    file_space: Space | None = None, on_event: Callable[[TrialEvent], None] | None = None,
) -> RunSummary:
    """Run ``options.workers`` processes of :func:`hpsearch.run.loop.work` on ``round_`` and
    merge their summaries. ``options.devices`` (default: ``options.device``) are dealt to the
    workers round robin; ``options.add`` is one budget shared by all workers. Raises
    :class:`Interrupted` after SIGINT/SIGTERM (every worker marked its running trial
    interrupted), or the first worker's error once all have stopped."""
    import multiprocessing as mp

    if storage.url.startswith("sqlite") and (":memory:" in storage.url or storage.url == "sqlite://"):
        raise ConfigError("--workers needs a database file or server; sqlite in memory is one process")
    workers, add = options.workers, options.add
    devices = options.devices or (options.device,)
    ctx = mp.get_context("spawn")
    limit = round_limit(study, round_, add=add, sampler=options.sampler, file_space=file_space)
    total = trials_to_run(storage, study, round_, limit=limit, add=add)
    summary = RunSummary(study=study.name, round=round_.number, workers=workers)
    summary.study_best = storage.best(study)
    events = ctx.Queue()
    tickets_value = ctx.Value("i", add) if add is not None else None
    streak_value = ctx.Value("i", 0)
    deadline = None if options.timeout is None else time.time() + options.timeout
    threads = threads_per_worker(workers)
    log_level = logging.getLogger().getEffectiveLevel()
    procs = []
    for i in range(workers):
        job = Job(
            index=i, url=storage.url, study=study, round_=round_,
            space=None if file_space is None else file_space.to_dict(),
            source=None if file_space is None else str(file_space.source),
            options=dataclasses.replace(options, device=devices[i % len(devices)]),
            deadline=deadline, threads=threads, log_level=log_level, parent_pid=os.getpid())
        procs.append(ctx.Process(target=worker_main, args=(job, events, tickets_value, streak_value),
                                 name=f"hpsearch-worker-{i}", daemon=False))

    # worker index -> its running trials by id (one, or the members of a pack: --pack K)
    running: dict[int, dict[int, TrialRecord]] = {}
    finished: set[int] = set()
    child_summaries: list[RunSummary] = []
    failures: list[WorkerFailed] = []
    got_signal: list[int] = []
    signalled_at: list[float] = []

    def forward(signum, _frame) -> None:
        if not got_signal:
            got_signal.append(signum)
            signalled_at.append(time.monotonic())
        for p in procs:
            if p.is_alive():
                try:
                    os.kill(p.pid, signum)
                except ProcessLookupError:
                    pass

    def handle(msg: Message) -> None:
        if isinstance(msg, TrialMessage):
            if msg.kind == "start":
                running.setdefault(msg.index, {})[msg.trial.id] = msg.trial
            elif msg.kind == "end":
                running.get(msg.index, {}).pop(msg.trial.id, None)
                summary.count(msg.trial, maximize=study.maximize)
            if on_event is not None:
                on_event(TrialEvent(msg.kind, msg.trial, summary.best_so_far(), summary.ran,
                                    total, step=msg.step, metrics=msg.metrics))
        elif isinstance(msg, WorkerDone):
            finished.add(msg.index)
            child_summaries.append(msg.summary)
        elif isinstance(msg, WorkerFailed):
            finished.add(msg.index)
            failures.append(msg)
            first_line = (msg.message.splitlines() or [msg.error])[0]
            # work() marks its trials unless it crashed: make sure
            for trial in running.pop(msg.index, {}).values():
                recover_trial(storage, study, summary, trial,
                              interrupted=bool(got_signal) or msg.error == "Interrupted",
                              reason=f"worker {msg.index} stopped: {first_line}")

    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        start_ignoring_signals(procs)
        checked = time.monotonic()
        while True:
            try:
                handle(events.get(timeout=POLL_S))
                # A busy queue (step events of fast epochs, a pack's members) must not keep
                # the parent from seeing a dead worker or its own stop request.
                if time.monotonic() - checked < POLL_S:
                    continue
            except queue_mod.Empty:
                pass
            checked = time.monotonic()
            alive = [p for p in procs if p.is_alive()]
            for i, p in enumerate(procs):
                if not p.is_alive() and i not in finished:
                    _drain(events, handle)
                    if i not in finished:  # died without a word: killed, out of memory
                        finished.add(i)
                        recover_lost_worker(storage, study, summary, i, p,
                                            list(running.pop(i, {}).values()),
                                            signalled=bool(got_signal))
            if not alive:
                break
            if got_signal and signalled_at and time.monotonic() - signalled_at[-1] > 1.0:
                # A worker still importing ignored the first forward (see worker_main).
                signalled_at.append(time.monotonic())
                for i, p in enumerate(procs):
                    if p.is_alive() and i not in finished:
                        try:
                            os.kill(p.pid, got_signal[0])
                        except ProcessLookupError:
                            pass
            if signalled_at and time.monotonic() - signalled_at[0] > SIGNAL_GRACE_S:
                for p in alive:
                    log.warning("worker %d did not stop within %.0f s; killing it", procs.index(p),
                                SIGNAL_GRACE_S)
                    p.kill()
                signalled_at.clear()
        _drain(events, handle, limit_s=math.inf)  # every worker is gone: read it all
        for p in procs:
            p.join()
    finally:
        for s, h in old.items():
            signal.signal(s, h)

    for s in child_summaries:
        summary.stale_recovered += s.stale_recovered
        if s.startup_s is not None:
            summary.startup_s = max(summary.startup_s or 0.0, s.startup_s)
    if got_signal:
        # A worker killed by the grace timeout left its trial running: mark it here.
        storage.mark_interrupted([t.id for held in running.values() for t in held])
        signum = got_signal[0]
        raise Interrupted(
            f"interrupted by {signal.Signals(signum).name}; {workers} workers stopped, their "
            f"running trials marked interrupted; run the same command again to resume",
            signum=signum)
    for failure in failures:
        if failure.error == "Interrupted":
            # A worker was signalled directly, not through this process: it marked its trial
            # interrupted, and the next claim (by any worker, now or in the next run) re-runs it.
            summary.lost_workers.append(failure.message)
            log.warning("a worker stopped: %s", failure.message)
    real = [f for f in failures if f.error != "Interrupted"]
    if real:
        raise rebuild_error(real[0])
    summary.stopped = merge_stopped([s.stopped for s in child_summaries])
    busy = [s.busy for s in child_summaries if s.busy is not None]
    if busy:
        summary.busy = busy[0]
    return close_summary(storage, study, summary, stale_after=options.stale_after)


def _drain(events, handle: Callable[[Message], None], limit_s: float = DRAIN_S) -> None:
    """Handle the messages on the queue until it is empty, or for ``limit_s`` seconds: the
    workers still alive may keep it busy (a dead worker's last words were queued first)."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        try:
            handle(events.get(timeout=0.05))
        except queue_mod.Empty:
            return


def merge_stopped(reasons: list[str]) -> str:
    """One reason for the run from its workers': a timeout or an exhausted grid wins, then
    the budget; ``busy`` only when no worker got to run (the study was full)."""
    for reason in ("timeout", "exhausted", "added", "target"):
        if reason in reasons:
            return reason
    return reasons[0] if reasons else "target"


def rebuild_error(failure: WorkerFailed) -> HpsearchError:
    """The error a worker stopped with, raised again in the parent (same class and exit code)."""
    cls = getattr(errors, failure.error, None)
    if isinstance(cls, type) and issubclass(cls, HpsearchError) and cls is not Interrupted:
        try:
            return cls(failure.message)
        except TypeError:
            pass
    err = HpsearchError(failure.message)
    err.exit_code = failure.exit_code
    return err


__all__ = ["run_parallel", "resolve_devices", "threads_per_worker", "recover_lost_worker",
           "recover_trial", "merge_stopped", "SIGNAL_GRACE_S", "POLL_S"]
