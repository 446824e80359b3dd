"""Shared helpers: replay a curve step by step against a pruner, as the run loop would."""

from __future__ import annotations

from hpsearch.pruners import Pruner, StepHistory


def peers_of(curves: dict[int, tuple[str, dict[int, float]]], *, sign: float = 1.0):
    """``{number: StepHistory}`` from ``{number: (state, {step: value})}``; ``sign=-1`` turns
    an accuracy table into a loss table with the same order."""
    return {n: StepHistory(n, state, {s: sign * v for s, v in values.items()})
            for n, (state, values) in curves.items()}


def first_pruned_step(pruner: Pruner, number: int, curve: dict[int, float], peers, *,
                      maximize: bool, sign: float = 1.0) -> int | None:
    """Report the curve one step at a time; the step at which the trial is pruned, or None."""
    seen: dict[int, float] = {}
    for step in sorted(curve):
        seen[step] = sign * curve[step]
        trial = StepHistory(number, "running", dict(seen))
        if pruner.due(trial) and pruner.should_prune(trial, peers, maximize=maximize).prune:
            return step
    return None
