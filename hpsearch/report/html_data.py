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
from collections import deque
from typing import Any, Iterable, Sequence, TypeGuard, cast

from hpsearch.ranking import rank, tie_breaker
from hpsearch.storage import RoundRecord, StudyRecord, TrialRecord

__all__ = ["StudyData", "StudyStats", "RoundStats", "load_study_data", "ParamAxis", "param_axes",
           "subsample", "log_ticks", "STAT_FIELDS"]

Steps = list[tuple[int, dict[str, Any]]]

#: The trial columns :meth:`StudyStats.collect` reads (no JSON column: a cheap pass).
STAT_FIELDS = ("number", "round", "state", "value", "started_at", "finished_at")


@dataclass
class RoundStats:
    """One round's line of the rounds table: trials, complete ones, best value, first number."""

    trials: int = 0
    complete: int = 0
    best: float | None = None
    first: int | None = None


@dataclass
class StudyStats:
    """What the page says about *every* trial of a study, gathered in one streamed pass so that
    the page itself may hold a sample: ``best_so_far`` (change points of the running best over
    all complete trials, by number, and the last complete trial), per-round figures, the first
    start, the last finish and the summed trial time, the latest pruned trials' numbers."""

    n_trials: int = 0
    n_complete: int = 0
    best_so_far: tuple[list[int], list[float]] = field(default_factory=lambda: ([], []))
    rounds: dict[int, RoundStats] = field(default_factory=dict)
    started: float | None = None
    finished: float | None = None
    compute: float = 0.0
    pruned: list[int] = field(default_factory=list)

    @property
    def wall(self) -> float | None:
        return None if self.started is None or self.finished is None else self.finished - self.started

    @classmethod
    def collect(cls, rows: Iterable[tuple], *, maximize: bool, keep_pruned: int = 40) -> StudyStats:
        """From ``rows`` of :data:`STAT_FIELDS` in trial-number order (``Storage.iter_rows``)."""
        st = cls()
        xs, ys = st.best_so_far
        best = None
        last_done = None
        pruned: deque[int] = deque(maxlen=keep_pruned)
        rounds = st.rounds
        first_start = last_end = None
        n = done = 0
        compute = 0.0
        for number, rnd, state, value, started, finished in rows:
            n += 1
            r = rounds.get(rnd)
            if r is None:
                r = rounds[rnd] = RoundStats(first=number)
            r.trials += 1
            if started is not None:
                if first_start is None or started < first_start:
                    first_start = started
                if finished is not None:
                    compute += finished - started
            if finished is not None and (last_end is None or finished > last_end):
                last_end = finished
            if state == "pruned":
                pruned.append(number)
            if state != "complete" or not _finite(value):
                continue
            done += 1
            r.complete += 1
            if r.best is None or (value > r.best if maximize else value < r.best):
                r.best = value
            last_done = number
            if best is None or (value > best if maximize else value < best):
                best = value
                xs.append(number)
                ys.append(value)
        if xs and last_done is not None and best is not None and xs[-1] != last_done:
            xs.append(last_done)
            ys.append(best)
        st.n_trials, st.n_complete, st.compute = n, done, compute
        st.started, st.finished = first_start, last_end
        st.pruned = sorted(pruned, reverse=True)
        return st


@dataclass
class StudyData:
    """One study as the page needs it.

    ``trials``: the study's trials in any order (all of them, or the loader's capped set: then
    ``n_trials`` says how many the study holds). ``curves``: stored steps by trial number, for
    the learning curves (the loader fetches the best trials' and the pruned ones'; a trial's own
    ``steps`` are used too). ``space``: the study's file space (an ``hpsearch.space.Space``;
    None: built from ``study.space``). ``counts``: trials by state (None: counted from
    ``trials``). ``importance``: (name, importance) pairs, most important first (None: computed
    by the page builder; with several objectives, the first objective's). ``importances``: a
    study with several objectives: ``(metric, direction, ranking)`` per objective
    (:func:`~hpsearch.report.importance.objective_importance`; None: computed by the page
    builder). ``front``: a study with several objectives: its
    :class:`~hpsearch.report.front.Front` over all its complete trials (None: ranked from
    ``trials`` by :meth:`pareto`). ``overview``: the rounds' spaces, changes and carried trials
    (``rounds_overview(...).to_dict()["rounds"]``; None: the rounds table shows none of it).
    """

    study: StudyRecord
    rounds: list[RoundRecord]
    trials: list[TrialRecord]
    space: Any = None
    curves: dict[int, Steps] = field(default_factory=dict)
    counts: dict[str, int] | None = None
    n_trials: int | None = None
    importance: list[tuple[str, float]] | None = None
    importances: list[tuple[str, str, list[tuple[str, float]]]] | None = None
    stats: StudyStats | None = None
    front: Any = None
    overview: list[dict[str, Any]] | None = None

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
        if self.stats is None:
            rows = ((t.number, t.round, t.state, t.value, t.started_at, t.finished_at)
                    for t in sorted(self.trials, key=lambda t: t.number))
            self.stats = StudyStats.collect(rows, maximize=self.study.maximize)

    @property
    def totals(self) -> StudyStats:
        """``stats``, typed as always set (``__post_init__`` fills it in)."""
        if self.stats is None:  # only if a caller cleared it after construction
            raise ValueError("StudyData.stats is not set")
        return self.stats

    def pareto(self) -> Any:
        """The study's :class:`~hpsearch.report.front.Front` when it has several objectives
        (``front``, else ranked from ``trials``); None for one objective."""
        from hpsearch.report.front import front_of_trials, study_objectives

        if not study_objectives(self.study).multi:
            return None
        if self.front is None:
            self.front = front_of_trials(self.study, self.trials)
        return self.front

    def pareto_trials(self) -> list[TrialRecord]:
        """The trials the Pareto figures draw: every ranked (feasible complete) trial of the
        study's front, and the others the page holds (infeasible, pruned, failed: drawn apart
        or counted as trials spent in the hypervolume's)."""
        front = self.pareto()
        if front is None:
            return []
        ranked = {t.number for t in front.trials}
        return list(front.trials) + [t for t in self.trials if t.number not in ranked]

    def completed(self) -> list[TrialRecord]:
        """Complete trials with a finite value, by number."""
        done = [t for t in self.trials if t.state == "complete" and _finite(t.value)]
        return sorted(done, key=lambda t: t.number)

    def ranked(self) -> list[TrialRecord]:
        """Complete trials, best first (ties by the study's tie breaker, then by number)."""
        return rank(self.completed(), maximize=self.study.maximize, tie=tie_breaker(self.study.space))


def load_study_data(storage: Any, name: str, *, max_points: int | None = None,
                    curves: int = 8, pruned_curves: int = 40) -> StudyData:
    """Read study ``name`` from ``storage`` (a :class:`~hpsearch.storage.Storage`).

    ``max_points``: keep at most about this many trials (None: all): the best quarter of them
    by value (in SQL, ties by the study's tie breaker) and an even sample of the others (every
    k-th trial by number); whatever the page says about all trials (the running best, the
    rounds table, counts, times) comes from one streamed pass over light columns, so memory
    stays bounded however big the study. ``curves``: how many of the best trials' stored steps
    to fetch; ``pruned_curves``: how many pruned trials' steps (the latest ones).
    Raises :class:`~hpsearch.errors.StudyError` for an unknown study (from the storage).
    """
    study = storage.get_study(name)
    rounds = storage.rounds(study.id)
    counts = storage.counts(study)
    stats = StudyStats.collect(storage.iter_rows(study, STAT_FIELDS), maximize=study.maximize,
                               keep_pruned=pruned_curves)
    if max_points is None or stats.n_trials <= max_points:
        trials = list(storage.iter_trials(study))
    else:
        tie = tie_breaker(study.space)
        k = max_points // 4
        kept = {t.number: t for t in storage.iter_trials(
            study, states=["complete"], sort="value", descending=study.maximize, limit=k,
            tie=None if tie is None else (tie.metric, tie.descending))}
        every = max(2, math.ceil(stats.n_trials / max(1, max_points - k)))
        for t in storage.iter_trials(study, every=every):
            kept.setdefault(t.number, t)
        trials = sorted(kept.values(), key=lambda t: t.number)
    data = StudyData(study=study, rounds=rounds, trials=trials, counts=counts,
                     n_trials=stats.n_trials, stats=stats)
    from hpsearch.report.front import study_front, study_objectives

    if study_objectives(study).multi:
        data.front = study_front(storage, name)
    from hpsearch.report.rounds import rounds_overview

    data.overview = rounds_overview(storage, name).to_dict()["rounds"]
    held = {t.number for t in trials}
    for number in [t.number for t in data.ranked()[:curves]] + stats.pruned:
        trial = storage.trial(study, number)
        if trial.steps:
            data.curves[number] = list(trial.steps)
        if number not in held:  # a pruned trial outside the sample: its curve is drawn
            data.trials.append(trial)
            held.add(number)
    data.trials.sort(key=lambda t: t.number)
    return data


def subsample(trials: Sequence[TrialRecord], limit: int, *, maximize: bool,
              seed: int = 0) -> list[TrialRecord]:
    """At most ``limit`` trials: the best ``limit // 4`` with a value, and a seeded random
    sample of the others (so the cloud keeps its shape and the best region stays sharp)."""
    if len(trials) <= limit:
        return list(trials)
    sign = -1.0 if maximize else 1.0
    valued = sorted((t for t in trials if _finite(t.value)), key=lambda t: (sign * cast(float, t.value), t.number))
    keep = valued[: limit // 4]
    kept = {id(t) for t in keep}
    rest = [t for t in trials if id(t) not in kept]
    keep += random.Random(seed).sample(rest, limit - len(keep))
    return sorted(keep, key=lambda t: t.number)


def _finite(v: Any) -> TypeGuard[float]:
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
        elif self.kind == "int" and self.low is not None and self.high is not None \
                and self.high - self.low <= 12:
            # A few whole numbers: each one a tick (plotly's own would read 1, 1.5, 2, 2.5).
            vals = list(range(int(self.low), int(self.high) + 1))
            ax.update(tickvals=vals, ticktext=[str(v) for v in vals])
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
