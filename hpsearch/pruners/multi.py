"""Pruning with several objectives: the MO-ASHA rule (Schmucker et al., 2021) as pure
functions of a round's stored steps.

At a rung, each competing trial brings a *vector*: for every objective, the value of its first
step at or past the rung that reports that metric (as :func:`~hpsearch.pruners.base.
value_at_or_after` does for one metric). The vectors are sorted into Pareto fronts
(:func:`hpsearch.pareto.front_ranks`) and ordered by front, then by crowding distance within
the front (the NSGA-II order: the ends of a front first). A trial is promoted when fewer than
``max(1, n // reduction_factor)`` vectors are strictly ahead of its own in that order (ties
promote, as the single-objective rule does). ``median`` is the same rule with a reduction
factor of 2 at every step after warm-up; ``hyperband`` is ASHA's rule in each bracket.

Objectives that are not reported per step (the built-in trainer's ``inference_ms`` and
``n_params`` come only with the final result) cannot be compared at a rung: the rung compares
the objectives the asking trial has reported by then, and peers lacking one of them are left
out. With none of them reported per step there is no decision (the trial goes on).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

from hpsearch.pareto import crowding_distance, front_ranks
from hpsearch.pruners.asha import AshaPruner
from hpsearch.pruners.base import Decision, Pruner, StepHistory
from hpsearch.pruners.hyperband import HyperbandPruner
from hpsearch.pruners.median import MedianPruner

__all__ = ["rung_number", "rung_vector", "mo_promoted", "rung_decision", "multi_decision", "StepMetrics",
           "MULTI_PRUNERS"]

#: A trial's stored steps: step -> {metric: value} (what ``trial_steps.metrics`` holds).
StepMetrics = Mapping[int, Mapping[str, object]]


def rung_number(v: object) -> float | None:
    """A reported value as a rung compares it: any real number as a float (numpy's too; an int
    past a double's range as an infinity, as the single-objective rules read it), NaN for a
    null (a NaN stored); None for anything else (text, a boolean: not compared)."""
    if v is None:
        return math.nan
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        return None
    try:
        return float(v)
    except OverflowError:  # an int (or a Fraction) past a double's range
        return math.inf if v > 0 else -math.inf  # type: ignore[operator]


def rung_vector(steps: StepMetrics, metrics: Sequence[str], rung: int) -> dict[str, float]:
    """The value of each metric the trial brought to ``rung`` (its first step at or past the
    rung that reports it, read by :func:`rung_number`); metrics it never reported there, or
    reported as something other than a number, are absent."""
    out: dict[str, float] = {}
    for m in metrics:
        later = [s for s in steps if s >= rung and m in steps[s]]
        if not later:
            continue
        v = rung_number(steps[min(later)][m])
        if v is not None:
            out[m] = v
    return out


def mo_promoted(own: Sequence[float], competing: Sequence[Sequence[float]],
                maximize: Sequence[bool], reduction_factor: int) -> tuple[bool, int, int]:
    """Whether ``own`` (one of ``competing``) is among the best ``k = max(1, n //
    reduction_factor)`` of the ``n`` vectors by front rank, then crowding distance; returns
    ``(promoted, own front rank, k)``."""
    n = len(competing)
    k = max(1, n // reduction_factor)
    ranks = front_ranks(competing, maximize)
    crowd = [0.0] * n
    for r in set(ranks):
        members = [i for i in range(n) if ranks[i] == r]
        for i, c in zip(members, crowding_distance([competing[i] for i in members], maximize)):
            crowd[i] = c
    me = next(i for i in range(n) if list(competing[i]) == list(own))
    ahead = sum(1 for i in range(n)
                if ranks[i] < ranks[me] or (ranks[i] == ranks[me] and crowd[i] > crowd[me]))
    return ahead < k, ranks[me], k


def rung_decision(trial: StepMetrics, peers: Mapping[int, StepMetrics], metrics: Sequence[str],
                  maximize: Sequence[bool], rung: int, reduction_factor: int
                  ) -> tuple[bool, str]:
    """``(prune, reason)`` for a trial at ``rung`` against the round's other trials (by
    number), from their stored steps."""
    own_values = rung_vector(trial, metrics, rung)
    used = [m for m in metrics if m in own_values]
    if not used:
        return False, f"no objective reported per step by step {rung}: no decision"
    if any(math.isnan(own_values[m]) for m in used):
        return True, f"an objective is NaN at step {rung}"
    up = [maximize[metrics.index(m)] for m in used]
    own = [own_values[m] for m in used]
    competing = [own]
    for steps in peers.values():
        v = rung_vector(steps, used, rung)
        if len(v) == len(used) and not any(math.isnan(x) for x in v.values()):
            competing.append([v[m] for m in used])
    ok, rank, k = mo_promoted(own, competing, up, reduction_factor)
    reason = (f"({', '.join(used)}) at step {rung} is on front {rank + 1}: "
              f"{'' if ok else 'not '}in the best {k} of {len(competing)}")
    return (not ok), reason


#: The pruners that decide on vectors when a study has several objectives.
MULTI_PRUNERS = ("median", "asha", "hyperband")


def reported_steps(number: int, steps: StepMetrics) -> StepHistory:
    """The trial as the single-objective rules' ``due`` reads it: the steps that report an
    objective (their values are not read)."""
    return StepHistory(number, "running", {s: 0.0 for s in steps})


def multi_decision(pruner: Pruner, number: int, trial: StepMetrics,
                   peers: Mapping[int, tuple[str, StepMetrics]], metrics: Sequence[str],
                   maximize: Sequence[bool]) -> Decision:
    """The decision of ``pruner`` (median, asha or hyperband) for trial ``number`` at its latest
    step, on the vectors of ``metrics``: the rungs (asha), bracket (hyperband), start-up,
    warm-up and interval (median) are the single-objective rule's; the comparison at the step
    is :func:`rung_decision`. ``peers``: the round's other trials by number, ``(state, steps)``
    (:meth:`hpsearch.storage.Storage.round_step_metrics`). ``value = "best"`` does not apply:
    the vectors are the values at the step."""
    history = reported_steps(number, trial)
    if isinstance(pruner, HyperbandPruner):
        b = pruner.bracket(number)
        same = {n: p for n, p in peers.items() if pruner.bracket(n) == b}
        d = multi_decision(pruner.brackets[b], number, trial, same, metrics, maximize)
        return Decision(d.prune, f"bracket {b}: {d.reason}") if d.reason else d
    if isinstance(pruner, AshaPruner):
        reason = ""
        others = {n: steps for n, (_, steps) in peers.items()}
        for k, rung in pruner.new_rungs(history):
            prune, why = rung_decision(trial, others, metrics, maximize, rung,
                                       pruner.reduction_factor)
            reason = f"rung {k}: {why}"
            if prune:
                return Decision(True, reason)
        return Decision(False, reason)
    if isinstance(pruner, MedianPruner):
        s = pruner.settings
        complete = {n: steps for n, (state, steps) in peers.items() if state == "complete"}
        if not complete or len(complete) < s.n_startup_trials:
            return Decision(False, f"startup: {len(complete)} of {s.n_startup_trials} complete "
                                   f"trials")
        if not pruner.due(history):
            return Decision(False)
        step = max(trial)
        reached = sum(1 for steps in complete.values() if any(t >= step for t in steps))
        if reached < s.n_min_trials:
            return Decision(False, f"{reached} complete trial{'s' if reached != 1 else ''} "
                                   f"reached step {step}")
        prune, why = rung_decision(trial, complete, metrics, maximize, step, 2)
        return Decision(prune, why)
    raise ValueError(f"the {pruner.name} pruner has no rule for several objectives")
