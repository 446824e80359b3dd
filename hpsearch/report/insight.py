"""Parameter importance of a stored study: :func:`study_importance` (``report
--importance``: :func:`~hpsearch.report.importance.param_importance` fed from an even subsample
of the completed trials, read in one streamed query) and :func:`column_order` (the terminal
table's choice of parameter columns: a histogram distance that needs no optuna)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hpsearch.errors import StudyError

if TYPE_CHECKING:
    from hpsearch.storage import Storage, StudyRecord

__all__ = ["study_importance", "column_order", "MIN_TRIALS", "MAX_TRIALS"]

#: Fewer completed trials than this say nothing about importance (PED-ANOVA compares the top
#: 10 % with the rest: with 10 trials, that is one trial).
MIN_TRIALS = 10
#: At most about this many trials are read (every k-th by number): the quantile statistics are
#: stable well below it, and a 100,000-trial study answers in a fraction of a second.
MAX_TRIALS = 2000


def study_importance(storage: Storage, study: StudyRecord, *, round_: int | None = None,
                     max_trials: int = MAX_TRIALS) -> list[tuple[str, float]]:
    """``(name, share)`` of each searchable parameter, most important first (shares sum to 1).

    Raises
    ------
    StudyError
        Fewer than :data:`MIN_TRIALS` completed trials.
    ConfigError
        optuna is not installed (from :func:`param_importance`).
    """
    from hpsearch.report.importance import param_importance
    from hpsearch.space import Space

    n = storage.count_trials(study, round_=round_, states=["complete"])
    if n < MIN_TRIALS:
        raise StudyError(
            f"study {study.name!r} has {n} completed trial{'' if n == 1 else 's'}"
            f"{'' if round_ is None else f' in round {round_}'}: parameter importance needs at "
            f"least {MIN_TRIALS}")
    every = max(1, math.ceil(n / max_trials)) if n > max_trials else None
    pairs = [(t.params, t.value) for t in storage.iter_trials(
        study, round_=round_, states=["complete"], every=every)]
    space = Space.from_dict(study.space, source=study.source or "<stored>")
    return param_importance(space, pairs, direction=study.direction, max_trials=None)


def column_order(storage: Storage, study: StudyRecord, *, round_: int | None = None,
                 max_trials: int = MAX_TRIALS, bins: int = 8) -> list[str]:
    """Searchable parameters, the most telling first, for the terminal table's columns: a
    cheap cousin of PED-ANOVA (no optuna import, which alone costs a second and 90 MB): for
    each parameter, how far the histogram of the top 10 % of trials (in the parameter's unit
    coordinates, inactive as a bin of its own) is from that of all trials (total variation).
    Empty when there are fewer than :data:`MIN_TRIALS` completed trials."""
    from hpsearch.space import Space

    n = storage.count_trials(study, round_=round_, states=["complete"])
    if n < MIN_TRIALS:
        return []
    every = max(1, math.ceil(n / max_trials)) if n > max_trials else None
    done = [(t.params, t.value) for t in storage.iter_trials(
        study, round_=round_, states=["complete"], every=every) if t.value is not None]
    space = Space.from_dict(study.space, source=study.source or "<stored>")
    done.sort(key=lambda pv: -pv[1] if study.maximize else pv[1])
    top = done[: max(2, len(done) // 10)]
    scores = {}
    for p in space.params.values():
        if not p.searchable:
            continue

        def hist(rows: list, p=p) -> list[float]:
            counts = [0] * (bins + 1)
            for params, _ in rows:
                try:
                    u = p.to_unit(params[p.name]) if p.name in params else None
                except Exception:  # a value outside an edited space: counted as inactive
                    u = None
                counts[bins if u is None else min(bins - 1, max(0, int(u * bins)))] += 1
            return [c / max(1, len(rows)) for c in counts]

        scores[p.name] = 0.5 * sum(abs(a - b) for a, b in zip(hist(top), hist(done)))
    order = list(scores)
    return sorted(order, key=lambda name: (-scores[name], order.index(name)))
