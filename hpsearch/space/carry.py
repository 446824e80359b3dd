"""Carry-over: earlier trials, ran in other spaces, as a model sampler of a new space sees them.

An evolved round (``run --evolve``) or a warm-started study (``run --warm-start``) lets its
model learn from trials that ran in another space. :func:`carry_over` maps each of them into
the new space, or leaves it out, by these rules (docs/evolve.md says the same for users):

kept as is
    A parameter in both spaces whose value the new space can take (inside the new range, one of
    the new choices, equal to a new fixed value).
left out: outside
    A value the new space cannot take (outside a narrowed range, a dropped choice, another
    fixed value): the trial lies outside the new space.
added parameter
    A parameter the old space did not have takes the value the old trial *effectively* ran
    with: the objective's documented default (the built-in trainer's defaults,
    :data:`hpsearch.trainer.params.PARAM_DEFAULTS`, or a ``[trainer]`` setting of the same
    name). It must be a value of the new space. Without a default the trial is left out
    ("unknown"): nobody knows what it ran with.
removed parameter (or one that is now inactive)
    Dropped when the trial stays *comparable*: the old space fixed the parameter (every old
    trial ran with that one value, so the model sees one consistent setting), or the value
    equals the objective's default (what the new trials run with now that it is not passed).
    Otherwise the trial is left out ("incomparable"): its value was earned with a setting the
    new trials never use.
conditions
    The mapped configuration must be one the new space could propose: a parameter the new
    space makes active needs a value (else "unknown"), an inactive one is dropped by the rule
    above.

Completed trials with a finite value and pruned trials carry over (failed ones say nothing
about the objective). The result is pure: the same trials and spaces give the same history,
in the order given.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from hpsearch.space.params import Fixed
from hpsearch.space.values import same_value

if TYPE_CHECKING:
    from hpsearch.space.model import Space

__all__ = ["EarlierTrial", "Carried", "carry_over", "CARRIED_STATES"]

#: The states of earlier trials a model can learn from.
CARRIED_STATES = ("complete", "pruned")


@dataclass(frozen=True)
class EarlierTrial:
    """A finished trial of an earlier round (or another study) and the space it ran in."""

    params: Mapping[str, Any]
    value: float | None
    state: str
    space: Space
    number: int | None = None
    origin: str = ""  # "round 1", "study other": for the report


@dataclass
class Carried:
    """The mapped trials (``params``, ``value``, ``state``, in the order given) and how many were
    left out, by reason (``outside``, ``unknown``, ``incomparable``)."""

    trials: list[tuple[dict[str, Any], float | None, str]] = field(default_factory=list)
    numbers: list[int | None] = field(default_factory=list)
    left_out: Counter = field(default_factory=Counter)

    @property
    def used(self) -> int:
        return len(self.trials)

    def describe(self, where: str = "") -> str:
        """``37 earlier trials{where} (5 outside the new space, 2 incomparable left out)``."""
        text = f"{self.used} earlier trial{'s' if self.used != 1 else ''}{where}"
        why = {"outside": "outside the new space", "unknown": "with an unknown value of a new "
               "parameter", "incomparable": "incomparable"}
        left = [f"{n} {why.get(k, k)}" for k, n in sorted(self.left_out.items()) if n]
        return text + (f" ({', '.join(left)} left out)" if left else "")


def carry_over(trials: Iterable[EarlierTrial], new: Space,
               defaults: Mapping[str, Any] | None = None) -> Carried:
    """Map ``trials`` into ``new`` (see the module docstring); ``defaults``: what the objective
    runs a parameter it is not given with (``Objective.param_defaults``; none known: {})."""
    defaults = {} if defaults is None else defaults
    out = Carried()
    for t in trials:
        if t.state not in CARRIED_STATES:
            continue
        if t.state == "complete" and (t.value is None or not math.isfinite(t.value)):
            continue
        mapped, why = _map(t, new, defaults)
        if mapped is None:
            out.left_out[why] += 1
            continue
        out.trials.append((mapped, t.value, t.state))
        out.numbers.append(t.number)
    return out


def _map(t: EarlierTrial, new: Space, defaults: Mapping[str, Any]
         ) -> tuple[dict[str, Any] | None, str]:
    old = t.space
    config: dict[str, Any] = {}
    for name, param in new.params.items():
        if name in t.params:
            value = t.params[name]
        else:  # a new parameter, or one inactive in the old trial: it ran with the default
            value = defaults.get(name)
        if not new.is_active(name, config):
            if value is not None and name in t.params and not _droppable(name, value, old,
                                                                         defaults):
                return None, "incomparable"
            continue
        if value is None:
            return None, "unknown"
        if not param.contains(value):
            return None, "outside"
        config[name] = param.value if isinstance(param, Fixed) else value
    for name, value in t.params.items():
        if name not in new.params and not _droppable(name, value, old, defaults):
            return None, "incomparable"
    return config, ""


def _droppable(name: str, value: Any, old: Space, defaults: Mapping[str, Any]) -> bool:
    """Whether a parameter the new trials will not be given may be dropped from an old one."""
    if isinstance(old.params.get(name), Fixed):
        return True
    return name in defaults and same_value(defaults[name], value)
