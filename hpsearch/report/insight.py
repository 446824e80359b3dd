"""Parameter importance of a stored study: :func:`study_importance` (``report
--importance``: :func:`~hpsearch.report.importance.param_importance` fed from an even subsample
of the completed trials, read in one streamed query) and :func:`column_order` (the terminal
table's choice of parameter columns: a histogram distance that needs no optuna)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hpsearch.errors import StudyError

if TYPE_CHECKING:
    from hpsearch.storage import Storage, StudyRecord

__all__ = ["study_importance", "importance_of", "StudyImportance", "column_order", "MIN_TRIALS",
           "MAX_TRIALS", "TOP_FRACTION", "STEADY_TOP"]

#: Fewer completed trials than this say nothing about importance (PED-ANOVA compares the top
#: 10 % with the rest: with 10 trials, that is one trial).
MIN_TRIALS = 10
#: At most about this many trials are read (every k-th by number): the quantile statistics are
#: stable well below it, and a 100,000-trial study answers in a fraction of a second.
MAX_TRIALS = 2000
#: PED-ANOVA's top quantile (what sets the top 10 % apart).
TOP_FRACTION = 0.1
#: With fewer trials than this in the top 10 % (under 100 completed), the shares rest on a
#: handful of trials: the report says so beside them.
STEADY_TOP = 10


@dataclass(frozen=True)
class StudyImportance:
    """``shares``: ``(name, share)`` of each searchable parameter, most important first (summing
    to 1); ``n_trials`` completed trials, ``n_top`` of them the top 10 % the shares describe;
    ``caution``: a sentence when ``n_top`` is too small for the shares to be more than a
    rough guess (None otherwise)."""

    shares: list[tuple[str, float]]
    n_trials: int
    n_top: int
    caution: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"completed_trials": self.n_trials, "top_trials": self.n_top,
                "caution": self.caution,
                "importance": [{"name": n, "share": s} for n, s in self.shares]}


def _caution(n: int, top: int) -> str | None:
    if top >= STEADY_TOP:
        return None
    return (f"the top 10 % of {n} completed trials is {top} trial{'' if top == 1 else 's'}: "
            f"these shares are a rough guess (a few more trials may reorder them; "
            f"{math.ceil(STEADY_TOP / TOP_FRACTION)} or more give a steadier answer)")


def study_importance(storage: Storage, study: StudyRecord, *, round_: int | None = None,
                     max_trials: int = MAX_TRIALS) -> list[tuple[str, float]]:
    """``(name, share)`` of each searchable parameter, most important first (shares sum to 1):
    the shares of :func:`importance_of`."""
    return importance_of(storage, study, round_=round_, max_trials=max_trials).shares


def importance_of(storage: Storage, study: StudyRecord, *, round_: int | None = None,
                  max_trials: int = MAX_TRIALS) -> StudyImportance:
    """The importance of each searchable parameter (PED-ANOVA over the completed trials, an
    even subsample of at most ``max_trials``), with how many trials it rests on.

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
    shares = param_importance(space, pairs, direction=study.direction, max_trials=None,
                              target_quantile=TOP_FRACTION)
    top = max(1, math.ceil(TOP_FRACTION * n))
    return StudyImportance(shares, n, top, _caution(n, top))


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
