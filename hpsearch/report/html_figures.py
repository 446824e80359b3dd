"""The figures of the HTML page, as plain plotly JSON (``{"data": [...], "layout": {...}}``).

Plain dicts rather than ``plotly.graph_objects``: no validation pass over 100,000 points, and
the page needs nothing of plotly's Python side but its JavaScript. Every function takes a
:class:`~hpsearch.report.html_data.StudyData` (plus what the page builder prepared once) and
returns a figure, or a string saying why there is nothing to draw.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING, Any, Sequence, TypeGuard

from hpsearch.report.html_data import ParamAxis, RoundStats, StudyData, subsample
from hpsearch.storage import TrialRecord

if TYPE_CHECKING:
    from hpsearch.space import NumericParam

__all__ = ["PALETTE", "history", "param_scatter", "parallel", "heatmap", "importance_bar",
           "learning_curves", "compare_best"]

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#bcbd22", "#7f7f7f", "#d62728"]
BEST = dict(symbol="star", size=14, color="#d62728", line=dict(color="black", width=1))
ROW_PX, GAP_PX, COLS = 270, 80, 3


def _color(i: int) -> str:
    return PALETTE[(i - 1) % len(PALETTE)]


def _base(title: str, height: int = 420, **layout: Any) -> dict[str, Any]:
    return {"title": {"text": title, "x": 0.01, "xanchor": "left"}, "height": height,
            "margin": {"l": 70, "r": 30, "t": 60, "b": 60}, "hovermode": "closest",
            "plot_bgcolor": "#fafafa", **layout}


def history(d: StudyData, done: list[TrialRecord], shown: list[TrialRecord],
            max_points: int) -> dict[str, Any] | str:
    """Value by trial number, coloured by round; pruned and failed trials marked; the best so
    far over all complete trials (not only the shown subsample); round starts as lines."""
    if not done:
        return "No completed trial yet: nothing to plot."
    study = d.study
    data: list[dict[str, Any]] = []
    for r in sorted({t.round for t in shown}):
        pts = [t for t in shown if t.round == r]
        data.append({"type": "scattergl" if len(shown) > 20000 else "scatter", "mode": "markers",
                     "name": f"round {r}", "x": [t.number for t in pts], "y": [t.value for t in pts],
                     "marker": {"size": 6, "color": _color(r), "opacity": 0.75},
                     "hovertemplate": "trial %{x}<br>%{y:.6g}<extra>round " + str(r) + "</extra>"})
    xs, ys = d.totals.best_so_far  # over every complete trial, not the shown sample
    data.append({"type": "scatter", "mode": "lines", "name": "best so far", "x": xs, "y": ys,
                 "line": {"shape": "hv", "color": "#d62728", "width": 2}, "hoverinfo": "skip"})
    values = [t.value for t in done if t.value is not None]  # done: all have one
    lo, hi = min(values), max(values)
    bottom = lo - 0.06 * ((hi - lo) or abs(lo) or 1.0)  # where trials without a value are marked
    rng = random.Random(0)
    for state, color, symbol in (("pruned", "#7f7f7f", "x-thin-open"), ("failed", "#d62728", "x")):
        pts = [t for t in d.trials if t.state == state]
        if len(pts) > max_points // 4:
            pts = sorted(rng.sample(pts, max_points // 4), key=lambda t: t.number)
        if not pts:
            continue
        last = [_last_value(d, t) for t in pts]
        data.append({"type": "scatter", "mode": "markers", "name": f"{state} ({(d.counts or {}).get(state, len(pts))})",
                     "x": [t.number for t in pts], "y": [bottom if v is None else v for v in last],
                     "text": [(t.error or state).splitlines()[0][:120] if t.error else state for t in pts],
                     "marker": {"symbol": symbol, "size": 7, "color": color,
                                "line": {"width": 1.5, "color": color}},
                     "hovertemplate": "trial %{x}: %{text}<extra></extra>"})
    shapes, notes = [], []
    for rnd in d.rounds[1:]:
        first = (d.totals.rounds.get(rnd.number) or RoundStats()).first
        if first is None:
            continue
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": first - 0.5,
                       "x1": first - 0.5, "y0": 0, "y1": 1,
                       "line": {"dash": "dot", "color": _color(rnd.number), "width": 1.5}})
        notes.append({"xref": "x", "yref": "paper", "x": first - 0.5, "y": 1.0, "yanchor": "bottom",
                      "text": f"round {rnd.number}", "showarrow": False, "xanchor": "left",
                      "font": {"color": _color(rnd.number), "size": 11}})
    n_done = d.totals.n_complete
    note = "" if len(shown) == n_done else f" (showing {len(shown):,} of {n_done:,}: the best and a sample)"
    layout = _base(f"Optimisation history{note}", shapes=shapes, annotations=notes,
                   xaxis={"title": {"text": "trial"}, "zeroline": False},  # trial 0 not cut in half
                   yaxis={"title": {"text": study.metric}},
                   legend={"orientation": "h", "y": -0.18})
    return {"data": data, "layout": layout}


def _last_value(d: StudyData, t: TrialRecord) -> float | None:
    if t.value is not None and math.isfinite(t.value):
        return t.value
    steps = d.curves.get(t.number)
    if steps:
        v = _metric_of(steps[-1][1], d.study.metric)
        return v
    return None


def _metric_of(metrics: dict[str, Any], metric: str) -> float | None:
    v = metrics.get(metric)
    if v is None:
        v = next((x for x in metrics.values() if isinstance(x, (int, float))
                  and not isinstance(x, bool)), None)
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None


def _grid_domains(n: int, cols: int) -> tuple[list[tuple[list[float], list[float]]], int]:
    """Subplot domains for ``n`` panels in rows of ``cols``, with room under each panel for its
    axis title and ticks (fixed pixels, so titles never overlap however many parameters)."""
    rows = max(1, math.ceil(n / cols))
    height = rows * ROW_PX
    out = []
    for i in range(n):
        r, c = divmod(i, cols)
        x0, x1 = c / cols + 0.04, (c + 1) / cols - 0.02
        y1 = 1 - (r * ROW_PX + 12) / height
        y0 = 1 - ((r + 1) * ROW_PX - GAP_PX) / height
        out.append(([x0, x1], [y0, y1]))
    return out, height


def param_scatter(d: StudyData, axes: list[ParamAxis], shown: list[TrialRecord],
                  best: TrialRecord | None) -> dict[str, Any] | str:
    """The value against each parameter on its own scale, one panel per parameter in a grid,
    coloured by round, choices jittered; each refine round's box shaded on its panels."""
    if not shown:
        return "No completed trial yet: nothing to plot."
    if not axes:
        return "The space has no searched parameter."
    cols = min(COLS, len(axes))
    domains, height = _grid_domains(len(axes), cols)
    rng = random.Random(0)
    jitter = [rng.uniform(-0.22, 0.22) for _ in range(len(shown))]
    round_spaces = _round_spaces(d)
    data, shapes, layout = [], [], {}
    rounds = sorted({t.round for t in shown})
    for i, (ax, (dx, dy)) in enumerate(zip(axes, domains), start=1):
        xa, ya = f"x{i}", f"y{i}"
        for r in rounds:
            xs, ys, nums, real = [], [], [], []
            for j, t in enumerate(shown):
                if t.round != r or ax.name not in t.params:
                    continue
                x = ax.position(t.params[ax.name])
                if x is None:
                    continue
                xs.append(round(x + jitter[j], 5) if ax.labels is not None else x)
                ys.append(t.value)
                nums.append(t.number)
                real.append(t.params[ax.name] if ax.labels is None else ax.labels[int(x)])
            data.append({"type": "scatter", "mode": "markers", "x": xs, "y": ys, "text": nums,
                         "customdata": real,
                         "xaxis": xa, "yaxis": ya, "name": f"round {r}", "legendgroup": f"r{r}",
                         "showlegend": i == 1, "marker": {"size": 5, "color": _color(r), "opacity": 0.7},
                         "hovertemplate": f"trial %{{text}}<br>{ax.name}: %{{customdata}}"
                                          f"<br>%{{y:.6g}}<extra></extra>"})
        if best is not None and ax.name in best.params and ax.position(best.params[ax.name]) is not None:
            data.append({"type": "scatter", "mode": "markers", "x": [ax.position(best.params[ax.name])],
                         "y": [best.value], "xaxis": xa, "yaxis": ya, "name": "best trial",
                         "legendgroup": "best", "showlegend": i == 1, "marker": BEST,
                         "hovertemplate": f"best: trial {best.number}<extra></extra>"})
        for number, params in round_spaces:
            p = params.get(ax.name)
            span = None if not _narrowed(p, d) else ax.span(p.low, p.high)
            if span:
                shapes.append({"type": "rect", "xref": xa, "yref": f"{ya} domain", "x0": span[0],
                               "x1": span[1], "y0": 0, "y1": 1, "fillcolor": _color(number),
                               "opacity": 0.10, "line": {"width": 1, "color": _color(number)},
                               "layer": "below"})
        layout[f"xaxis{i}"] = {**ax.axis(), "domain": dx, "anchor": ya}
        layout[f"yaxis{i}"] = {"domain": dy, "anchor": xa, "title": {"text": d.study.metric if (i - 1) % cols == 0 else ""}}
    title = f"{d.study.metric} against each parameter"
    if len(round_spaces):
        title += " (shaded: the refine rounds' boxes)"
    return {"data": data, "layout": _base(title, height=height + 110, shapes=shapes,
                                          legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0.5},
                                          margin={"l": 70, "r": 30, "t": 90, "b": 20}, **layout)}


def _narrowed(p: Any, d: StudyData) -> TypeGuard[NumericParam]:
    """Whether a round's parameter ``p`` has other bounds than the file space's (a box drawn
    over the whole panel says nothing)."""
    if p is None or p.kind == "choice" or not hasattr(p, "low"):
        return False
    base = d.space.params.get(p.name)
    return base is None or (p.low, p.high) != (getattr(base, "low", None), getattr(base, "high", None))


def _round_spaces(d: StudyData) -> list[tuple[int, dict[str, Any]]]:
    """(round number, params) of each refine round's narrowed space."""
    out = []
    for r in d.rounds:
        if r.number <= 1 or not r.space:
            continue
        try:
            out.append((r.number, d.space.__class__.from_dict(r.space, source="<round>").params))
        except Exception:  # a stored space that no longer parses is not worth a broken page
            continue
    return out


def parallel(d: StudyData, axes: list[ParamAxis], ranked: list[TrialRecord]) -> dict[str, Any] | str:
    """Parallel coordinates of the top trials (10 %, between 10 and 300); inactive conditional
    parameters on their own tick below the range."""
    top = ranked[: min(300, max(10, len(ranked) // 10))]
    if len(top) < 2 or not axes:
        return "Parallel coordinates need at least two completed trials."
    dims = []
    for ax in axes:
        pos = [ax.position(t.params[ax.name]) if ax.name in t.params else None for t in top]
        present = [p for p in pos if p is not None]
        if not present:
            continue
        spec = ax.axis()
        tickvals, ticktext = list(spec.get("tickvals", [])), list(spec.get("ticktext", []))
        lo, hi = spec.get("range", [min(present), max(present)])
        if not tickvals and None in pos:  # our "inactive" tick would hide plotly's own ones
            tickvals = [lo + (hi - lo) * k / 4 for k in range(5)]
            ticktext = [f"{v:.3g}" for v in tickvals]
        if None in pos:
            off = lo - 0.15 * ((hi - lo) or 1.0)
            pos = [off if p is None else p for p in pos]
            tickvals.append(off)
            ticktext.append("inactive")
            lo = off
        dim = {"label": f"1-{ax.name}" if ax.one_minus else ax.name, "values": pos, "range": [lo, hi]}
        if tickvals:
            dim.update(tickvals=tickvals, ticktext=ticktext)
        dims.append(dim)
    dims.append({"label": d.study.metric, "values": [t.value for t in top]})
    line = {"color": [t.value for t in top], "colorscale": "Viridis", "showscale": True,
            "reversescale": not d.study.maximize, "colorbar": {"title": {"text": d.study.metric}}}
    return {"data": [{"type": "parcoords", "dimensions": dims, "line": line}],
            "layout": _base(f"Parallel coordinates of the top {len(top)} trials", height=460,
                            margin={"l": 80, "r": 80, "t": 90, "b": 40})}


def heatmap(d: StudyData, pair: Sequence[ParamAxis], done: list[TrialRecord],
            shown: list[TrialRecord], best: TrialRecord | None, bins: int | None = None) -> dict[str, Any] | str:
    """Mean value over a grid of the two most important parameters, trials on top, each refine
    round's box drawn as a rectangle."""
    if len(pair) < 2:
        return "A heat map needs two searched parameters."
    if not done:
        return "No completed trial yet: nothing to plot."
    ax, ay = pair[0], pair[1]
    bins = bins or max(5, min(20, int(math.sqrt(len(done) / 3))))  # ~3 trials a cell or more
    edges = [_edges(a, done, bins) for a in (ax, ay)]
    sums = [[0.0] * (len(edges[0]) - 1) for _ in range(len(edges[1]) - 1)]
    counts = [[0] * (len(edges[0]) - 1) for _ in range(len(edges[1]) - 1)]
    for t in done:
        if ax.name not in t.params or ay.name not in t.params:
            continue
        i, j = _bin(edges[0], ax.position(t.params[ax.name])), _bin(edges[1], ay.position(t.params[ay.name]))
        if i is not None and j is not None and t.value is not None:
            sums[j][i] += t.value
            counts[j][i] += 1
    z = [[s / c if c else None for s, c in zip(srow, crow)] for srow, crow in zip(sums, counts)]
    centers = [[(e[k] + e[k + 1]) / 2 for k in range(len(e) - 1)] for e in edges]
    data = [{"type": "heatmap", "x": centers[0], "y": centers[1], "z": z, "colorscale": "Viridis",
             "reversescale": not d.study.maximize, "hoverongaps": False,
             "colorbar": {"title": {"text": f"mean {d.study.metric}"}},
             "hovertemplate": "%{z:.4g}<extra>mean of the cell</extra>"}]
    pts = [t for t in shown if ax.name in t.params and ay.name in t.params][:4000]
    data.append({"type": "scatter", "mode": "markers", "name": "trials", "showlegend": False,
                 "x": [_jit(ax, t.params[ax.name], t.number) for t in pts],
                 "y": [_jit(ay, t.params[ay.name], t.number + 7) for t in pts],
                 "marker": {"size": 3, "color": "rgba(255,255,255,0.6)", "line": {"width": 0.5, "color": "#333"}},
                 "hoverinfo": "skip"})
    if best is not None and ax.name in best.params and ay.name in best.params:
        data.append({"type": "scatter", "mode": "markers", "name": "best", "showlegend": False,
                     "x": [ax.position(best.params[ax.name])], "y": [ay.position(best.params[ay.name])],
                     "marker": BEST, "hovertemplate": f"best: trial {best.number}<extra></extra>"})
    shapes = []
    for number, params in _round_spaces(d):
        px, py = params.get(ax.name), params.get(ay.name)
        sx = ax.span(px.low, px.high) if _narrowed(px, d) else None
        sy = ay.span(py.low, py.high) if _narrowed(py, d) else None
        if sx or sy:
            x0, x1 = sx or (edges[0][0], edges[0][-1])
            y0, y1 = sy or (edges[1][0], edges[1][-1])
            shapes.append({"type": "rect", "x0": x0, "x1": x1, "y0": y0, "y1": y1,
                           "line": {"color": _color(number), "width": 2.5, "dash": "dash"}})
    title = f"{ax.name} × {ay.name}: the two most important parameters"
    return {"data": data, "layout": _base(title, height=520, shapes=shapes,
                                          xaxis={**ax.axis(), "showgrid": False},
                                          yaxis={**ay.axis(), "showgrid": False})}


def _edges(ax: ParamAxis, done: list[TrialRecord], bins: int) -> list[float]:
    if ax.labels is not None:
        return [k - 0.5 for k in range(len(ax.labels) + 1)]
    rng = ax.axis().get("range")
    if rng is None:
        pos = [p for p in (ax.position(t.params.get(ax.name)) for t in done) if p is not None]
        rng = [min(pos, default=0.0), max(pos, default=1.0)]
    lo, hi = rng if rng[1] > rng[0] else (rng[0] - 0.5, rng[0] + 0.5)
    if ax.kind == "int" and not ax.log and hi - lo < bins:
        return [v - 0.5 for v in range(math.floor(lo + 0.5), math.floor(hi + 0.5) + 2)]
    return [lo + (hi - lo) * k / bins for k in range(bins + 1)]


def _bin(edges: list[float], x: float | None) -> int | None:
    if x is None:
        return None
    for k in range(len(edges) - 1):
        if x < edges[k + 1] or k == len(edges) - 2:
            return k if x >= edges[0] else None
    return None


def _jit(ax: ParamAxis, v: Any, seed: int) -> float | None:
    x = ax.position(v)
    if x is None or ax.labels is None:
        return x
    return x + random.Random(seed).uniform(-0.3, 0.3)


def importance_bar(importance: list[tuple[str, float]],
                   objective: str | None = None) -> dict[str, Any] | str:
    """The importance of each parameter as bars; ``objective`` (``"acc (maximize)"``): the
    objective it is of, in the title, for a study with several."""
    if not importance:
        return (f"Importance for {objective} needs at least two completed trials with its value."
                if objective else "Importance needs at least two completed trials.")
    names = [n for n, _ in importance][::-1]
    vals = [v for _, v in importance][::-1]
    title = (f"Parameter importance for {objective} (PED-ANOVA: what its top 10 % differ in)"
             if objective else "Parameter importance (PED-ANOVA: what the top 10 % differ in)")
    return {"data": [{"type": "bar", "orientation": "h", "x": vals, "y": names,
                      "marker": {"color": "#1f77b4"}, "hovertemplate": "%{y}: %{x:.3f}<extra></extra>"}],
            "layout": _base(title,
                            height=max(520, 90 + 28 * len(names)),
                            xaxis={"title": {"text": "importance (sums to 1)"}, "rangemode": "tozero"},
                            yaxis={"automargin": True}, margin={"l": 140, "r": 30, "t": 60, "b": 50})}


def learning_curves(d: StudyData, ranked: list[TrialRecord], n_best: int = 8) -> dict[str, Any] | str:
    """Stored steps of the best trials, and where each pruned trial stopped."""
    metric = d.study.metric
    data: list[dict[str, Any]] = []
    for k, t in enumerate(t for t in ranked if t.number in d.curves):
        if k >= n_best:
            break
        steps = d.curves[t.number]
        data.append({"type": "scatter", "mode": "lines+markers", "name": f"trial {t.number}",
                     "x": [s for s, _ in steps], "y": [_metric_of(m, metric) for _, m in steps],
                     "line": {"color": PALETTE[k % len(PALETTE)], "width": 2}, "marker": {"size": 4}})
    pruned = [t for t in d.trials if t.state == "pruned" and t.number in d.curves]
    for t in pruned:
        steps = d.curves[t.number]
        data.append({"type": "scatter", "mode": "lines", "x": [s for s, _ in steps],
                     "y": [_metric_of(m, metric) for _, m in steps], "legendgroup": "pruned",
                     "showlegend": False, "line": {"color": "rgba(127,127,127,0.45)", "width": 1},
                     "hovertemplate": f"pruned trial {t.number}<extra></extra>"})
    if pruned:
        data.append({"type": "scatter", "mode": "markers", "name": "pruned here", "legendgroup": "pruned",
                     "x": [d.curves[t.number][-1][0] for t in pruned],
                     "y": [_metric_of(d.curves[t.number][-1][1], metric) for t in pruned],
                     "text": [t.number for t in pruned], "marker": {"symbol": "x", "size": 8, "color": "#555"},
                     "hovertemplate": "trial %{text} pruned at step %{x}<extra></extra>"})
    if not data:
        return "No stored steps: the objective reported no intermediate values."
    return {"data": data, "layout": _base("Learning curves of the best trials (grey: pruned)",
                                          xaxis={"title": {"text": "step"}, "zeroline": False},
                                          yaxis={"title": {"text": metric}})}


def compare_best(studies: list[StudyData]) -> dict[str, Any]:
    """Best so far of each study against its trial number, on one axis."""
    data = []
    for k, d in enumerate(studies):
        xs, ys = d.totals.best_so_far
        data.append({"type": "scatter", "mode": "lines", "name": f"{d.study.name} ({d.study.metric})",
                     "x": xs, "y": ys, "line": {"shape": "hv", "width": 2, "color": PALETTE[k % len(PALETTE)]}})
    metrics = sorted({d.study.metric for d in studies})
    return {"data": data, "layout": _base("Best so far, study by study", height=420,
                                          xaxis={"title": {"text": "trial"}},
                                          yaxis={"title": {"text": " / ".join(metrics)}},
                                          legend={"orientation": "h", "y": -0.2})}


def shown_trials(done: list[TrialRecord], max_points: int, maximize: bool) -> list[TrialRecord]:
    return subsample(done, max_points, maximize=maximize)
