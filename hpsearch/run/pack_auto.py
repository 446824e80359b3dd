"""``--pack auto``: pack only where packing pays on this device and shape.

Packing K trials as one model pays where the device has work to spare (a GPU, small models);
on a CPU at a shape whose matmuls already keep the core busy it can cost more than it saves.
``--pack auto`` (``--pack`` with no number, or ``[trainer] pack = "auto"``) packs up to
``AUTO_K`` trials, and measures once per worker process and run (the decision is not stored:
load and device change from run to run, and the measure costs two trials run alone):

1. the first group of one shape with at least ``MEASURE_MIN`` trials runs its first
   ``SINGLES`` trials one by one, then the rest as a pack;
2. the cost of each is seconds per unit of work: per epoch run (the built-in trainer's
   ``epochs_run`` metric; one unit for a trial without it), so that a member stopped early
   does not make the pack look cheap. Seconds of the process's CPU time on a CPU device (on a
   shared machine wall time mostly measures the neighbours), wall time on an accelerator
   (:func:`clock_for`);
3. the pack is kept when its seconds per unit are below the cheaper single's (the first trial
   after the warm-up can carry one-off costs, such as fresh memory), otherwise the run
   goes on one trial at a time (K = 1); the decision is one line of the run's summary.

A pack or a single trial that failed at set-up (no unit of work) measures nothing; the next
group of enough trials is measured instead. :class:`PackChooser` holds the rule and takes the
measured times from its caller (the worker's clock), so tests give it times of their own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from hpsearch.errors import ConfigError
from hpsearch.run.pack import pack_size
from hpsearch.space import Space
from hpsearch.storage import TrialRecord

__all__ = ["AUTO_K", "SINGLES", "MEASURE_MIN", "PackChooser", "pack_setting", "work_units",
           "clock_for"]

#: K of ``--pack auto``: the largest pack it tries.
AUTO_K = 8
#: Trials of the measured shape run one by one before the first pack.
SINGLES = 2
#: A group is measured when it has at least this many trials (SINGLES alone, a pack of 2).
MEASURE_MIN = SINGLES + 2


def pack_setting(space: Space, pack: int | str | None) -> tuple[int, bool]:
    """K for this run and whether it is ``auto``: ``--pack`` (``RunOptions.pack``: a number,
    or "auto"), else ``[trainer] pack``, else 1 (:func:`~hpsearch.run.pack.pack_size` checks
    the number and the objective). ``auto`` with an objective that cannot pack is K = 1."""
    value = pack if pack is not None else space.trainer.get("pack")
    if value == "auto":
        try:
            return pack_size(space, AUTO_K), True
        except ConfigError:  # not the built-in trainer: auto means one at a time
            return 1, False
    if isinstance(value, str):
        raise ConfigError(f"--pack: {value!r} must be an integer >= 1 or \"auto\"")
    return pack_size(space, value), False


def clock_for(device: str | None) -> tuple[Callable[[], float], str]:
    """The clock ``--pack auto`` measures with on ``device`` and its name for the summary:
    CPU time on a CPU, wall time elsewhere (an accelerator's work is not the process's CPU)."""
    if device is None or str(device).startswith("cpu"):
        return time.process_time, "CPU time"
    return time.perf_counter, "wall time"


def work_units(rec: TrialRecord) -> int:
    """How much work a recorded trial did: its epochs (``epochs_run``), else 1; 0 when it
    failed before any (a set-up error measures nothing)."""
    epochs = (rec.metrics or {}).get("epochs_run")
    if isinstance(epochs, int) and not isinstance(epochs, bool) and epochs >= 1:
        return epochs
    if rec.state == "failed" and not rec.steps and not rec.metrics:
        return 0
    return 1


@dataclass
class PackChooser:
    """The ``--pack auto`` rule of one worker: which groups run how, until it has decided.

    ``plan`` splits the groups the loop is about to run (the measured group: ``SINGLES``
    alone, then the rest); ``observe`` takes each group's records and measured seconds and
    returns True once it has decided (then ``plan`` the groups left again: with packing
    refused they run one by one, and ``k`` is 1)."""

    k: int
    auto: bool = False
    #: "pack" or "single" once decided; None while measuring (or without auto).
    decision: str | None = None
    #: The one line the run's summary shows for the decision.
    line: str | None = None
    singles: list[float] = field(default_factory=list)  # seconds per unit, each single trial
    packed: float | None = None  # seconds per unit of the measured pack
    _measuring: set[int] = field(default_factory=set)  # ids of the trials being measured
    #: What the caller measures with (:func:`clock_for`) and its name in the line.
    clock: Callable[[], float] = time.perf_counter
    clock_name: str = "wall time"

    @property
    def measuring(self) -> bool:
        return self.auto and self.k > 1 and self.decision is None

    def plan(self, groups: Sequence[list[TrialRecord]]) -> list[list[TrialRecord]]:
        """The groups as they should run now."""
        if self.decision == "single":
            return [[t] for g in groups for t in g]
        if not self.measuring or self._measuring:
            return [list(g) for g in groups]
        out: list[list[TrialRecord]] = []
        for g in groups:
            if not self._measuring and len(g) >= MEASURE_MIN:
                self._measuring = {t.id for t in g}
                out.extend([t] for t in g[:SINGLES])
                out.append(list(g[SINGLES:]))
            else:
                out.append(list(g))
        return out

    def observe(self, group: Sequence[TrialRecord], records: Sequence[TrialRecord],
                seconds: float) -> bool:
        """A group of the measured shape ran in ``seconds``; True when this decides."""
        if not self.measuring or not group or group[0].id not in self._measuring:
            return False
        units = sum(work_units(r) for r in records)
        if units == 0:  # failed at set-up: measure the next group instead
            self._measuring = set()
            self.singles, self.packed = [], None
            return False
        if len(group) == 1:
            self.singles.append(seconds / units)
        else:
            self.packed = seconds / units
        if self.packed is None or len(self.singles) < SINGLES:
            return False
        return self.decide(self.packed, self.singles, size=len(group))

    def final_line(self) -> str | None:
        """The summary's line: the decision, or that nothing could be measured."""
        if self.line is None and self.measuring:
            return (f"--pack auto: no {MEASURE_MIN} trials of one shape in a turn to measure; "
                    f"packed up to {self.k}")
        return self.line

    def decide(self, packed: float, singles: Sequence[float], *, size: int) -> bool:
        """Keep packing when a unit of work costs less packed than alone (the cheaper single)."""
        single = min(singles)
        speedup = single / packed if packed > 0 else float("inf")
        if packed < single:
            self.decision = "pack"
            self.line = (f"--pack auto: a pack of {size} ran {speedup:.2f}x as fast as single "
                         f"trials of its shape ({self.clock_name} per epoch): packing up to "
                         f"{self.k}")
        else:
            self.decision = "single"
            self.line = (f"--pack auto: a pack of {size} ran {speedup:.2f}x as fast as single "
                         f"trials of its shape ({self.clock_name} per epoch): running one trial "
                         f"at a time")
            self.k = 1
        return True

