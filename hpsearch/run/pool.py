"""Several trials at once: worker processes on one study, pinned to devices.

:func:`run_parallel` starts ``workers`` processes (multiprocessing's "spawn" context: a fresh
interpreter each, so no CUDA context, open database connection or lock is inherited). Each opens
its own :class:`~hpsearch.storage.Storage`, builds the round's
:class:`~hpsearch.run.loop.RoundContext` once and runs a :class:`~hpsearch.run.loop.Worker` on
it; :meth:`Storage.claim` hands every trial to exactly one of them. The parent, a
:class:`Supervisor`, only watches: it hears trial events on a queue
(:mod:`hpsearch.run.messages`; it turns them into the caller's progress callback), forwards
SIGINT/SIGTERM to its workers, re-queues at once the trial of a worker that died or stopped
with an error, and merges the workers' summaries into one.

CPU workers share the machine's cores: each gets ``cpu_count // workers`` threads
(``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` set before the objective is made, and its
``prepare_process`` hook: ``torch.set_num_threads`` for the built-in trainer), unless the user
set ``OMP_NUM_THREADS`` already.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import queue as queue_mod
import signal
import time
from typing import Any, Callable

from hpsearch import errors
from hpsearch.errors import ConfigError, HpsearchError, Interrupted
from hpsearch.objectives import objective_class
from hpsearch.run.loop import round_limit, trials_to_run
from hpsearch.run.messages import Job, Message, TrialMessage, WorkerDone, WorkerFailed
from hpsearch.run.options import RunOptions
from hpsearch.run.records import FailureStreak, RunSummary, TrialEvent, worker_id
from hpsearch.run.recovery import recover_lost_worker, recover_trial
from hpsearch.run.signals import STOP_SIGNALS, ParentWatch, start_ignoring_signals
from hpsearch.run.studies import round_space
from hpsearch.run.summary import close_summary, failure_limit, retry_limit
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
    from hpsearch.run.loop import RoundContext, Worker

    def on_event(ev: TrialEvent) -> None:
        events.put(TrialMessage(job.index, ev.kind, ev.trial, ev.step, ev.metrics))

    try:
        file_space = (None if job.space is None
                      else Space.from_dict(job.space, source=str(job.source)))
        storage = Storage(job.url)
        timeout = None if job.deadline is None else max(0.0, job.deadline - time.time())
        ctx = RoundContext.of(storage, job.study, job.round_,
                              dataclasses.replace(job.options, timeout=timeout),
                              file_space=file_space, on_event=on_event)
        objective_class(ctx.space).prepare_process(int(os.environ["OMP_NUM_THREADS"]))
        tickets = None if tickets_value is None else SharedTickets(tickets_value)
        streak = FailureStreak(failure_limit(job.options, ctx.space), streak_value)
        summary = Worker(ctx, tickets=tickets, name=worker_id(), streak=streak).run()
        storage.dispose()
        events.put(WorkerDone(job.index, summary))
    except HpsearchError as exc:
        ignore_stop_signals()
        events.put(WorkerFailed(job.index, type(exc).__name__, str(exc), exc.exit_code))
        return exc.exit_code
    except KeyboardInterrupt:
        raise  # a signal before the claim loop: worker_main reports it
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which re-raises
        ignore_stop_signals()
        import traceback

        events.put(WorkerFailed(job.index, type(exc).__name__,
                                f"worker {job.index} crashed: {type(exc).__name__}: {exc}\n"
                                + traceback.format_exc(limit=-8), 1))
        return 1
    return 0


def run_parallel(
    storage: Storage, study: StudyRecord, round_: RoundRecord, options: RunOptions, *,
    file_space: Space | None = None, on_event: Callable[[TrialEvent], None] | None = None,
) -> RunSummary:
    """Run ``options.workers`` processes of the claim loop (:class:`~hpsearch.run.loop.Worker`)
    on ``round_`` and merge their summaries (:class:`Supervisor`). ``options.devices``
    (default: ``options.device``) are dealt to the workers round robin; ``options.add`` is one
    budget shared by all workers. Raises :class:`Interrupted` after SIGINT/SIGTERM (every
    worker marked its running trial interrupted), or the first worker's error once all have
    stopped."""
    return Supervisor(storage, study, round_, options, file_space=file_space,
                      on_event=on_event).run()


class Supervisor:
    """The parent of a ``--workers`` run: it starts the worker processes, hears their messages
    (:mod:`hpsearch.run.messages`) and turns them into the caller's events, forwards
    SIGINT/SIGTERM to its workers (again while one still imports, then kills those past
    :data:`SIGNAL_GRACE_S`), recovers at once the trials of a worker that died or stopped
    with an error, and merges the workers' summaries into one."""

    def __init__(self, storage: Storage, study: StudyRecord, round_: RoundRecord,
                 options: RunOptions, *, file_space: Space | None = None,
                 on_event: Callable[[TrialEvent], None] | None = None) -> None:
        import multiprocessing as mp

        self.storage, self.study, self.options, self.on_event = storage, study, options, on_event
        self.mp = mp.get_context("spawn")
        limit = round_limit(study, round_, add=options.add, sampler=options.sampler,
                            file_space=file_space)
        self.total = trials_to_run(storage, study, round_, limit=limit, add=options.add)
        self.max_retries = retry_limit(round_space(study, round_, file_space))
        self.summary = RunSummary(study=study.name, round=round_.number, workers=options.workers)
        self.summary.study_best = storage.best(study)
        self.events = self.mp.Queue()
        self.procs = self.processes(round_, file_space)
        # worker index -> its running trials by id (one, or the members of a pack: --pack K)
        self.running: dict[int, dict[int, TrialRecord]] = {}
        self.finished: set[int] = set()
        self.summaries: list[RunSummary] = []
        self.failures: list[WorkerFailed] = []
        self.signum: int | None = None              # the first signal received
        self.signalled_at: float | None = None      # when (None again once stragglers died)
        self.forwarded_at: float | None = None      # the last forward

    def processes(self, round_: RoundRecord, file_space: Space | None) -> list[Any]:
        """The worker processes (not started), each with its :class:`Job`."""
        o = self.options
        devices = o.devices or (o.device,)
        # Kept on self: a started process drops its args, and the shared counters must live
        # until every worker has unpickled them (their semaphores go with the last reference).
        self.tickets_value = self.mp.Value("i", o.add) if o.add is not None else None
        self.streak_value = self.mp.Value("i", 0)
        deadline = None if o.timeout is None else time.time() + o.timeout
        threads = threads_per_worker(o.workers)
        log_level = logging.getLogger().getEffectiveLevel()
        procs = []
        for i in range(o.workers):
            job = Job(
                index=i, url=self.storage.url, study=self.study, round_=round_,
                space=None if file_space is None else file_space.to_dict(),
                source=None if file_space is None else str(file_space.source),
                options=dataclasses.replace(o, device=devices[i % len(devices)]),
                deadline=deadline, threads=threads, log_level=log_level,
                parent_pid=os.getpid())
            procs.append(self.mp.Process(target=worker_main,
                                         args=(job, self.events, self.tickets_value,
                                               self.streak_value),
                                         name=f"hpsearch-worker-{i}", daemon=False))
        return procs

    def run(self) -> RunSummary:
        old = {s: signal.signal(s, self.forward) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            start_ignoring_signals(self.procs)
            self.watch()
            _drain(self.events, self.handle, limit_s=math.inf)  # every worker is gone
            for p in self.procs:
                p.join()
        finally:
            for s, h in old.items():
                signal.signal(s, h)
        return self.result()

    def watch(self) -> None:
        """Handle messages until every worker is gone; a busy queue (step events of fast
        epochs, a pack's members) must not keep this process from seeing a dead worker or its
        own stop request."""
        checked = time.monotonic()
        while True:
            try:
                self.handle(self.events.get(timeout=POLL_S))
                if time.monotonic() - checked < POLL_S:
                    continue
            except queue_mod.Empty:
                pass
            checked = time.monotonic()
            if not self.check_workers():
                return
            self.signal_stragglers()

    def check_workers(self) -> bool:
        """Recover the trials of workers that died without a word; whether any is alive."""
        alive = False
        for i, p in enumerate(self.procs):
            if p.is_alive():
                alive = True
            elif i not in self.finished:
                _drain(self.events, self.handle)
                if i not in self.finished:  # died without a word: killed, out of memory
                    self.finished.add(i)
                    recover_lost_worker(self.storage, self.study, self.summary, i, p,
                                        list(self.running.pop(i, {}).values()),
                                        signalled=self.signum is not None,
                                        max_retries=self.max_retries)
        return alive

    def signal_stragglers(self) -> None:
        """After a signal: forward it again each second (a worker still importing ignored the
        first, see :func:`worker_main`); kill those alive past the grace period."""
        now = time.monotonic()
        if self.signum is not None and self.forwarded_at is not None and now - self.forwarded_at > 1.0:
            self.forwarded_at = now
            self.kill_all(self.signum, skip_finished=True)
        if self.signalled_at is not None and now - self.signalled_at > SIGNAL_GRACE_S:
            for i, p in enumerate(self.procs):
                if p.is_alive():
                    log.warning("worker %d did not stop within %.0f s; killing it", i,
                                SIGNAL_GRACE_S)
                    p.kill()
            self.signalled_at = self.forwarded_at = None

    def kill_all(self, signum: int, *, skip_finished: bool = False) -> None:
        for i, p in enumerate(self.procs):
            if p.is_alive() and not (skip_finished and i in self.finished):
                try:
                    os.kill(p.pid, signum)
                except ProcessLookupError:
                    pass

    def forward(self, signum, _frame) -> None:
        """This process's SIGINT/SIGTERM handler: the workers get the signal."""
        if self.signum is None:
            self.signum = signum
            self.signalled_at = self.forwarded_at = time.monotonic()
        self.kill_all(signum)

    def handle(self, msg: Message) -> None:
        if isinstance(msg, TrialMessage):
            if msg.kind == "start":
                self.running.setdefault(msg.index, {})[msg.trial.id] = msg.trial
            elif msg.kind == "end":
                self.running.get(msg.index, {}).pop(msg.trial.id, None)
                self.summary.count(msg.trial, maximize=self.study.maximize)
            if self.on_event is not None:
                self.on_event(TrialEvent(msg.kind, msg.trial, self.summary.best_so_far(),
                                         self.summary.ran, self.total, step=msg.step,
                                         metrics=msg.metrics))
        elif isinstance(msg, WorkerDone):
            self.finished.add(msg.index)
            self.summaries.append(msg.summary)
        elif isinstance(msg, WorkerFailed):
            self.finished.add(msg.index)
            self.failures.append(msg)
            first_line = (msg.message.splitlines() or [msg.error])[0]
            # The worker's loop marks its trials unless it crashed: make sure
            for trial in self.running.pop(msg.index, {}).values():
                recover_trial(self.storage, self.study, self.summary, trial,
                              interrupted=self.signum is not None or msg.error == "Interrupted",
                              reason=f"worker {msg.index} stopped: {first_line}",
                              max_retries=self.max_retries)

    def result(self) -> RunSummary:
        """The merged summary, or the error the run ends with."""
        summary = self.summary
        for s in self.summaries:
            summary.stale_recovered += s.stale_recovered
            if s.startup_s is not None:
                summary.startup_s = max(summary.startup_s or 0.0, s.startup_s)
            if s.pack_note and not summary.pack_note:  # --pack auto: the first worker's says
                summary.pack_note = s.pack_note
        if self.signum is not None:
            # A worker killed by the grace timeout left its trial running: mark it here.
            self.storage.mark_interrupted([t.id for held in self.running.values()
                                           for t in held.values()])
            raise Interrupted(
                f"interrupted by {signal.Signals(self.signum).name}; {self.options.workers} "
                f"workers stopped, their running trials marked interrupted; run the same "
                f"command again to resume", signum=self.signum)
        for failure in self.failures:
            if failure.error == "Interrupted":
                # A worker was signalled directly, not through this process: it marked its
                # trial interrupted, and the next claim (by any worker, now or in the next
                # run) re-runs it.
                summary.lost_workers.append(failure.message)
                log.warning("a worker stopped: %s", failure.message)
        real = [f for f in self.failures if f.error != "Interrupted"]
        if real:
            raise rebuild_error(real[0])
        summary.stopped = merge_stopped([s.stopped for s in self.summaries])
        busy = [s.busy for s in self.summaries if s.busy is not None]
        if busy:
            summary.busy = busy[0]
        return close_summary(self.storage, self.study, summary,
                             stale_after=self.options.stale_after)


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


__all__ = ["run_parallel", "Supervisor", "resolve_devices", "threads_per_worker", "recover_lost_worker",
           "recover_trial", "merge_stopped", "SIGNAL_GRACE_S", "POLL_S"]
