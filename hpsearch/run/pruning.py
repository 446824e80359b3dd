"""The pruner as the run loop uses it: one per round, asked after each reported step.

What the loop does per reported step (docs/pruning.md)::

    watch = round_pruner.watch(trial)          # one per trial
    if watch.observe(step, metrics):           # the step carries the pruner's metric
        # the step is written to the database first, so a peer asking later sees it
        if watch.due():                        # cheap, no query (median: warm-up, interval;
            peers = storage.round_steps(...)   #  asha: a new rung reached)
            watch.decide(peers)                # sticky: once pruned, every later report says so

With several objectives (and no ``[pruner] metric`` naming one), the watch follows every
objective and the decision compares vectors (:func:`hpsearch.pruners.multi.multi_decision`,
MO-ASHA's non-dominated sorting) read with :meth:`Storage.round_step_metrics`.

The decision reads the database only (the round's stored steps), so it is the same in every
worker and process. A pruned trial is recorded as ``pruned`` with :meth:`TrialWatch.outcome`:
its best value so far of the *study's* metric, the step where it stopped and the pruner's reason.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any, Mapping

from hpsearch.objectives import objective_class
from hpsearch.pruners import (Decision, Pruner, PrunerSettings, StepHistory, check_settings,
                              make_pruner)
from hpsearch.pruners.multi import MULTI_PRUNERS, multi_decision
from hpsearch.space import Space
from hpsearch.storage import Storage, StudyRecord, TrialRecord

log = logging.getLogger(__name__)

__all__ = ["RoundPruner", "TrialWatch", "pruner_settings", "check_pruner", "best_step"]


def pruner_settings(space: Space, name: str, metric: str, direction: str) -> PrunerSettings:
    """The ``[pruner]`` settings of ``space`` for pruner ``name``, with the study's ``metric``
    and ``direction`` filled in, and ``max_resource`` defaulting to the largest step the
    objective says a trial reports (:meth:`~hpsearch.objectives.Objective.default_max_resource`;
    Hyperband needs it, ASHA uses it to drop rungs a trial ends at anyway). Raises
    :class:`SpaceError` for settings the pruner cannot use (Hyperband with no ``max_resource``)."""
    settings = getattr(space, "pruner_settings", None) or PrunerSettings()
    settings = settings.resolve(metric, direction)
    if name in ("asha", "hyperband") and settings.max_resource is None:
        most = objective_class(space).default_max_resource(space)
        if most is not None and most >= settings.min_resource:
            settings = dataclasses.replace(settings, max_resource=most)
    return check_settings(settings, name, space.source)


def as_float(v: Any) -> float:
    """A reported value as the pruner reads it: NaN for null, text or a non-number."""
    if isinstance(v, bool) or v is None:
        return math.nan
    try:
        return float(v)
    except OverflowError:  # an int past a double's range: as large as a value can be
        return math.inf if v > 0 else -math.inf
    except (TypeError, ValueError):
        return math.nan


def round_pruner_name(space: Space, name: str | None = None) -> str:
    """The pruner a run uses: ``--pruner``, else ``[study] pruner``, else none."""
    return name or getattr(space.study, "pruner", None) or "none"


def check_pruner(space: Space, name: str | None = None) -> None:
    """Raise for pruner settings the run could not use, before anything is written."""
    name = round_pruner_name(space, name)
    make_pruner(name, pruner_settings(space, name, space.study.metric, space.study.direction))


class RoundPruner:
    """The pruner of a round: ``name`` (``--pruner``, else ``[study] pruner``, else none) with
    the space's ``[pruner]`` settings. ``active`` is false for ``none``: then the loop does
    not even watch the trials."""

    def __init__(self, storage: Storage, study: StudyRecord, space: Space,
                 name: str | None = None) -> None:
        self.storage = storage
        self.study = study
        self.name = round_pruner_name(space, name)
        self.settings = pruner_settings(space, self.name, study.metric, study.direction)
        self.pruner: Pruner = make_pruner(self.name, self.settings, seed=study.seed)
        self.active = self.name != "none"
        self.maximize = self.settings.maximize
        #: The objectives judged together (several objectives, no ``[pruner] metric``), or
        #: empty: one metric, ``pruner.metric``.
        self.objectives: tuple[str, ...] = ()
        self.objective_maximize: tuple[bool, ...] = ()
        objectives = getattr(space, "objectives", None)
        own = getattr(space, "pruner_settings", None)
        if (objectives is not None and objectives.multi and self.name in MULTI_PRUNERS
                and (own is None or own.metric is None)):
            self.objectives = tuple(objectives.metrics)
            self.objective_maximize = tuple(objectives.maximize)

    def watch(self, trial: TrialRecord) -> "TrialWatch | None":
        return TrialWatch(self, trial) if self.active else None


class TrialWatch:
    """One trial's curve of the pruner's metric and the decision taken on it (sticky)."""

    def __init__(self, owner: RoundPruner, trial: TrialRecord) -> None:
        self.owner = owner
        self.trial = trial
        self.curve: dict[int, float] = {}
        #: Several objectives: step -> {objective: value} of the steps that report one.
        self.vectors: dict[int, dict[str, Any]] = {}
        self.decision: Decision | None = None
        self.step: int | None = None

    @property
    def pruned(self) -> bool:
        return self.decision is not None

    def observe(self, step: int, metrics: Mapping[str, Any]) -> bool:
        """Add a report; True when it holds the pruner's metric (with several objectives: one
        of them), so that a decision may follow."""
        if self.owner.objectives:
            held = {m: metrics[m] for m in self.owner.objectives if m in metrics}
            if not held:
                return False
            self.vectors[step] = held
            self.curve[step] = 0.0  # only its steps are read (due)
            return True
        metric = self.owner.pruner.metric
        if metric not in metrics:
            return False
        self.curve[step] = as_float(metrics[metric])
        return True

    def history(self) -> StepHistory:
        return StepHistory(self.trial.number, "running", dict(self.curve))

    def due(self) -> bool:
        return not self.pruned and self.owner.pruner.due(self.history())

    def decide(self) -> bool:
        """Ask the pruner with the round's stored steps (the trial's own are written already).
        True when the trial is to stop."""
        if self.pruned:
            return True
        o = self.owner
        if o.objectives:
            stored = o.storage.round_step_metrics(o.study.id, self.trial.round, o.objectives,
                                                  exclude_trial_id=self.trial.id,
                                                  states=o.pruner.peer_states)
            decision = multi_decision(o.pruner, self.trial.number, self.vectors, stored,
                                      o.objectives, o.objective_maximize)
        else:
            peers = o.storage.round_steps(o.study.id, self.trial.round, o.pruner.metric,
                                          exclude_trial_id=self.trial.id,
                                          states=o.pruner.peer_states)
            decision = o.pruner.should_prune(self.history(), peers, maximize=o.maximize)
        if decision.prune:
            self.decision = decision
            self.step = max(self.curve)
            log.info("trial %d pruned at step %d: %s", self.trial.number, self.step,
                     decision.reason)
        return decision.prune

    def outcome(self, steps: Mapping[int, Mapping[str, Any]], metric: str, *, maximize: bool,
                exc_step: int | None = None, exc_reason: str | None = None,
                exc_metrics: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """What a pruned trial is recorded with: value (best so far of the study's metric),
        metrics (of that step), pruned_step and note (the pruner's reason first)."""
        return pruned_outcome(steps, metric, maximize=maximize,
                              step=self.step if self.step is not None else exc_step,
                              reason=self.decision.reason if self.decision else exc_reason,
                              fallback=exc_metrics)


def best_step(steps: Mapping[int, Mapping[str, Any]], metric: str, *,
              maximize: bool) -> int | None:
    """The step with the best finite value of ``metric`` (the earliest of equals), or None."""
    best: tuple[int, float] | None = None
    for step in sorted(steps):
        v = as_float(steps[step].get(metric))
        if math.isfinite(v) and (best is None or (v > best[1] if maximize else v < best[1])):
            best = (step, v)
    return None if best is None else best[0]


def pruned_outcome(steps: Mapping[int, Mapping[str, Any]], metric: str, *, maximize: bool,
                   step: int | None, reason: str | None,
                   fallback: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The fields of :meth:`Storage.finish` for a pruned trial (also one that pruned itself by
    raising :class:`~hpsearch.pruners.Pruned` with no decision of ours). ``fallback``: the
    metrics the objective handed over (``Pruned.metrics``), used when no reported step holds
    the study's metric."""
    at = best_step(steps, metric, maximize=maximize)
    value = None if at is None else as_float(steps[at][metric])
    metrics = None if at is None else dict(steps[at])
    if at is None and fallback:
        from hpsearch.objectives import json_safe

        metrics = {str(k): json_safe(v) for k, v in fallback.items()}
        v = as_float(fallback.get(metric))
        value = v if math.isfinite(v) else None
    if step is None and steps:
        step = max(steps)
    return dict(value=value, metrics=metrics, pruned_step=step, note=reason or "pruned")
