"""``--pack K``: a worker claims up to K trials of the built-in trainer and trains those that
share a shape as one stacked model (:func:`hpsearch.trainer.packed.fit_packed`).

Sample first, then group: the next K proposals are claimed as the sampler makes them (packing
never changes what is sampled), grouped by :func:`~hpsearch.trainer.packed.pack_key`, and each
group of two or more trains as one pack; a trial alone in its group runs as it would without
``--pack`` (:func:`~hpsearch.run.trial.run_trial`). The claim loop is
:func:`hpsearch.run.loop.work`'s, for one trial or K: this module only says K, the groups,
and how a pack trains and is recorded. Each trial is recorded exactly as a
sequential one (steps, metrics, best epoch, device, pruning), with the note
"packed with trials 3, 5, 7".
"""

from __future__ import annotations

import logging
import time
import traceback
from typing import Any, Callable

from hpsearch.errors import ConfigError, HpsearchError, StorageError
from hpsearch.objectives import extract_value, json_safe
from hpsearch.run.trial import StepBuffer
from hpsearch.space import Space
from hpsearch.storage import Storage, StudyRecord, TrialRecord

log = logging.getLogger(__name__)

__all__ = ["pack_size", "pack_groups", "run_pack", "group_trials"]


def pack_size(space: Space, pack: int | None) -> int:
    """K for this run: ``--pack`` (``RunOptions.pack``), else ``[trainer] pack``, else 1.

    Raises :class:`ConfigError` (exit 2) for K < 1 and for K > 1 with an objective other than
    the built-in trainer.
    """
    k = pack if pack is not None else space.trainer.get("pack", 1)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"--pack: {k!r} must be an integer >= 1")
    kind = space.objective.get("kind", "builtin")
    if k > 1 and kind != "builtin":
        raise ConfigError(f"--pack {k}: packing trains the built-in trainer's models together; "
                          f"this study's objective is {kind!r} (run it without --pack)")
    return k


def group_trials(trials: list[TrialRecord]) -> list[list[TrialRecord]]:
    """The claimed trials grouped by shape, in claim order (a trial whose params do not check
    is a group of its own: it fails alone, as it would without packing)."""
    from hpsearch.trainer import TrialParams
    from hpsearch.trainer.packed import pack_key

    groups: dict[Any, list[TrialRecord]] = {}
    for t in trials:
        try:
            key: Any = pack_key(TrialParams.from_mapping(t.params))
        except ConfigError:
            key = ("alone", t.id)
        groups.setdefault(key, []).append(t)
    return list(groups.values())


def pack_groups(trials: list[TrialRecord], objective: Any) -> list[list[TrialRecord]]:
    """The claimed trials as the loop runs them: one group (of one trial, or of one shape,
    trained as a pack) at a time (:func:`group_trials`). fp16 needs a gradient scaler per
    trial: such trials run one by one."""
    if len(trials) < 2:
        return [list(trials)]
    if getattr(getattr(objective, "settings", None), "precision", "") == "fp16":
        return [[t] for t in trials]
    return group_trials(trials)


def run_pack(storage: Storage, study: StudyRecord, objective: Any, trials: list[TrialRecord],
             device: str | None, *, watch: Callable[[TrialRecord], Any] | None = None,
             on_step: Callable[[TrialRecord], Callable[[int, dict[str, Any]], None] | None]
             | None = None) -> list[TrialRecord]:
    """Train ``trials`` (one shape) as one pack with ``objective``'s settings and record each.

    ``watch(trial)`` gives the round pruner's watch of a trial (None: no pruning);
    ``on_step(trial)`` the callback of its reports (:func:`hpsearch.run.loop.step_events`). A setup
    error every trial would hit (:class:`HpsearchError`) is recorded on each, then raised.
    """
    import dataclasses

    from hpsearch.objectives.builtin import apply_threads
    from hpsearch.trainer import TrialParams
    from hpsearch.trainer.packed import fit_packed

    settings = objective.settings
    if device is not None and device != settings.device:
        settings = dataclasses.replace(settings, device=device)
    numbers = [t.number for t in trials]
    buffers = [StepBuffer() for _ in trials]
    watches = [watch(t) if watch is not None else None for t in trials]
    steps_to = [on_step(t) if on_step is not None else None for t in trials]

    def reporter(i: int) -> Callable[[int, dict[str, float]], bool]:
        def report(step: int, metrics: dict[str, float]) -> bool:
            stored = {str(k): json_safe(v) for k, v in metrics.items()}
            buffers[i].add(int(step), stored)
            if steps_to[i] is not None:
                steps_to[i](int(step), stored)
            w = watches[i]
            if w is not None and w.observe(step, metrics) and w.due():
                # Written before asking, as run_trial does: a peer asking later sees it.
                try:
                    batch = buffers[i].pending(final=True)
                    storage.add_steps(trials[i].id, batch)
                    buffers[i].written(batch)
                    w.decide()
                except StorageError as exc:
                    log.warning("trial %d: no pruning decision at step %d: %s",
                                trials[i].number, step, exc)
            return bool(w is not None and w.pruned)
        return report

    fatal: HpsearchError | None = None
    try:
        checked = [TrialParams.from_mapping(t.params) for t in trials]
        apply_threads(settings, checked[0])  # the trial's thread count, as the objective sets it
        results: list[Any] = fit_packed(checked, settings, seeds=[t.seed for t in trials],
                                        reports=[reporter(i) for i in range(len(trials))])
    except HpsearchError as exc:
        fatal, results = exc, [exc] * len(trials)
    except Exception as exc:  # noqa: BLE001 - a bug in packing fails these trials, not the study
        results = [RuntimeError(f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-6)}")
                   ] * len(trials)
    records = []
    for i, (trial, result) in enumerate(zip(trials, results)):
        others = ", ".join(str(n) for n in numbers if n != trial.number)
        note = f"packed with trial{'s' if len(numbers) > 2 else ''} {others}"
        fields: dict[str, Any] = {"value": None, "metrics": None, "error": None}
        if isinstance(result, Exception):
            state, fields["error"] = "failed", str(result)
        elif result.state == "pruned":
            state = "pruned"
            w = watches[i]
            if w is not None:
                out = w.outcome(buffers[i].steps, study.metric, maximize=study.maximize)
                note = f"{out.pop('note')}; {note}"
                fields.update(out)
            else:
                fields["pruned_step"] = result.pruned_step if hasattr(result, "pruned_step") \
                    else int(result.metrics.get("epochs_run", 0)) or None
                fields["metrics"] = result.metrics
        elif result.state == "complete":
            try:
                fields["value"], fields["metrics"] = extract_value(result.metrics, study.metric)
                state = "complete"
            except Exception as exc:  # noqa: BLE001 - TrialFailed: the metric is missing
                state, fields["error"] = "failed", str(exc)
                fields["metrics"] = {k: json_safe(v) for k, v in result.metrics.items()}
        else:
            state, fields["error"] = "failed", result.error or "failed"
            fields["metrics"] = {k: json_safe(v) for k, v in result.metrics.items()} or None
        used = None if isinstance(result, Exception) else result.device
        storage.finish(trial.id, state=state, steps=buffers[i].pending(final=True), device=used,
                       note=note, **fields)
        records.append(dataclasses.replace(
            trial, state=state, value=fields["value"], metrics=fields["metrics"],
            error=fields["error"], device=used or trial.device, finished_at=time.time()))
    if fatal is not None:
        raise fatal
    return records
