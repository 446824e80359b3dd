"""A hard time bound for one property-test example: a hang fails the test instead of stalling it."""

from __future__ import annotations

import contextlib
import signal
from typing import Any, Iterator


@contextlib.contextmanager
def time_bound(seconds: float) -> Iterator[None]:
    """Fail (not hang) when the body runs longer than ``seconds`` (SIGALRM: main thread only)."""
    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"example took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
