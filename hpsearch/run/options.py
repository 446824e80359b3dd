"""The options of one run, in one frozen object instead of a dozen repeated keywords."""

from __future__ import annotations

from dataclasses import dataclass

#: A running trial refreshes its heartbeat this often (seconds).
HEARTBEAT_INTERVAL_S = 10.0
#: A running trial whose heartbeat is older than this is taken for dead (stale).
STALE_AFTER_S = 120.0


@dataclass(frozen=True)
class RunOptions:
    """How a run goes; what it runs (the study, its round) is passed beside it.

    Attributes
    ----------
    add:
        Run this many more trials (one budget shared by all workers), instead of running the
        round up to its target.
    timeout:
        Start no trial after this many seconds (a running one is finished).
    sampler:
        A sampler name overriding the round's.
    device:
        The device of an in-process run (``cpu``, ``cuda:1``; None: the trainer's setting).
    devices:
        The devices dealt round robin to the worker processes (the first one without workers).
    workers:
        How many worker processes run trials at once (1: this process).
    max_concurrent:
        Claim no trial while this many trials of the study run anywhere.
    stale_after:
        A running trial whose heartbeat is older than this (seconds) is failed as stale and
        its params queued once more (up to ``[study] max_retries`` times per configuration).
    heartbeat_interval:
        How often a running trial's heartbeat is refreshed (at most ``stale_after / 4``).
    pruner:
        A pruner name overriding the space's ``[study] pruner`` (none, median, asha,
        hyperband); its settings stay the space's ``[pruner]`` table.
    pack:
        Train this many trials of the built-in trainer at once in one process (None: the
        space's ``[trainer] pack``, else one); "auto": pack only if the first pack beats single
        trials of its shape (:mod:`hpsearch.run.pack_auto`).
    max_consecutive_failures:
        Stop the run after this many failed trials in a row (None: the space's setting).
    threads:
        CPU threads per trial (None: the objective's default).
    """

    add: int | None = None
    timeout: float | None = None
    sampler: str | None = None
    device: str | None = None
    devices: tuple[str | None, ...] | None = None
    workers: int = 1
    max_concurrent: int | None = None
    stale_after: float = STALE_AFTER_S
    heartbeat_interval: float = HEARTBEAT_INTERVAL_S
    pruner: str | None = None
    pack: int | str | None = None
    max_consecutive_failures: int | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.devices is not None and not isinstance(self.devices, tuple):
            # A list from a caller (resolve_devices returns one) is accepted and frozen.
            object.__setattr__(self, "devices", tuple(self.devices))

    @property
    def first_device(self) -> str | None:
        """The device of an in-process run: the first of ``devices``, else ``device``."""
        return self.devices[0] if self.devices else self.device


__all__ = ["RunOptions", "STALE_AFTER_S", "HEARTBEAT_INTERVAL_S"]
