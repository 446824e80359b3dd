"""Process helpers any layer may use (stdlib only): the parent-death signal."""

from __future__ import annotations

import sys

__all__ = ["set_parent_death_signal"]


def set_parent_death_signal(signum: int) -> bool:
    """Ask Linux to send ``signum`` to this process when its parent dies (``prctl
    PR_SET_PDEATHSIG``), so a worker or trial process orphaned by a SIGKILLed run stops too.
    False where that is not available (other systems: the caller polls ``os.getppid()``)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        return bool(libc.prctl(pr_set_pdeathsig, int(signum), 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False
