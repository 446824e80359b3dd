"""What a round remembers: earlier trials for its model, finished grid points, warm starts.

:func:`round_memory` reads what a round may learn from and must not repeat, and
:func:`remembering_sampler` wraps the round's sampler with it (:mod:`hpsearch.samplers.history`):

- a *file round* (round 1, or a round made by ``run --evolve``) with a model sampler learns from
  the trials of the studies its ``[study] warm_start`` names, and an evolved round from every
  earlier trial of its own study, each mapped into the round's space by
  :func:`hpsearch.space.carry.carry_over` (out-of-space and incomparable trials left out);
- round 1 with ``[study] warm_start_top = K`` runs the K best of those warm trials first;
- a grid round after round 1 leaves out the points finished (complete or pruned) before the
  round was created, so an evolved or refined grid never re-runs one;
- a random or Sobol round on a space where a repeat can happen (no always-active continuous
  parameter) redraws a configuration the round already has (finished or running).

Refined rounds keep learning from their own trials only, as before. Everything here is read
when a worker starts, and is the same for every worker of the round as long as earlier rounds
have no trial still running.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

from hpsearch.errors import StudyError
from hpsearch.objectives import objective_class
from hpsearch.samplers.history import (
    Deduplicated, FirstConfigs, GridWithout, WithPrior, config_key, has_discrete,
)
from hpsearch.samplers.model import Finished
from hpsearch.space import Space
from hpsearch.space.carry import Carried, EarlierTrial, carry_over
from hpsearch.storage import RoundRecord, Storage, StudyRecord

__all__ = ["RoundMemory", "round_memory", "remembering_sampler", "is_file_round",
           "check_warm_start", "MODEL_SAMPLERS"]

log = logging.getLogger(__name__)

#: The samplers that learn from history (the others ignore carried trials).
MODEL_SAMPLERS = ("tpe", "gp", "cmaes", "auto")


def is_file_round(round_: RoundRecord) -> bool:
    """Round 1 or an evolved round: its space is a space file's (not refine's)."""
    return round_.number == 1 or (round_.rule or {}).get("kind") == "evolve"


@dataclass
class RoundMemory:
    """What a round carries: ``earlier`` (its study's earlier rounds, evolved rounds only),
    ``warm`` (the warm-start studies), ``first`` (warm start's best configurations, run first)
    and ``done`` (configurations finished before the round, which a grid skips)."""

    earlier: Carried | None = None
    warm: Carried | None = None
    first: list[dict[str, Any]] = field(default_factory=list)
    done: list[dict[str, Any]] = field(default_factory=list)

    @property
    def prior(self) -> list[Finished]:
        out = []
        for carried in (self.earlier, self.warm):
            if carried is not None:
                out += [Finished(params=p, value=v, state=s) for p, v, s in carried.trials]
        return out

    def describe(self, sampler: str) -> list[str]:
        """Lines for the run's start: what the model learns from, what runs first."""
        lines = []
        model = sampler in MODEL_SAMPLERS
        if self.earlier is not None:
            lines.append(f"the model learns from {self.earlier.describe(' of this study')}"
                         if model else f"{sampler} does not learn from earlier trials "
                         f"({self.earlier.used} would fit the new space)")
        if self.done:
            lines.append(f"grid: points finished in earlier rounds are not run again "
                         f"({len(self.done)} finished trials)")
        if self.warm is not None and model:
            lines.append(f"warm start: the model learns from "
                         f"{self.warm.describe(' of the warm-start studies')}")
        if self.first:
            lines.append(f"warm start: the first {len(self.first)} trials run the best "
                         f"configurations of the warm-start studies again")
        return lines


def _trials_with_spaces(storage: Storage, study: StudyRecord, *, before_round: int | None,
                        origin: str) -> list[EarlierTrial]:
    spaces = {r.number: Space.from_dict(r.space, source=study.source or "<stored>")
              for r in storage.rounds(study.id)}
    out = []
    for t in storage.trials(study, states=["complete", "pruned"], best_first=False):
        if before_round is not None and t.round >= before_round:
            continue
        out.append(EarlierTrial(params=t.params, value=t.value, state=t.state,
                                space=spaces[t.round], number=t.number, origin=origin))
    return out


def check_warm_start(storage: Storage, names: list[str], *, metric: str, direction: str,
                     study_name: str) -> list[StudyRecord]:
    """The warm-start studies, checked: they exist, are not the study itself, and measure the
    same metric in the same direction (:class:`StudyError` otherwise: exit 3)."""
    out = []
    for name in names:
        if name == study_name:
            raise StudyError(f"warm start: study {name!r} cannot warm-start itself")
        other = storage.find_study(name)
        if other is None:
            known = ", ".join(storage.study_names()) or "none"
            raise StudyError(f"warm start: no study {name!r} in this database (studies: {known})")
        if other.metric != metric or other.direction != direction:
            raise StudyError(
                f"warm start: study {name!r} measures {other.metric} ({other.direction}), "
                f"this study {metric} ({direction}): its values would mean something else")
        out.append(other)
    return out


def round_memory(storage: Storage, study: StudyRecord, round_: RoundRecord, space: Space,
                 sampler: str) -> RoundMemory:
    """What ``round_`` (sampled from ``space`` by ``sampler``) carries; see the module
    docstring."""
    memory = RoundMemory()
    model = sampler in MODEL_SAMPLERS
    defaults = objective_class(space).param_defaults(space)
    if round_.number > 1 and (round_.rule or {}).get("kind") == "evolve":
        memory.earlier = carry_over(
            _trials_with_spaces(storage, study, before_round=round_.number, origin="study"),
            space, defaults)
    if is_file_round(round_) and space.study.warm_start and (
            model or space.study.warm_start_top):
        others = check_warm_start(storage, list(space.study.warm_start),
                                  metric=study.metric, direction=study.direction,
                                  study_name=study.name)
        warm: list[EarlierTrial] = []
        for other in others:
            warm += _trials_with_spaces(storage, other, before_round=None, origin=other.name)
        memory.warm = carry_over(warm, space, defaults)
        if round_.number == 1 and space.study.warm_start_top:
            memory.first = _best(memory.warm, space.study.warm_start_top,
                                 maximize=study.maximize)
    if sampler == "grid" and round_.number > 1:
        memory.done = [t.params for t in storage.trials(study, states=["complete", "pruned"],
                                                       best_first=False)
                       if t.round < round_.number and t.finished_at is not None
                       and t.finished_at <= round_.created_at]
    return memory


def _best(carried: Carried, k: int, *, maximize: bool) -> list[dict[str, Any]]:
    """The ``k`` best distinct completed configurations of ``carried``."""
    complete = [(p, v) for p, v, s in carried.trials
                if s == "complete" and v is not None and math.isfinite(v)]
    complete.sort(key=lambda pv: -pv[1] if maximize else pv[1])  # stable: earlier first
    out, seen = [], set()
    for params, _ in complete:
        key = config_key(params)
        if key not in seen:
            seen.add(key)
            out.append(params)
        if len(out) == k:
            break
    return out


def remembering_sampler(smp: Any, memory: RoundMemory) -> Any:
    """``smp`` wrapped with what ``memory`` holds (see :mod:`hpsearch.samplers.history`)."""
    if smp.uses_history:
        prior = memory.prior
        if prior:
            smp = WithPrior(smp, prior)
    elif smp.name == "grid":
        if memory.done:
            smp = GridWithout(smp, memory.done)
    elif smp.name in ("random", "sobol") and has_discrete(smp.space):
        smp = Deduplicated(smp)
    if memory.first:
        smp = FirstConfigs(smp, memory.first)
    return smp
