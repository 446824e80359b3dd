"""Figures of a study with several objectives, as plotly figure dicts (``{"data", "layout"}``)
for the HTML page: the Pareto scatter and the hypervolume against trials.

Pure functions of a :class:`~hpsearch.report.front.Front` and the study's trials; nothing is
drawn here. The page (``report/html.py``) places them as it places its other figures::

    front = study_front(storage, name)
    figs = pareto_figures(front, complete_trials)   # [] for a study with one objective

* :func:`pareto_scatter`: the first two objectives against each other (``pair=(i, j)`` for
  another pair; :func:`pareto_figures` draws every pair when there are three or more): the
  front as a line of stars, the other feasible trials as dots, infeasible trials apart as grey
  crosses (never on the front), each point's hover text naming its trial and parameters.
* :func:`hypervolume_figure`: the front's hypervolume after each trial (in trial order) against
  a reference point a tenth of each objective's range beyond its worst feasible value
  (:func:`hpsearch.pareto.reference_point`).
"""

from __future__ import annotations

from itertools import combinations
from typing import TYPE_CHECKING, Any, Sequence

from hpsearch.space.objectives import trial_vector

if TYPE_CHECKING:
    from hpsearch.report.front import Front
    from hpsearch.storage import TrialRecord

__all__ = ["pareto_scatter", "hypervolume_figure", "pareto_figures"]

_FRONT, _OTHER, _INFEASIBLE = "#d62728", "#1f77b4", "#9a9a9a"


def _hover(t: TrialRecord, metrics: Sequence[str], vector: Sequence[float]) -> str:
    values = ", ".join(f"{m}={v:.4g}" for m, v in zip(metrics, vector))
    params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in t.params.items())
    return f"trial {t.number}: {values}<br>{params}"


def pareto_scatter(front: Front, trials: Sequence[TrialRecord], *,
                   pair: tuple[int, int] = (0, 1)) -> dict[str, Any]:
    """Objective ``pair[0]`` (x) against ``pair[1]`` (y): the front (rank 0) as stars joined
    in order of x, the other feasible trials as dots, infeasible trials as grey crosses."""
    metrics = front.objectives.metrics
    i, j = pair
    groups: dict[str, list[tuple[float, float, str]]] = {"front": [], "other": [], "infeasible": []}
    for t in trials:
        if t.state != "complete":
            continue
        v = trial_vector(t, metrics)
        if v is None:
            continue
        if t.feasible is False:
            key = "infeasible"
        else:
            key = "front" if front.ranks.get(t.number) == 0 else "other"
        groups[key].append((v[i], v[j], _hover(t, metrics, v)))
    groups["front"].sort()

    def trace(name: str, points: list[tuple[float, float, str]], **style: Any) -> dict[str, Any]:
        return {"type": "scatter", "name": name, "x": [p[0] for p in points],
                "y": [p[1] for p in points], "text": [p[2] for p in points],
                "hoverinfo": "text", **style}

    data = [
        trace(f"other feasible ({len(groups['other'])})", groups["other"], mode="markers",
              marker={"color": _OTHER, "size": 7, "opacity": 0.6}),
        trace(f"infeasible ({len(groups['infeasible'])})", groups["infeasible"], mode="markers",
              marker={"color": _INFEASIBLE, "size": 8, "symbol": "x"}),
        trace(f"Pareto front ({len(groups['front'])})", groups["front"], mode="lines+markers",
              line={"color": _FRONT, "width": 1},
              marker={"color": _FRONT, "size": 11, "symbol": "star"}),
    ]
    dirs = front.objectives.directions
    layout = {
        "title": {"text": f"Pareto front: {metrics[i]} against {metrics[j]}"},
        "xaxis": {"title": {"text": f"{metrics[i]} ({dirs[i]})"}},
        "yaxis": {"title": {"text": f"{metrics[j]} ({dirs[j]})"}},
        "legend": {"orientation": "h", "y": -0.2}, "hovermode": "closest",
    }
    return {"data": data, "layout": layout}


def hypervolume_figure(front: Front, trials: Sequence[TrialRecord]) -> dict[str, Any]:
    """The feasible front's hypervolume after each trial, in trial order."""
    from hpsearch.pareto import hypervolume_history, reference_point

    metrics, maximize = front.objectives.metrics, front.objectives.maximize
    ordered = sorted(trials, key=lambda t: t.number)
    points: list[list[float] | None] = []
    for t in ordered:
        v = trial_vector(t, metrics) if t.state == "complete" and t.feasible is not False else None
        points.append(v)
    feasible = [p for p in points if p is not None]
    if not feasible:
        return {"data": [], "layout": {"title": {"text": "Hypervolume: no feasible trial yet"}}}
    ref = reference_point(feasible, maximize)
    hv = hypervolume_history(points, maximize, ref)
    ref_text = ", ".join(f"{m}={r:.4g}" for m, r in zip(metrics, ref))
    return {
        "data": [{"type": "scatter", "mode": "lines", "name": "hypervolume",
                  "x": [t.number for t in ordered], "y": hv, "line": {"color": _FRONT}}],
        "layout": {"title": {"text": "Hypervolume of the feasible front against trials"},
                   "xaxis": {"title": {"text": "trial"}},
                   "yaxis": {"title": {"text": f"hypervolume (reference {ref_text})"}}},
    }


def pareto_figures(front: Front, trials: Sequence[TrialRecord]) -> list[dict[str, Any]]:
    """Every figure of a study with several objectives (none for one objective): the scatter
    of each pair of objectives, then the hypervolume against trials."""
    n = len(front.objectives.metrics)
    if n < 2:
        return []
    figs = [pareto_scatter(front, trials, pair=p) for p in combinations(range(n), 2)]
    return figs + [hypervolume_figure(front, trials)]
