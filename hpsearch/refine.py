"""Coarse to fine: narrow a round's space around its best trials and store it as a new round.

A *round* is a space plus the trials sampled in it; round 1 is the file's space. Refining a
round takes its top trials and, for every searchable parameter, works in the unit coordinates
of the **original** (round 1) parameter, so log and log(1-x) scales are respected::

    numeric   the box [min u, max u] spanned by the top trials (and the best trial so far),
              widened on each side by ``margin`` × its width (at least ``MIN_UNIT_WIDTH`` wide
              in all), clipped to [0, 1], and mapped back to values with ``from_unit`` of the
              original parameter (so integers stay integers and steps stay on their lattice).
              Where the best trial lies on an edge of the round's box, that side is not
              narrowed but moved outwards by ``EDGE_EXTENSION`` × the round's box width, so a
              box that was too tight can walk back out (still clipped to the original bounds).
    choice    the values seen among the top trials, in their original order. Conditions on a
              value that is gone are dropped by :meth:`Space.with_params`; a parameter whose
              condition can then never hold leaves the space (it could never be active).
    inactive  a conditional parameter absent from every top trial keeps its previous range.
    fixed     unchanged.

:func:`narrow` is the pure step (no storage); :func:`refine_study` reads a stored round, calls
it and stores the new round; :func:`refine_and_run` repeats refine → run. What ``hpsearch
rounds`` prints is :func:`hpsearch.report.rounds_overview`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence, TypeVar

from hpsearch.errors import StudyError
from hpsearch.ranking import rank, tie_breaker, tied_with_others
from hpsearch.space import MAX_DB_INT, Choice, Fixed, IntParam, NumericParam, Param, Space
from hpsearch.space.objectives import objectives_of, rank_trials
from hpsearch.space.values import same_value

if TYPE_CHECKING:  # the run loop and storage import heavy modules: not at import time
    from hpsearch.run import RunOptions, RunSummary, TrialEvent
    from hpsearch.storage import RoundRecord, Storage, TrialRecord

__all__ = [
    "narrow", "refine_study", "refine_and_run", "top_count", "unit_width", "param_bounds",
    "DEFAULT_MARGIN", "DEFAULT_TOP_FRAC", "MIN_TOP", "MIN_UNIT_WIDTH",
    "EDGE_FRACTION", "EDGE_EXTENSION", "DEFAULT_REFINE_SAMPLER", "DEFAULT_REFINE_TRIALS",
]

log = logging.getLogger(__name__)
_P = TypeVar("_P", bound=Param)

#: Each side of the top trials' box is widened by this fraction of the box's width.
DEFAULT_MARGIN = 0.1
#: Without ``--top``, the best 20 % of the round's completed trials, but at least ``MIN_TOP``.
DEFAULT_TOP_FRAC = 0.2
MIN_TOP = 3
#: A refined numeric box is at least this wide in the original unit coordinates (5 % of the
#: file's range), so identical top trials still leave something to sample.
MIN_UNIT_WIDTH = 0.05
#: The best trial is "on an edge" when it lies within this fraction of the round's box width
#: from that edge.
EDGE_FRACTION = 0.05
#: An edge side moves outwards by this fraction of the round's box width.
EDGE_EXTENSION = 0.5
#: The new round's sampler: ``auto`` (a model inside the box, after the study's
#: ``n_startup_trials`` Sobol points of each round). Measured on held-out seeds
#: (benchmarks/bench_quality_model.py, 30 Sobol trials then rounds of 20 from the top 20 %),
#: coarse to fine with auto in the box reached better best values at 100 trials than with Sobol
#: on all four objectives (benchmarks/README.md); ``--sampler sobol`` keeps the space-filling
#: zoom of the course.
DEFAULT_REFINE_SAMPLER = "auto"
DEFAULT_REFINE_TRIALS = 20


# ------------------------------------------------------------------------------ the pure step
def unit_width(param: Param, original: Param) -> float:
    """Width of ``param``'s range in ``original``'s unit coordinates (1.0 = the file's range)."""
    if isinstance(param, Choice) and isinstance(original, Choice):
        return len(param.values) / len(original.values)
    if not isinstance(param, NumericParam):
        return 0.0
    if isinstance(param, IntParam) and isinstance(original, IntParam):
        # An integer owns a cell around its unit coordinate: measure from cell edge to cell
        # edge, so [1, 3] of the file's [1, 3] is 100 %, not the distance between two centres.
        s = original.step or 1
        lo = 0.0 if param.low <= original.low else \
            (original.to_unit(param.low - s) + original.to_unit(param.low)) / 2
        hi = 1.0 if param.high >= original.high else \
            (original.to_unit(param.high) + original.to_unit(param.high + s)) / 2
        return hi - lo
    return original.to_unit(param.high) - original.to_unit(param.low)


def narrow(
    space: Space, original: Space, top: Sequence[Mapping[str, Any]], best: Mapping[str, Any],
    *, margin: float = DEFAULT_MARGIN, min_width: float = MIN_UNIT_WIDTH,
) -> tuple[Space, dict[str, Any]]:
    """The space of the next round, and what changed per parameter.

    Parameters
    ----------
    space:
        The round's space (the one ``top`` was sampled from).
    original:
        The study's round-1 (file) space: bounds are clipped to it and unit coordinates are its.
    top:
        Parameters of the round's top trials, best first.
    best:
        Parameters of the best trial so far (the round's best, or an earlier round's if that was
        better). The new box always contains it, and where it lies on an edge of ``space``'s
        box that side is extended instead of narrowed.
    margin:
        Each side of the top trials' box is widened by ``margin`` × the box's width.
    min_width:
        The smallest width of a numeric box, in the original unit coordinates.

    Returns
    -------
    (space, changes)
        ``changes[name]`` is a JSON-ready dict: ``old`` and ``new`` bounds (``[low, high]``, or
        the list of values of a choice), ``edge`` (sides extended) and ``note`` when the range
        was kept or the parameter removed.
    """
    if not top:
        raise ValueError("narrow needs at least one top trial")
    if margin < 0 or not math.isfinite(margin):
        raise ValueError(f"margin must be a non-negative number (got {margin!r})")
    points = [*top, best]
    replaced: dict[str, Param] = {}
    changes: dict[str, Any] = {}
    for param in space.search_params:
        orig = original.params.get(param.name)
        seen = [p[param.name] for p in points if param.name in p]
        if not seen:
            changes[param.name] = {"old": param_bounds(param), "new": param_bounds(param),
                                   "note": "inactive in all top trials: range kept"}
            continue
        new: Param
        if isinstance(param, Choice):
            new = _narrow_choice(param, seen)
        elif isinstance(param, NumericParam) and isinstance(orig, NumericParam):
            new, edges = _narrow_numeric(param, orig, seen, best.get(param.name),
                                         margin=margin, min_width=min_width)
            if edges:
                changes[param.name] = {"edge": edges}
        else:  # pragma: no cover - every searchable type is a Choice or numeric
            continue
        replaced[param.name] = new
        changes[param.name] = {"old": param_bounds(param), "new": param_bounds(new),
                               **changes.get(param.name, {})}
    narrowed = space.with_params(replaced)
    for name in space.params:
        if name not in narrowed.params:
            changes[name] = {"old": param_bounds(space.params[name]), "new": None,
                             "note": "removed: its condition can no longer hold"}
    return narrowed, changes


def param_bounds(param: Param) -> Any:
    """A parameter's range as JSON: ``[low, high]``, a choice's values, or a fixed value."""
    if isinstance(param, Choice):
        return list(param.values)
    if isinstance(param, Fixed):
        return param.value
    assert isinstance(param, NumericParam)  # the only other kind
    return [param.low, param.high]


def _narrow_choice(param: Choice, seen: list[Any]) -> Choice:
    keep = tuple(v for v in param.values if any(same_value(v, s) for s in seen))
    if not keep:  # values from outside this round's choice only (an odd --from-round)
        return param
    return _replace(param, values=keep)


def _narrow_numeric(param: NumericParam, orig: NumericParam, seen: list[Any], best: Any, *,
                    margin: float, min_width: float) -> tuple[NumericParam, list[str]]:
    us = [orig.to_unit(v) for v in seen]
    lo, hi = min(us), max(us)
    width = hi - lo
    pad = margin * width
    if width + 2 * pad < min_width:
        pad = (min_width - width) / 2
    lo, hi = lo - pad, hi + pad
    # The round's own box, in the same (original) unit coordinates.
    cur_lo, cur_hi = orig.to_unit(param.low), orig.to_unit(param.high)
    cur_w = cur_hi - cur_lo
    edges = []
    if best is not None and cur_w > 0:
        b = orig.to_unit(best)
        if b - cur_lo <= EDGE_FRACTION * cur_w:
            lo = min(lo, cur_lo - EDGE_EXTENSION * cur_w)
            edges.append("low")
        if cur_hi - b <= EDGE_FRACTION * cur_w:
            hi = max(hi, cur_hi + EDGE_EXTENSION * cur_w)
            edges.append("high")
    lo, hi = max(lo, 0.0), min(hi, 1.0)
    # from_unit of the original maps into the cell holding u, so a box containing every top
    # trial's u maps to bounds containing every top value; min/max guard the last ulp.
    low = min(orig.from_unit(lo), *seen)
    high = max(orig.from_unit(hi), *seen)
    low, high = _keep_apart(orig, low, high)
    return _replace(param, low=low, high=high), edges


def _keep_apart(orig: NumericParam, low: Any, high: Any) -> tuple[Any, Any]:
    """Bounds with ``low < high`` and at least one step between them, inside ``orig``."""
    step = orig.step if orig.step is not None else (1 if isinstance(orig, IntParam) else 0)
    if step == 0:
        if low < high:
            return low, high
        # Continuous and collapsed (float resolution): take the original's next representable
        # neighbours, which exist because the original has low < high.
        up, down = math.nextafter(high, math.inf), math.nextafter(low, -math.inf)
        return (low, up) if up <= orig.high else (down, high)
    while high - low < step:
        if orig.contains(_step(high, step)):
            high = _step(high, step)
        elif orig.contains(_step(low, -step)):
            low = _step(low, -step)
        else:  # pragma: no cover - the original spans at least one step
            break
    return low, high


def _step(x: Any, step: Any) -> Any:
    return x + step if isinstance(x, int) and isinstance(step, int) else float(f"{x + step:.12g}")


def _replace(param: _P, **changes: Any) -> _P:
    """``dataclasses.replace`` that also keeps an explicit ``grid`` valid for the new range."""
    grid = param.grid
    if grid is not None:
        trial = dataclasses.replace(param, grid=None, **changes)
        kept = [v for v in grid if trial.contains(v)]
        return dataclasses.replace(trial, grid=kept or None)
    return dataclasses.replace(param, **changes)


# ------------------------------------------------------------------------------ with storage
def top_count(n_complete: int, *, top: int | None = None, top_frac: float = DEFAULT_TOP_FRAC) -> int:
    """How many trials span the box: ``top``, else ``top_frac`` of the completed ones (>= 3)."""
    if top is not None:
        return top
    return max(MIN_TOP, math.ceil(top_frac * n_complete - 1e-9))


def refine_study(
    storage: Storage, study_name: str, *, top: int | None = None, top_frac: float = DEFAULT_TOP_FRAC,
    trials: int = DEFAULT_REFINE_TRIALS, margin: float = DEFAULT_MARGIN,
    from_round: int | None = None, sampler: str = DEFAULT_REFINE_SAMPLER, seed: int | None = None,
) -> RoundRecord:
    """Narrow a round of ``study_name`` around its top trials and store it as a new round.

    Parameters
    ----------
    storage:
        An open :class:`~hpsearch.storage.Storage`.
    top, top_frac:
        The best ``top`` completed trials of the round, else the best ``top_frac`` of them
        (at least :data:`MIN_TOP`).
    trials:
        The new round's target number of trials (``run``/``work`` fill it).
    margin:
        See :func:`narrow`.
    from_round:
        The round to refine (default: the latest).
    sampler, seed:
        The new round's sampler (``auto`` by default) and seed (default: the study's seed plus
        the new round's number, so each round draws a different sequence).

    Returns
    -------
    RoundRecord
        The new round; its ``rule`` records how it was made.

    Raises
    ------
    StudyError
        Unknown study or round, or too few completed trials in the round.
    """
    from hpsearch.samplers import make_sampler

    if top is not None and top < 1:
        raise StudyError(f"--top must be at least 1 (got {top})")
    if not 0 < top_frac <= 1:
        raise StudyError(f"--top-frac must be in (0, 1] (got {top_frac})")
    if trials < 1:
        raise StudyError(f"--trials must be at least 1 (got {trials})")
    study = storage.get_study(study_name)
    rounds = storage.rounds(study.id)
    round_ = rounds[-1] if from_round is None else storage.get_round(study.id, from_round)
    # A trial that broke a [[constraint]] is never refined around (nor best).
    complete = [t for t in storage.trials(study, round_=round_.number, states=["complete"])
                if t.value is not None and not math.isnan(t.value) and t.feasible is not False]
    objectives = objectives_of(study.space)
    rung: tuple[list[Any], int | None] = ([], None)  # pruned trials standing in, lowest step
    if objectives.multi:
        # Several objectives: the box is drawn around the round's first K feasible Pareto
        # fronts (--top K; the front alone by default), so both ends of the trade-off stay
        # inside it (docs/refine.md).
        chosen, best, k, n_tied, tie = _front_choice(study, round_, complete, objectives, top)
    else:
        chosen, best, k, n_tied, tie, rung = _top_choice(storage, study, round_, complete,
                                                         top=top, top_frac=top_frac)
    rung_trials, lowest_rung = rung
    original = Space.from_dict(study.space, source=study.source or "<stored>")
    current = Space.from_dict(round_.space, source=study.source or "<stored>")
    new_space, changes = narrow(current, original, [t.params for t in chosen], best.params,
                                margin=margin)
    number = rounds[-1].number + 1
    # Storage keeps seeds in 32-bit columns: a study seed near the top wraps round to 0.
    seed = (study.seed + number - 1) % (MAX_DB_INT + 1) if seed is None else seed
    if not 0 <= seed <= MAX_DB_INT:
        raise StudyError(f"--seed must be from 0 to {MAX_DB_INT} (got {seed})")
    make_sampler(sampler, new_space, seed=seed)  # refuse an unknown sampler before storing
    rule = {
        "kind": "refine", "from_round": round_.number, "top": k,
        "top_frac": None if top is not None else top_frac, "margin": margin,
        "min_unit_width": MIN_UNIT_WIDTH, "top_trials": [t.number for t in chosen],
        "best_trial": best.number, "best_value": best.value, "params": changes,
        "tied_top": n_tied, "tie_breaker": None if tie is None else tie.describe(),
    }
    if rung_trials:
        rule["pruned_top"] = [t.number for t in chosen if t.state != "complete"]
        rule["from_step"] = lowest_rung
    if objectives.multi:
        rule["fronts"] = top or 1
    new = storage.add_round(study.id, parent=round_.number, space=new_space.to_dict(), rule=rule,
                            sampler=sampler, seed=seed, target=trials)
    log.info("study %s: round %d refined from round %d (top %d trials)", study.name, new.number,
             round_.number, k)
    return new


def _furthest_pruned(storage: Storage, study: Any, round_: int, needed: int,
                     tie: Any) -> tuple[list[Any], int | None]:
    """At least ``needed`` pruned trials of the round with a value, those that reached the
    highest step first (a whole rung at a time, each ranked by its value there), and the lowest
    step taken; fewer when the round has fewer."""
    pruned: list[Any] = [t for t in storage.trials(study, round_=round_, states=["pruned"])
                         if t.value is not None and not math.isnan(t.value)
                         and t.pruned_step is not None]
    out: list[Any] = []
    lowest = None
    for step in sorted({int(t.pruned_step) for t in pruned}, reverse=True):
        if len(out) >= needed:
            break
        out += rank([t for t in pruned if t.pruned_step == step], maximize=study.maximize, tie=tie)
        lowest = step
    return out, lowest


def _top_choice(storage: Storage, study: Any, round_: Any, complete: list[Any], *,
                top: int | None, top_frac: float
                ) -> tuple[list[Any], Any, int, int, Any, tuple[list[Any], int | None]]:
    """One objective: the round's top ``k`` trials (and the study's best, the box's anchor),
    how many tie with others, the tie breaker, and the pruned trials that stood in when too
    few completed (with the lowest step they reached)."""
    rung_trials: list[Any] = []
    lowest_rung: int | None = None
    k = top_count(len(complete), top=top, top_frac=top_frac)
    # Ties on the value (an easy task: many trials at accuracy 1.0) go to the study's tie
    # breaker (the validation loss for the built-in trainer), not to the lowest number.
    tie = tie_breaker(study.space, setting=getattr(study, "tie_breaker", None))
    ranked = rank(complete, maximize=study.maximize, tie=tie)
    if len(complete) < k:
        # A pruner let few finish (ASHA at 20 trials: about a ninth): the trials that went
        # furthest before they were stopped stand in, the highest rung first, each rung ranked
        # by the value it reported there.
        rung_trials, lowest_rung = _furthest_pruned(storage, study, round_.number, k - len(complete),
                                                    tie)
        ranked += rung_trials
    if len(ranked) < k:
        raise StudyError(
            f"cannot refine study {study.name!r} from round {round_.number}: it has "
            f"{len(complete)} completed trial{'s' if len(complete) != 1 else ''}"
            + (f" and {len(rung_trials)} pruned at a later step" if rung_trials else "")
            + f", {k} are needed (run more trials, or pass a smaller --top)")
    if rung_trials:
        log.warning(
            "study %s round %d: %d completed trial%s, fewer than the %d the box needs: it also "
            "spans %d trial%s pruned at step %d or later (the furthest the pruner let them go)",
            study.name, round_.number, len(complete), "" if len(complete) == 1 else "s", k,
            len(rung_trials), "" if len(rung_trials) == 1 else "s", lowest_rung)
    chosen = ranked[:k]
    n_tied = tied_with_others(chosen, ranked[k:])
    if 2 * n_tied > k:
        log.warning(
            "study %s round %d: %d of the top %d trials tie on %s with other trials, so %s "
            "chose them (set [study] tie_breaker to a metric that tells them apart, or run more "
            "trials)", study.name, round_.number, n_tied, k, study.metric,
            f"the tie breaker ({tie.describe()})" if tie else "the trial number")
    best = storage.best(study) or chosen[0]  # study-wide: never worse than chosen[0]
    if tie is not None and best.value is not None:
        best = rank(storage.iter_trials(study, states=["complete"], value=best.value),
                    maximize=study.maximize, tie=tie)[0]
    return chosen, best, k, n_tied, tie, (rung_trials, lowest_rung)


def _front_choice(study: Any, round_: Any, complete: list[TrialRecord], objectives: Any,
                  top: int | None) -> tuple[list[TrialRecord], TrialRecord, int, int, Any]:
    """The trials of the round's first ``top`` (default 1) feasible Pareto fronts; "best" is
    the front member best in the first objective (the box always contains it)."""
    fronts = top or 1
    ranked, ranks = rank_trials(complete, objectives)
    chosen = [t for t in ranked if ranks[t.number] < fronts]
    if len(chosen) < 2:
        raise StudyError(
            f"cannot refine study {study.name!r} from round {round_.number}: its first "
            f"{fronts} feasible Pareto front{'s' if fronts != 1 else ''} hold "
            f"{len(chosen)} trial{'s' if len(chosen) != 1 else ''}; 2 are needed (run more "
            f"trials, or pass --top K for more fronts)")
    return chosen, chosen[0], len(chosen), 0, None


def refine_and_run(
    storage: Storage, study_name: str, *, rounds: int = 1, from_round: int | None = None,
    options: RunOptions | None = None, on_event: Callable[[TrialEvent], None] | None = None,
    **refine_options: Any,
) -> Iterator[tuple[RoundRecord, RunSummary]]:
    """Refine, run the new round to its target, refine again from it: ``rounds`` times.

    Yields ``(round, run_summary)`` after each round has run. ``options`` says how the rounds
    run (:class:`~hpsearch.run.RunOptions`: device, workers...); ``refine_options`` go to
    :func:`refine_study` (only the first round uses ``from_round``).
    """
    from hpsearch.run import RunOptions, run_round

    for i in range(rounds):
        new = refine_study(storage, study_name, from_round=from_round if i == 0 else None,
                           **refine_options)
        study = storage.get_study(study_name)
        summary = run_round(storage, study, new, options or RunOptions(), on_event=on_event)
        yield new, summary
