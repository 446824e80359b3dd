"""Stopping on SIGINT/SIGTERM without losing the running trial, and the heartbeat thread."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from typing import Any, Iterator

from hpsearch.errors import Interrupted
from hpsearch.procs import set_parent_death_signal

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stop(BaseException):
    """What the signal handler raises. Like KeyboardInterrupt it is no ``Exception``, so an
    objective's ``except Exception`` does not swallow it; the loop turns it into
    :class:`Interrupted` once the running trial is marked."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def interrupted(signum: int, detail: str = "") -> Interrupted:
    """The error a run ends with after ``signum``; ``detail`` says what was marked."""
    return Interrupted(f"interrupted by {signal.Signals(signum).name}; {detail}"
                       "run the same command again to resume", signum=int(signum))


class StopOnSignal:
    """SIGINT and SIGTERM raise :class:`Stop` in the main thread, so the loop can mark the
    running trial before the process exits, and are remembered: an objective that catches
    even a BaseException cannot make the run go on (:meth:`check`).

    The first signal wins: later ones do nothing, so they cannot cut the marking short (the
    old handlers return on exit). Outside the main thread no handler is installed."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._old: dict[int, Any] = {}
        self._deferred = 0

    def __enter__(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._old[signum] = signal.signal(signum, self._handler)
        return self

    def _handler(self, signum, _frame) -> None:
        if self.signum is not None:
            return
        self.signum = signum
        if not self._deferred:
            raise Stop(signum)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """A section a signal must not cut in two (a claim and the assignment of its trial):
        a signal inside it is raised as :class:`Stop` when the section ends."""
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
        """Raise :class:`Stop` if a signal came, even one the objective swallowed."""
        if self.signum is not None:
            raise Stop(self.signum)

    def __exit__(self, _type, exc, _tb) -> None:
        for signum, old in self._old.items():
            signal.signal(signum, old)
        if isinstance(exc, Stop):  # a signal after the loop let go of its trial
            raise interrupted(exc.signum) from None


def start_ignoring_signals(procs: list) -> None:
    """Start ``procs`` with SIGINT and SIGTERM ignored (a disposition a new program inherits;
    a blocked mask it would not): a Ctrl-C while a worker imports would otherwise print its
    traceback. Here they are blocked meanwhile, not lost: they reach this process's handler
    once all have started."""
    from multiprocessing import resource_tracker

    # Started first: starting it later would unblock the signals (its own start-up blocks
    # and then unblocks them) while they are ignored here, losing one.
    resource_tracker.ensure_running()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    handlers = {s: signal.signal(s, signal.SIG_IGN) for s in STOP_SIGNALS}
    try:
        for p in procs:
            p.start()
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


class ParentWatch:
    """Stops this process when its parent is gone: SIGTERM to itself once (the run's
    :class:`StopOnSignal` marks the running trial interrupted), then, should it still be there
    after ``grace`` seconds (stuck on a pipe nobody reads), ``os._exit``. Polls
    ``os.getppid()`` from a daemon thread; with :func:`set_parent_death_signal` as well, Linux
    sends the SIGTERM at once."""

    def __init__(self, parent_pid: int, *, interval: float = 0.5, grace: float = 30.0) -> None:
        self.parent_pid = parent_pid
        self.interval = interval
        self.grace = grace
        self._thread = threading.Thread(target=self._loop, name="hpsearch-parent-watch",
                                        daemon=True)

    def orphaned(self) -> bool:
        import os

        return os.getppid() != self.parent_pid

    def start(self) -> ParentWatch:
        set_parent_death_signal(signal.SIGTERM)
        self._thread.start()
        return self

    def _loop(self) -> None:
        import os
        import time

        while not self.orphaned():
            time.sleep(self.interval)
        log.warning("the run that started this worker (pid %d) is gone; stopping",
                    self.parent_pid)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(self.grace)
        os._exit(1)


__all__ = ["Stop", "StopOnSignal", "STOP_SIGNALS", "interrupted", "ParentWatch",
           "start_ignoring_signals"]
