"""The loop: claim a trial, run the objective, record it; budgets, heartbeats and signals.

:func:`prepare_study` creates or resumes a study (refusing when the space file changed under
it); :func:`run_study` runs trials until the round's target, ``add`` more trials, or the timeout,
in this process or in several worker processes (``workers``; :mod:`hpsearch.workers`). Every
trial is committed as soon as it ends, so a crash loses nothing that completed; a trial
interrupted by SIGINT/SIGTERM is marked ``interrupted`` and the next run re-runs it under the
same number; an objective that swallows the signal (``except BaseException``) still ends the
run, its trial marked interrupted, not complete. A trial whose process died stays ``running``
until its heartbeat is older than ``stale_after``; then any run fails it as stale and queues
its params once more.
:func:`join_study` works on an existing study without its space file (``hpsearch worker``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import socket
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from hpsearch.errors import HpsearchError, Interrupted, StorageError, StudyError
from hpsearch.objectives import (TrialContext, TrialFailed, check_objective, extract_value,
                                 make_objective)
from hpsearch.objectives.base import json_safe
from hpsearch.samplers import make_sampler
from hpsearch.space import Space
from hpsearch.studies import prepare_study, round_space
from hpsearch.storage import RoundRecord, Storage, StudyBusy, StudyRecord, TrialRecord

log = logging.getLogger(__name__)

#: A running trial refreshes its heartbeat this often (seconds).
HEARTBEAT_INTERVAL_S = 10.0
#: A running trial whose heartbeat is older than this is taken for dead (stale).
STALE_AFTER_S = 120.0
#: Intermediate reports are written at least this often while a trial runs.
STEP_FLUSH_S = 5.0


@dataclass
class TrialEvent:
    """What the progress callback hears: ``kind`` is "start" or "end"."""

    kind: str
    trial: TrialRecord
    best_value: float | None
    done: int
    total: int | None


@dataclass
class RunSummary:
    study: str
    round: int
    ran: int = 0
    states: dict[str, int] = field(default_factory=dict)
    best: TrialRecord | None = None
    stopped: str = "target"          # target | added | timeout | exhausted | busy
    #: Numbers of the trials this run failed as stale (their worker died; no heartbeat for
    #: ``stale_after``, or a --workers parent saw the worker die or stop with an error), each
    #: queued once more unless it was a retry already.
    stale_recovered: list[int] = field(default_factory=list)
    #: With ``stopped == "busy"``: how many trials were running, and the --max-concurrent limit.
    busy: tuple[int, int] | None = None
    #: How many worker processes ran (1 without ``--workers``).
    workers: int = 1
    #: Worker processes that died (killed, out of memory); their trials were re-queued.
    lost_workers: list[str] = field(default_factory=list)


class Tickets:
    """The ``--add`` budget shared by the workers of one run: each takes a ticket before it
    claims a trial. This default is for one process; :mod:`hpsearch.workers` shares one
    between processes."""

    def __init__(self, n: int) -> None:
        self.left = n

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True

    def give_back(self) -> None:
        self.left += 1


def worker_id(pid: int | None = None) -> str:
    """How trials name the process that runs them (this one, or the process ``pid`` here)."""
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}"


# ------------------------------------------------------------------------------------ running
def run_study(
    storage: Storage, space: Space, *, name: str | None = None, trials: int | None = None,
    add: int | None = None, timeout: float | None = None, sampler: str | None = None,
    seed: int | None = None, device: str | None = None,
    on_event: Callable[[TrialEvent], None] | None = None,
    stale_after: float = STALE_AFTER_S, heartbeat_interval: float = HEARTBEAT_INTERVAL_S,
    workers: int = 1, devices: list[str | None] | None = None, max_concurrent: int | None = None,
) -> RunSummary:
    """Run trials of the study of ``space``; see the module docstring.

    ``workers > 1`` runs that many worker processes (:func:`hpsearch.workers.run_parallel`),
    pinned round robin to ``devices``. ``max_concurrent`` stops claiming while that many trials
    of the study run (in any process, on any machine); a run that finds the study full returns
    at once with ``stopped == "busy"``.

    The objective is set up (and released) before the study is created or updated, so wrong
    ``[objective]``/``[trainer]`` settings raise without writing anything.
    """
    if workers > 1:
        # The workers import the objective themselves; importing a user's module (and maybe
        # torch and a CUDA context) in the parent as well would only cost memory.
        check_objective(space)
    else:
        make_objective(space, device=device or (devices[0] if devices else None)).close()
    study, round_ = prepare_study(storage, space, name=name, sampler=sampler, seed=seed,
                                  trials=trials)
    return run_round(storage, study, round_, file_space=space, add=add, timeout=timeout,
                     sampler=sampler, device=device, on_event=on_event, stale_after=stale_after,
                     heartbeat_interval=heartbeat_interval, workers=workers, devices=devices,
                     max_concurrent=max_concurrent)


def join_study(
    storage: Storage, name: str, *, add: int | None = None, timeout: float | None = None,
    device: str | None = None, on_event: Callable[[TrialEvent], None] | None = None,
    stale_after: float = STALE_AFTER_S, heartbeat_interval: float = HEARTBEAT_INTERVAL_S,
    workers: int = 1, devices: list[str | None] | None = None, max_concurrent: int | None = None,
) -> RunSummary:
    """Work on the latest round of an existing study, with no space file: the round's stored
    space (objective and trainer settings included) says what to run. For ``hpsearch worker``
    on another machine."""
    study = storage.get_study(name)
    round_ = storage.latest_round(study.id)
    return run_round(storage, study, round_, file_space=None, add=add, timeout=timeout,
                     device=device, on_event=on_event, stale_after=stale_after,
                     heartbeat_interval=heartbeat_interval, workers=workers, devices=devices,
                     max_concurrent=max_concurrent)


def run_round(
    storage: Storage, study: StudyRecord, round_: RoundRecord, *, file_space: Space | None = None,
    add: int | None = None, timeout: float | None = None, sampler: str | None = None,
    device: str | None = None, on_event: Callable[[TrialEvent], None] | None = None,
    stale_after: float = STALE_AFTER_S, heartbeat_interval: float = HEARTBEAT_INTERVAL_S,
    workers: int = 1, devices: list[str | None] | None = None, max_concurrent: int | None = None,
) -> RunSummary:
    """:func:`work` in this process, or in ``workers`` processes when there are several."""
    if workers > 1:
        from hpsearch.workers import run_parallel

        return run_parallel(
            storage, study, round_, workers=workers, devices=devices or [device],
            file_space=file_space, add=add, timeout=timeout, sampler=sampler, on_event=on_event,
            stale_after=stale_after, heartbeat_interval=heartbeat_interval,
            max_concurrent=max_concurrent)
    if devices:
        device = devices[0]
    return work(storage, study, round_, file_space=file_space, add=add, timeout=timeout,
                sampler=sampler, device=device, on_event=on_event, stale_after=stale_after,
                heartbeat_interval=heartbeat_interval, max_concurrent=max_concurrent)


def round_limit(study: StudyRecord, round_: RoundRecord, *, add: int | None,
                sampler: str | None = None, file_space: Space | None = None) -> int | None:
    """How many trials the round may draw in all (None: no limit, for ``--add``)."""
    space = round_space(study, round_, file_space)
    return _limit(make_sampler(sampler or round_.sampler, space, seed=round_.seed), round_, add)


def trials_to_run(storage: Storage, study: StudyRecord, round_: RoundRecord, *,
                  limit: int | None, add: int | None) -> int | None:
    """How many trials a run expects to run, for its progress: ``add``, or what the round still
    lacks plus the interrupted and queued trials that are re-run first (None: no bound)."""
    if add is not None:
        return add
    if limit is None:
        return None
    counts = storage.counts(study)
    return max(0, limit - round_.n_claimed) + counts.get("queued", 0) + counts.get("interrupted", 0)


def _limit(smp, round_: RoundRecord, add: int | None) -> int | None:
    limit = None if add is not None else round_.target
    if smp.size is not None:  # a grid: never past its last point
        limit = smp.size if limit is None else min(limit, smp.size)
    return limit


def work(
    storage: Storage, study: StudyRecord, round_: RoundRecord, *, file_space: Space | None = None,
    add: int | None = None, timeout: float | None = None, sampler: str | None = None,
    device: str | None = None, on_event: Callable[[TrialEvent], None] | None = None,
    stale_after: float = STALE_AFTER_S, heartbeat_interval: float = HEARTBEAT_INTERVAL_S,
    max_concurrent: int | None = None, tickets: Tickets | None = None, worker: str | None = None,
) -> RunSummary:
    """The claim → run → record loop of one worker on one round of an existing study.

    ``tickets`` shares the ``add`` budget between the worker processes of one run (default: a
    budget of ``add`` for this worker alone); ``worker`` is the name recorded on its trials
    (default host:pid).
    """
    space = round_space(study, round_, file_space)
    objective = make_objective(space, device=device)
    smp = make_sampler(sampler or round_.sampler, space, seed=round_.seed)
    limit = _limit(smp, round_, add)
    deadline = None if timeout is None else time.monotonic() + timeout
    summary = RunSummary(study=study.name, round=round_.number)
    summary.stale_recovered += storage.recover_stale(study.id, older_than_s=stale_after)
    best = storage.best(study)
    summary.best = best
    me = worker or worker_id()
    if tickets is None and add is not None:
        tickets = Tickets(add)
    # Beat well within --stale-after, or a short one would fail trials that are alive.
    beat = _Heartbeat(storage, min(heartbeat_interval, stale_after / 4))
    total = trials_to_run(storage, study, round_, limit=limit, add=add)
    last_recovery = time.monotonic()
    current: TrialRecord | None = None

    def propose(index: int) -> dict[str, Any]:
        config = smp.propose(index)
        if config is None:  # cannot happen below ``limit``; guards a grid that shrank
            raise StudyError(f"the {smp.name} sampler has no point {index}")
        return config

    stop = _StopOnSignal()
    with stop, beat:
        try:
            while True:
                # The objective may have swallowed the stop request: start nothing more.
                stop.check()
                if deadline is not None and time.monotonic() >= deadline:
                    summary.stopped = "timeout"
                    break
                if time.monotonic() - last_recovery > stale_after / 2:
                    summary.stale_recovered += storage.recover_stale(study.id, older_than_s=stale_after)
                    last_recovery = time.monotonic()
                if tickets is not None and not tickets.take():
                    summary.stopped = "added"
                    break
                try:
                    # A signal while the claim commits would leave its trial running with
                    # nobody to mark it: it waits until ``current`` names the trial.
                    with stop.deferred():
                        current = storage.claim(study, round_, propose=propose, limit=limit,
                                                worker=me, device=device,
                                                max_running=max_concurrent)
                except StudyBusy as exc:
                    current = None
                    if tickets is not None:
                        tickets.give_back()
                    summary.stopped = "busy"
                    summary.busy = (exc.running, exc.limit)
                    break
                if current is None:
                    if tickets is not None:
                        tickets.give_back()
                    summary.stopped = "exhausted" if smp.size is not None and limit == smp.size else "target"
                    break
                beat.running = current.id
                if on_event:
                    on_event(TrialEvent("start", current, _value(best), summary.ran, total))
                record = _run_trial(storage, study, objective, current, device, stop)
                beat.running = None
                current = None
                summary.ran += 1
                summary.states[record.state] = summary.states.get(record.state, 0) + 1
                if record.state == "complete" and _better(record.value, _value(best), study.maximize):
                    best = record
                    summary.best = record
                if on_event:
                    on_event(TrialEvent("end", record, _value(best), summary.ran, total))
            stop.check()  # a signal held back while the last claim failed (a busy study)
        except (KeyboardInterrupt, _Stop, Interrupted) as exc:
            signum = getattr(exc, "signum", signal.SIGINT)
            # A second signal must not cut the marking short (Ctrl-C reaches every worker of a
            # process group, and the parent of --workers forwards it as well).
            stop.hold(signum)
            # The trial may have been finished just before the signal: then nothing is marked.
            marked = current is not None and storage.mark_interrupted([current.id]) > 0
            raise Interrupted(
                f"interrupted by {signal.Signals(signum).name}; "
                + (f"trial {current.number} marked interrupted; " if marked else "")
                + "run the same command again to resume", signum=int(signum)) from None
        finally:
            objective.close()
    return summary


def _run_trial(storage: Storage, study: StudyRecord, objective, trial: TrialRecord,
               device: str | None, stop: "_StopOnSignal") -> TrialRecord:
    steps = _StepBuffer()
    last_flush = [time.monotonic()]

    def write_steps(*, final: bool) -> None:
        batch = steps.pending(final=final)
        if not batch:
            return
        try:
            storage.add_steps(trial.id, batch)
        except StorageError as exc:
            if final:
                raise
            # The curve so far stays in the buffer and goes with the trial's result; a busy
            # database in the middle of a trial is no reason to fail it.
            log.warning("trial %d: intermediate steps not written yet: %s", trial.number, exc)
            return
        steps.written(batch)

    def report(step: int, metrics: Mapping[str, Any]) -> None:
        steps.add(int(step), {str(k): json_safe(v) for k, v in metrics.items()})
        if time.monotonic() - last_flush[0] > STEP_FLUSH_S:
            write_steps(final=False)
            last_flush[0] = time.monotonic()

    ctx = TrialContext(number=trial.number, seed=trial.seed, device=device, report=report)
    value = None
    metrics: dict[str, Any] | None = None
    error = None
    fatal: HpsearchError | None = None
    try:
        result = objective.run(trial.params, ctx)
        value, metrics = extract_value(result, study.metric)
        state = "complete"
    except TrialFailed as exc:
        state, error, metrics = "failed", str(exc), exc.metrics or None
    except (KeyboardInterrupt, _Stop, Interrupted):
        write_steps(final=True)
        raise
    except HpsearchError as exc:
        # A setup problem that every trial would hit (a missing data file): record, then stop.
        state, error, fatal = "failed", str(exc), exc
    except SystemExit as exc:
        # sys.exit() in the user's code ends its trial, not the study.
        tb = traceback.format_exc(limit=-6)
        state, error = "failed", f"SystemExit: {exc.code}\n{tb}"
        log.info("trial %d failed: SystemExit: %s", trial.number, exc.code)
    except Exception as exc:  # noqa: BLE001 - the user's code failed; the study goes on
        tb = traceback.format_exc(limit=-6)
        state, error = "failed", f"{type(exc).__name__}: {exc}\n{tb}"
        log.info("trial %d failed: %s: %s", trial.number, type(exc).__name__, exc)
    if stop.signum is not None:
        # The objective caught the stop request and went on: whatever it returned, the trial
        # did not run to its end, so it is interrupted (and re-run), not complete or failed.
        write_steps(final=True)
        raise _Stop(stop.signum)
    if metrics is not None:  # objectives other than ours may hand back NaN
        metrics = {str(k): json_safe(v) for k, v in metrics.items()}
    storage.finish(trial.id, state=state, value=value, metrics=metrics, error=error,
                   steps=steps.pending(final=True), device=ctx.device_used)
    if fatal is not None:
        raise fatal
    return TrialRecord(
        id=trial.id, number=trial.number, round=trial.round, state=state, params=trial.params,
        value=value, metrics=metrics, seed=trial.seed, worker=trial.worker,
        device=ctx.device_used or trial.device, started_at=trial.started_at,
        finished_at=time.time(), error=error, retry_of=trial.retry_of,
        sample_index=trial.sample_index)


class _StepBuffer:
    """A trial's intermediate reports, merged per step and written in whole steps.

    A step reported again updates its metrics (later values win), so each step is one row.
    The storage replaces every step from a batch's first one on, so all steps stay in memory
    and a batch always runs from the earliest changed step to the last one written: a step
    reported again after it was written costs a rewrite, not a lost row. Until the trial ends
    the latest step is held back, as more metrics of it may follow (train, then validation).
    """

    def __init__(self) -> None:
        self.steps: dict[int, dict[str, Any]] = {}
        self.dirty: int | None = None   # the earliest step changed since the last write

    def add(self, step: int, metrics: dict[str, Any]) -> None:
        self.steps.setdefault(step, {}).update(metrics)
        self.dirty = step if self.dirty is None else min(self.dirty, step)

    def pending(self, *, final: bool) -> list[tuple[int, dict[str, Any]]]:
        """The steps to write now: through the latest one when ``final``, else before it."""
        if self.dirty is None:
            return []
        last = max(self.steps) if final else max(self.steps) - 1
        return [(s, dict(m)) for s, m in sorted(self.steps.items()) if self.dirty <= s <= last]

    def written(self, batch: list[tuple[int, dict[str, Any]]]) -> None:
        top = batch[-1][0]
        self.dirty = min((s for s in self.steps if s > top), default=None)


def _value(t: TrialRecord | None) -> float | None:
    return None if t is None else t.value


def _better(a: float | None, b: float | None, maximize: bool) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return False
    if b is None:
        return True
    return a > b if maximize else a < b


class _Heartbeat:
    """Refreshes the running trial's heartbeat from a background thread."""

    def __init__(self, storage: Storage, interval: float) -> None:
        self.storage = storage
        self.interval = interval
        self.running: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="hpsearch-heartbeat", daemon=True)

    def __enter__(self) -> "_Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            trial = self.running
            if trial is not None:
                try:
                    self.storage.heartbeat([trial])
                except Exception as exc:  # noqa: BLE001 - a missed beat is not fatal
                    log.warning("heartbeat failed: %s", exc)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Stop(BaseException):
    """What the signal handler raises. Like KeyboardInterrupt it is no ``Exception``, so an
    objective's ``except Exception`` does not swallow it; :func:`work` turns it into
    :class:`Interrupted` once the running trial is marked."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _StopOnSignal:
    """SIGINT and SIGTERM raise :class:`_Stop` in the main thread, so the loop can mark the
    running trial before the process exits, and are remembered: an objective that catches
    even a BaseException cannot make the run go on (:meth:`check`).

    The first signal wins: later ones do nothing, so they cannot cut the marking short (the
    old handlers return on exit). Outside the main thread no handler is installed."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._old: dict[int, Any] = {}
        self._deferred = 0

    def __enter__(self) -> "_StopOnSignal":
        if threading.current_thread() is threading.main_thread():
            for signum in _STOP_SIGNALS:
                self._old[signum] = signal.signal(signum, self._handler)
        return self

    def _handler(self, signum, _frame) -> None:
        if self.signum is not None:
            return
        self.signum = signum
        if not self._deferred:
            raise _Stop(signum)

    @contextlib.contextmanager
    def deferred(self):
        """A section a signal must not cut in two (a claim and the assignment of its trial):
        a signal inside it is raised as :class:`_Stop` when the section ends."""
        self._deferred += 1
        try:
            yield
        finally:
            self._deferred -= 1
        self.check()

    def hold(self, signum: int) -> None:
        """The loop is stopping (``signum`` or an objective's KeyboardInterrupt): from now on
        signals do nothing."""
        if self.signum is None:
            self.signum = signum

    def check(self) -> None:
        """Raise :class:`_Stop` if a signal came, even one the objective swallowed."""
        if self.signum is not None:
            raise _Stop(self.signum)

    def __exit__(self, _type, exc, _tb) -> None:
        for signum, old in self._old.items():
            signal.signal(signum, old)
        if isinstance(exc, _Stop):  # a signal after the loop let go of its trial
            raise Interrupted(
                f"interrupted by {signal.Signals(exc.signum).name}; run the same command again "
                "to resume", signum=int(exc.signum)) from None
