"""What the HTML page is drawn from: :class:`StudyData`, its loader, and the shared helpers of
the page's figures (parameter axes on their own scale, subsampling that keeps the best trials).

The page never reads storage itself: :func:`load_study_data` does, through the public
:class:`~hpsearch.storage.Storage` API, and anything else (a test, the benchmark) may build a
:class:`StudyData` from plain records.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any, Sequence

from hpsearch.storage import RoundRecord, StudyRecord, TrialRecord

__all__ = ["StudyData", "load_study_data", "ParamAxis", "param_axes", "subsample", "log_ticks"]

Steps = list[tuple[int, dict[str, Any]]]


@dataclass
class StudyData:
    """One study as the page needs it.

    ``trials``: the study's trials in any order (all of them, or the loader's capped set: then
    ``n_trials`` says how many the study holds). ``curves``: stored steps by trial number, for
    the learning curves (the loader fetches the best trials' and the pruned ones'; a trial's own
    ``steps`` are used too). ``space``: the study's file space (an ``hpsearch.space.Space``;
    None: built from ``study.space``). ``counts``: trials by state (None: counted from
    ``trials``). ``importance``: (name, importance) pairs, most important first (None: computed
    by the page builder).
    """

    study: StudyRecord
    rounds: list[RoundRecord]
    trials: list[TrialRecord]
    space: Any = None
    curves: dict[int, Steps] = field(default_factory=dict)
    counts: dict[str, int] | None = None
    n_trials: int | None = None
    importance: list[tuple[str, float]] | None = None

    def __post_init__(self) -> None:
        if self.space is None:
            from hpsearch.space import Space

            self.space = Space.from_dict(self.study.space, source=self.study.source or "<stored>")
        if self.counts is None:
            counts: dict[str, int] = {}
            for t in self.trials:
                counts[t.state] = counts.get(t.state, 0) + 1
            self.counts = counts
        if self.n_trials is None:
            self.n_trials = sum(self.counts.values())
        for t in self.trials:
            if t.steps and t.number not in self.curves:
                self.curves[t.number] = list(t.steps)

    def completed(self) -> list[TrialRecord]:
        """Complete trials with a finite value, by number."""
        done = [t for t in self.trials if t.state == "complete" and _finite(t.value)]
        return sorted(done, key=lambda t: t.number)

    def ranked(self) -> list[TrialRecord]:
        """Complete trials, best first (ties by number)."""
        sign = -1.0 if self.study.maximize else 1.0
        return sorted(self.completed(), key=lambda t: (sign * t.value, t.number))


def load_study_data(storage: Any, name: str, *, max_points: int | None = None,
                    curves: int = 8, pruned_curves: int = 40) -> StudyData:
    """Read study ``name`` from ``storage`` (a :class:`~hpsearch.storage.Storage`).

    ``max_points``: keep at most this many trials (the best quarter of them, the rest an even,
    seeded sample of the others; None: all). ``curves``: how many of the best trials' stored
    steps to fetch; ``pruned_curves``: how many pruned trials' steps (the latest ones).
    Raises :class:`~hpsearch.errors.StudyError` for an unknown study (from the storage).
    """
    study = storage.get_study(name)
    rounds = storage.rounds(study.id)
    counts = storage.counts(study)
    trials = storage.trials(study, best_first=False)
    n_trials = len(trials)
    if max_points is not None and len(trials) > max_points:
        trials = subsample(trials, max_points, maximize=study.maximize)
    data = StudyData(study=study, rounds=rounds, trials=trials, counts=counts, n_trials=n_trials)
    wanted = [t.number for t in data.ranked()[:curves]]
    pruned = sorted((t.number for t in trials if t.state == "pruned"), reverse=True)
    for number in wanted + pruned[:pruned_curves]:
        steps = storage.trial(study, number).steps
        if steps:
            data.curves[number] = list(steps)
    return data


def subsample(trials: Sequence[TrialRecord], limit: int, *, maximize: bool,
              seed: int = 0) -> list[TrialRecord]:
    """At most ``limit`` trials: the best ``limit // 4`` with a value, and a seeded random
    sample of the others (so the cloud keeps its shape and the best region stays sharp)."""
    if len(trials) <= limit:
        return list(trials)
    sign = -1.0 if maximize else 1.0
    valued = sorted((t for t in trials if _finite(t.value)), key=lambda t: (sign * t.value, t.number))
    keep = valued[: limit // 4]
    kept = {id(t) for t in keep}
    rest = [t for t in trials if id(t) not in kept]
    keep += random.Random(seed).sample(rest, limit - len(keep))
    return sorted(keep, key=lambda t: t.number)


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


# ---------------------------------------------------------------------------- parameter axes
@dataclass
class ParamAxis:
    """How one parameter is drawn: ``position(value)`` on a linear axis (log10 of the value for
    log parameters, log10 of 1-x for ``log_one_minus``, the index for a choice) and the axis
    settings (title, tick values and their labels in the parameter's own units)."""

    name: str
    kind: str
    title: str
    labels: list[str] | None = None   # choices
    log: bool = False
    one_minus: bool = False
    low: float | None = None
    high: float | None = None

    def position(self, value: Any) -> float | None:
        if self.labels is not None:
            text = _label(value)
            return float(self.labels.index(text)) if text in self.labels else None
        if not _finite(value):
            return None
        x = 1.0 - value if self.one_minus else float(value)
        if self.log:
            return math.log10(x) if x > 0 else None
        return x

    def axis(self) -> dict[str, Any]:
        """A plotly axis dict (title, ticks) for positions on this scale."""
        ax: dict[str, Any] = {"title": {"text": self.title}, "zeroline": False}
        if self.labels is not None:
            ax.update(tickvals=list(range(len(self.labels))), ticktext=self.labels,
                      range=[-0.5, len(self.labels) - 0.5])
        elif self.log and self.low is not None and self.high is not None:
            lo, hi = sorted((1 - self.low, 1 - self.high) if self.one_minus else (self.low, self.high))
            vals, texts = log_ticks(lo, hi)
            ax.update(tickvals=[math.log10(v) for v in vals], ticktext=texts)
            pad = 0.03 * (math.log10(hi) - math.log10(lo))
            ax["range"] = [math.log10(lo) - pad, math.log10(hi) + pad]
        return ax

    def span(self, low: Any, high: Any) -> tuple[float, float] | None:
        """Positions of a round's bounds (for drawing its box); None for choices."""
        if self.labels is not None:
            return None
        a, b = self.position(low), self.position(high)
        return None if a is None or b is None else (min(a, b), max(a, b))


def param_axes(space: Any, trials: Sequence[TrialRecord] = ()) -> list[ParamAxis]:
    """One :class:`ParamAxis` per searchable parameter of ``space``, in the space's order."""
    out = []
    for p in space.params.values():
        if not p.searchable:
            continue
        if p.kind == "choice":
            labels = [_label(v) for v in p.values]
            for t in trials:  # values of an edited space stay visible
                if p.name in t.params and _label(t.params[p.name]) not in labels:
                    labels.append(_label(t.params[p.name]))
            out.append(ParamAxis(p.name, p.kind, p.name, labels=labels))
            continue
        one_minus = p.kind == "log_one_minus"
        log = one_minus or p.kind == "log_uniform" or bool(getattr(p, "log", False))
        title = f"1 - {p.name} (log)" if one_minus else f"{p.name} (log)" if log else p.name
        out.append(ParamAxis(p.name, p.kind, title, log=log, one_minus=one_minus,
                             low=p.low, high=p.high))
    return out


def _label(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def log_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Readable ticks for a log axis over [lo, hi]: the decades, with 2x and 5x when fewer
    than three decades fall inside, and the bounds themselves when that is still too few."""
    if not (lo > 0 and hi > lo):
        return [], []
    k0, k1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    eps = 1e-9
    decades = [10.0 ** k for k in range(k0, k1 + 1) if lo * (1 - eps) <= 10.0 ** k <= hi * (1 + eps)]
    vals = decades
    if len(decades) < 3:
        vals = [m * 10.0 ** k for k in range(k0, k1 + 1) for m in (1, 2, 5)
                if lo * (1 - eps) <= m * 10.0 ** k <= hi * (1 + eps)]
    if len(vals) < 2:
        vals = sorted({lo, hi, *vals})
    step = max(1, math.ceil(len(vals) / 8))  # at most ~8 labels: they must not collide
    vals = vals[::step]
    return vals, [_tick_text(v) for v in vals]


def _tick_text(v: float) -> str:
    if 1e-3 <= abs(v) < 1e5:
        return f"{v:.4g}"
    return f"{v:.0e}".replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")
