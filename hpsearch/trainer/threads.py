"""How many CPU threads torch may use for one trial: ``[trainer] threads``.

A small MLP gains little from intra-op threads, and loses a lot when the cores are busy: torch's
default (one thread per core) made a search on a busy machine several times slower than one
thread (benchmarks/bench_threads.py; the figures are in benchmarks/README.md). Overlapping cron runs on one box are a documented use, so
``threads = "auto"`` (the default) gives a small model one thread, and a large one (a batch's
multiply-adds above :data:`LARGE_MODEL_MACS`) at most :data:`AUTO_MAX_THREADS`, never more than
this process's share of the cores (``OMP_NUM_THREADS``, which ``--workers`` sets to
``cores // workers``; else all cores) nor more than the cores left idle by the load average
(on a busy box a large MLP given more threads than idle cores ran many times slower than with
one). A number is taken as it is.

Imported by the trainer settings: no torch at import time.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["AUTO", "AUTO_MAX_THREADS", "LARGE_MODEL_MACS", "thread_budget", "resolve_threads",
           "set_threads"]

AUTO = "auto"
#: The most threads "auto" gives a large model (more rarely pays for an MLP).
AUTO_MAX_THREADS = 4
#: Multiply-adds of one training batch (batch size × weights) from which a model is "large".
LARGE_MODEL_MACS = 1 << 24


def thread_budget() -> int:
    """The CPU threads this process may use: ``OMP_NUM_THREADS`` when set (``--workers`` sets
    it to each worker's share), else the machine's cores; at most the cores the 1-minute load
    average leaves idle (at least 1)."""
    cores = os.cpu_count() or 1
    env = os.environ.get("OMP_NUM_THREADS", "")
    share = int(env) if env.strip().isdigit() and int(env) > 0 else cores
    try:
        idle = cores - int(os.getloadavg()[0] + 0.5)
    except OSError:  # no load average on this platform
        idle = cores
    return max(1, min(share, idle))


def model_macs(params: Any, n_features: int, n_classes: int) -> int:
    """Multiply-adds of one forward pass of a batch (``params``: a TrialParams)."""
    h = params.hidden_units
    weights = n_features * h + (params.n_layers - 1) * h * h + h * n_classes
    return params.batch_size * weights


def resolve_threads(setting: int | str, *, macs: int = 0, budget: int | None = None) -> int:
    """The thread count for a trial: ``setting`` itself when it is a number, else (``"auto"``)
    1 for a small model and ``min(AUTO_MAX_THREADS, budget)`` for one of ``macs`` ≥
    :data:`LARGE_MODEL_MACS` multiply-adds per batch."""
    if setting != AUTO:
        return int(setting)
    if macs < LARGE_MODEL_MACS:
        return 1
    return max(1, min(AUTO_MAX_THREADS, thread_budget() if budget is None else budget))


def set_threads(n: int) -> None:
    """``torch.set_num_threads(n)`` unless it is already so (the call is not free)."""
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
