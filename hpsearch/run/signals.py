"""Stopping on SIGINT/SIGTERM without losing the running trial, and the heartbeat thread."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from typing import Any, Iterator

from hpsearch.errors import Interrupted
from hpsearch.storage import Storage

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


class Heartbeat:
    """Refreshes the running trial's heartbeat from a background thread."""

    def __init__(self, storage: Storage, interval: float) -> None:
        self.storage = storage
        self.interval = interval
        #: The id of the trial to keep alive (None between trials).
        self.running: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="hpsearch-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
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


__all__ = ["Stop", "StopOnSignal", "Heartbeat", "STOP_SIGNALS", "interrupted"]
