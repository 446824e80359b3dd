"""What the samplers and pruners read of a round: its finished and running trials (for a model
sampler, inside the claim's transaction) and its stored step curves (for a pruner)."""

from __future__ import annotations

import math
from typing import Any, Sequence

from sqlalchemy import select

from hpsearch.storage.base import StorageBase, storage_errors
from hpsearch.storage.records import RoundHistory, StepSeries
from hpsearch.storage.tables import STEP, TRIAL
from hpsearch.storage.writes import CoreWrites

__all__ = ["HistoryQueries"]

def _as_float(v: Any) -> float | None:
    """A stored metric as a pruner reads it: NaN for null, None (step left out) for text."""
    if v is None:
        return math.nan
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


class HistoryQueries(StorageBase):
    """What samplers and pruners read of a round: its history (read again inside
    :meth:`claim` for the proposal itself) and its step curves."""

    @storage_errors
    def round_history(self, study_id: int, round_number: int) -> RoundHistory:
        """The round's finished trials and the params of its running ones, as they stand now
        (no lock: a model sampler prepares its fit with it before the claim)."""
        hot = self._sqlite_hot_path()
        if hot is not None:
            return hot.history(study_id, round_number)
        with self.engine.connect() as conn:
            return CoreWrites(conn).history(study_id, round_number)

    @storage_errors
    def round_steps(
        self, study_id: int, round_number: int, metric: str, *, exclude_trial_id: int | None,
        states: Sequence[str] | None = None,
    ) -> dict[int, StepSeries]:
        """The stored curves of ``metric`` of the round's trials, by trial number: each a
        :class:`StepSeries` (number, state, ``{step: value}``). A null value is NaN; a step
        without the metric (or with text in it) is left out, and so is a trial without any.
        ``exclude_trial_id`` leaves out the asking trial, ``states`` limits the trials read.
        """
        stmt = (select(TRIAL.c.id, TRIAL.c.number, TRIAL.c.state, STEP.c.step, STEP.c.metrics)
                .join(STEP, STEP.c.trial_id == TRIAL.c.id)
                .where(TRIAL.c.study_id == study_id, TRIAL.c.round == round_number))
        if exclude_trial_id is not None:
            stmt = stmt.where(TRIAL.c.id != exclude_trial_id)
        if states is not None:
            stmt = stmt.where(TRIAL.c.state.in_(list(states)))
        out: dict[int, StepSeries] = {}
        with self.engine.connect() as conn:
            for _tid, number, state, step, metrics in conn.execute(stmt.order_by(TRIAL.c.number, STEP.c.step)):
                series = out.get(number)
                if series is None:
                    series = out[number] = StepSeries(number=number, state=state, values={})
                if not isinstance(metrics, dict) or metric not in metrics:
                    continue
                value = _as_float(metrics[metric])
                if value is not None:
                    series.values[step] = value
        return {n: s for n, s in out.items() if s.values}

    @storage_errors
    def round_step_metrics(
        self, study_id: int, round_number: int, metrics: Sequence[str], *,
        exclude_trial_id: int | None, states: Sequence[str] | None = None,
    ) -> dict[int, tuple[str, dict[int, dict[str, Any]]]]:
        """The stored steps of the round's trials restricted to ``metrics`` (a pruner with
        several objectives), by trial number: ``(state, {step: {metric: value}})``. A step
        holding none of ``metrics`` is left out, and so is a trial without any such step;
        values are as stored (null for a non-finite one). ``exclude_trial_id`` and ``states``
        as in :meth:`round_steps`."""
        stmt = (select(TRIAL.c.number, TRIAL.c.state, STEP.c.step, STEP.c.metrics)
                .join(STEP, STEP.c.trial_id == TRIAL.c.id)
                .where(TRIAL.c.study_id == study_id, TRIAL.c.round == round_number))
        if exclude_trial_id is not None:
            stmt = stmt.where(TRIAL.c.id != exclude_trial_id)
        if states is not None:
            stmt = stmt.where(TRIAL.c.state.in_(list(states)))
        out: dict[int, tuple[str, dict[int, dict[str, Any]]]] = {}
        wanted = set(metrics)
        with self.engine.connect() as conn:
            for number, state, step, stored in conn.execute(
                    stmt.order_by(TRIAL.c.number, STEP.c.step)):
                if not isinstance(stored, dict):
                    continue
                kept = {k: v for k, v in stored.items() if k in wanted}
                if kept:
                    out.setdefault(number, (state, {}))[1][step] = kept
        return out
