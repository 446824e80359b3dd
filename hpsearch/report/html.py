"""One self-contained HTML page per study (or several studies side by side): `report --html`.

::

    data = load_study_data(storage, "digits-mlp")
    write_html("report.html", [data])            # atomic: temp file + os.replace

The page needs no network: plotly.js is inlined once (``plotly.offline.get_plotlyjs()``), the
figures are plain plotly JSON built from the same records the CLI reports, and the trial table
is sorted, filtered and paginated by a few lines of plain JavaScript. For each study: a summary
(metric, direction, samplers, pruner, trials by state, best trial and its params, wall time, the
command that exports the best trial), the optimisation history with the running best, the value
against each parameter on its own scale, parallel coordinates of the top trials, a heat map of
the two most important parameters, the importance chart, learning curves, the rounds table
(each round's kind, space, changes from the previous round and the earlier trials its model
used), and the trial table; with several objectives, the Pareto front on a scatter of each pair
of objectives (infeasible trials apart) and the hypervolume against trials
(:mod:`hpsearch.report.pareto_figures`), drawn once, and one importance chart per objective. Scatter plots of big studies show the best trials and a seeded sample
(``max_points``); the running best and the heat map use every trial.

plotly (``pip install 'hpsearch[report]'``) and optuna (for importance) are imported on use.
"""

from __future__ import annotations

import html
import json
import math
import os
import shlex
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

from hpsearch.errors import ConfigError
from hpsearch.report import html_figures as figs
from hpsearch.report.html_assets import CSS, JS
from hpsearch.report.html_data import RoundStats, StudyData, load_study_data, param_axes
from hpsearch.report.html_live import LIVE_CSS, LIVE_JS, LIVE_PANEL
from hpsearch.report.importance import objective_importance, param_importance
from hpsearch.report.rows import fmt_value

__all__ = ["build_html", "write_html", "StudyData", "load_study_data", "DEFAULT_MAX_POINTS",
           "trial_row", "cells", "rounds_cells", "states_text"]

DEFAULT_MAX_POINTS = 5000


def build_html(studies: Sequence[StudyData], *, max_points: int = DEFAULT_MAX_POINTS,
               title: str | None = None, live: dict[str, Any] | None = None,
               plotly_src: str | None = None) -> str:
    """The page's HTML text for ``studies`` (one section each; with several, a comparison
    first). ``max_points``: at most this many trials in each scatter plot. ``live``: the page
    of ``hpsearch serve`` (one study): its settings (``api``, ``cursor``, ``studies``...) go to
    the page as ``HP_LIVE``, with the script that polls the server for changed rows and the
    panel of running trials and workers (:mod:`hpsearch.report.html_live`). ``plotly_src``:
    load plotly.js from this address instead of inlining it (a server's cacheable copy)."""
    if not studies:
        raise ConfigError("the HTML report needs at least one study")
    try:
        from plotly.offline import get_plotlyjs
    except ImportError as exc:
        raise ConfigError("--html needs plotly: pip install 'hpsearch[report]'") from exc
    page = _Page()
    if live is not None and len(studies) != 1:
        raise ConfigError("the live page shows one study")
    sections = [_study_section(page, d, k, max_points, live is not None)
                for k, d in enumerate(studies)]
    names = [d.study.name for d in studies]
    title = title or ("hpsearch: " + ", ".join(names))
    head = ""
    if len(studies) > 1:
        head = _compare_section(page, studies)
    nav = " ".join(f'<a href="#study-{k}">{html.escape(n)}</a>' for k, n in enumerate(names))
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        f"<title>{html.escape(title)}</title><style>{CSS}</style>",
        f"<style>{LIVE_CSS}</style>" if live is not None else "",
        f"<script>{get_plotlyjs()}</script></head><body>" if plotly_src is None
        else f"<script src=\"{html.escape(plotly_src)}\"></script></head><body>",
        f"<header class=\"top\"><h1>{html.escape(title)}</h1><div class=\"sub\">generated {when}"
        f"{' · ' + nav if len(studies) > 1 else ''}</div></header><main>",
        head, *sections, "</main>",
        "<script>window.HP_FIGS = ", _js(page.figs), ";\nwindow.HP_TABLES = ", _js(page.tables),
        "" if live is None else ";\nwindow.HP_LIVE = " + _js(live),
        f";</script><script>{JS}</script>",
        "" if live is None else f"<script>{LIVE_JS}</script>", "</body></html>\n",
    ])


def write_html(path: str | os.PathLike[str], studies: Sequence[StudyData], **options: Any) -> Path:
    """Build the page and write it to ``path`` atomically (a temp file in the same folder,
    then ``os.replace``): a reader or a cron job never sees half a page. Returns the path."""
    text = build_html(studies, **options)
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return target


class _Page:
    """Collects the figures and tables as the sections are written."""

    def __init__(self) -> None:
        self.figs: list[dict[str, Any]] = []
        self.tables: list[dict[str, Any]] = []

    def card(self, title: str, fig: dict[str, Any] | str, kind: str | None = None,
             **extra: Any) -> str:
        """A card holding ``fig`` under the figure's own title (taken off the plot, which
        would only repeat it), or the message why there is no figure. ``kind`` (and
        ``extra``): what the live page's script needs to extend the figure with new rows
        (``history``, ``params``; None: drawn once)."""
        if isinstance(fig, str):
            return _card(title, f'<div class="empty-note">{html.escape(fig)}</div>')
        layout = fig.setdefault("layout", {})
        title = (layout.pop("title", None) or {}).get("text") or title
        margin = layout.setdefault("margin", {})
        # Room above the plot for plotly's toolbar (always shown on touch screens): it must
        # not cover the data.
        margin["t"] = max(34, margin.get("t", 60) - 40)
        fid = f"fig-{len(self.figs)}"
        self.figs.append({"id": fid, "fig": fig, "kind": kind, **extra})
        height = layout.get("height", 420)
        return _card(title, f'<div class="fig" id="{fid}" style="height:{int(height)}px"></div>')


def _js(obj: Any) -> str:
    """JSON for a <script> block: no NaN (invalid JSON), and no ``<``, ``>`` or ``&`` at all
    (``\\u003c``...: JSON's own escapes, inside strings, where alone they can occur), so no
    stored string can end the script (``</script>``) or switch the tokenizer into a comment
    state (``<!--<script>``); every other non-ASCII character is escaped too."""
    text = json.dumps(finite_json(obj), separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def finite_json(obj: Any) -> Any:
    """``obj`` with every non-finite float as None: JSON has no NaN or infinity (the page's
    blob and the live server's answers both go through it)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_json(v) for v in obj]
    return obj


def _study_section(page: _Page, d: StudyData, k: int, max_points: int, live: bool = False) -> str:
    study = d.study
    done = d.completed()
    ranked = d.ranked()
    best = ranked[0] if ranked else None
    shown = figs.shown_trials(done, max_points, study.maximize)
    axes = param_axes(d.space, d.trials)
    multi = d.pareto() is not None
    if multi and d.importances is None:
        d.importances = objective_importance(d.space, done, d.pareto().objectives,
                                             seed=study.seed)
    if d.importance is None:
        d.importance = d.importances[0][2] if multi and d.importances else param_importance(
            d.space, [(t.params, t.value) for t in done], direction=study.direction,
            seed=study.seed)
    by_name = {a.name: a for a in axes}
    pair = [by_name[n] for n, _ in d.importance if n in by_name][:2] or axes[:2]
    parts = [f'<section class="study" id="study-{k}"><h2>{html.escape(study.name)}</h2>',
             _summary(d, best)]
    if live:
        parts.append(LIVE_PANEL)
    if not done:
        parts.append('<div class="card empty-note">No completed trial yet: the figures appear '
                     'once a trial has finished.</div>')
    else:
        parts.append(page.card("Optimisation history", figs.history(d, done, shown, max_points),
                               "history"))
        parts.append(_pareto_cards(page, d))
        parts.append(page.card("Value against each parameter", figs.param_scatter(d, axes, shown, best),
                               "params", axes=[a.name for a in axes]))
        parts.append(page.card("Top trials", figs.parallel(d, axes, ranked)))
        parts.append(_importance_cards(page, d, page.card(
            "Two most important parameters", figs.heatmap(d, pair, done, shown, best))))
        parts.append(page.card("Learning curves", figs.learning_curves(d, ranked)))
    parts.append(_card("Rounds", f'<div class="rounds">{_rounds_table(d)}</div>'))
    parts.append(_card("Trials", _trial_table(page, d, axes, best)))
    parts.append("</section>")
    return "".join(parts)


def _pareto_cards(page: _Page, d: StudyData) -> str:
    """A study with several objectives: the front on a scatter of each pair of objectives
    (infeasible trials apart) and the hypervolume against trials, drawn once (no live kind);
    nothing for one objective."""
    front = d.pareto()
    if front is None:
        return ""
    from hpsearch.report.pareto_figures import pareto_figures

    cards = [page.card("Pareto front", fig) for fig in pareto_figures(front, d.pareto_trials())]
    if len(cards) == 2:  # two objectives: the scatter and the hypervolume side by side
        return '<div class="row2">' + "".join(cards) + "</div>"
    return "".join(cards)


def _importance_cards(page: _Page, d: StudyData, heatmap: str) -> str:
    """The heat map beside the importance chart; with several objectives, the heat map (of
    the first objective) and then one chart per objective, titled with its metric and
    direction, two to a row."""
    if not d.importances or d.pareto() is None:
        return ('<div class="row2">' + heatmap
                + page.card("Importance", figs.importance_bar(d.importance or [])) + "</div>")
    cards = [page.card(f"Importance for {m} ({dr})", figs.importance_bar(r, f"{m} ({dr})"))
             for m, dr, r in d.importances]
    return heatmap + "".join('<div class="row2">' + "".join(cards[i:i + 2]) + "</div>"
                             if i + 1 < len(cards) else cards[i]
                             for i in range(0, len(cards), 2))


def _card(title: str, body: str) -> str:
    return f'<div class="card"><h3>{html.escape(title)}</h3>{body}</div>'


def _fmt(v: Any) -> str:
    return fmt_value(v, digits=6)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h {m:02d}m {s:02d}s" if h else f"{m}m {s:02d}s" if m else f"{seconds:.1f}s"


def _summary(d: StudyData, best: Any) -> str:
    study = d.study
    samplers = list(dict.fromkeys(r.sampler for r in d.rounds)) or [study.sampler]
    pruner = (study.space.get("study", {}) or {}).get("pruner") or "none"
    states = states_text(d.counts or {})
    wall, compute = d.totals.wall, d.totals.compute  # over every trial, not the page's sample
    left = [("metric", f"{study.metric} ({study.direction})"), ("samplers", ", ".join(samplers)),
            ("pruner", pruner), ("rounds", str(len(d.rounds))),
            ("trials", f"{d.n_trials:,}: {states}"),
            ("wall time", _duration(wall)), ("trial time (sum)", _duration(compute)),
            ("created", datetime.fromtimestamp(study.created_at, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))]
    front = d.pareto()
    if front is not None:
        objectives = front.objectives
        left[0] = ("objectives", ", ".join(f"{m} ({dr})" for m, dr in
                                           zip(objectives.metrics, objectives.directions)))
        left.insert(1, ("Pareto front", f"{len(front.members):,} trials"
                        + (f" ({front.n_infeasible:,} complete trials infeasible)"
                           if front.n_infeasible else "")))
    if len(d.trials) < (d.n_trials or 0):
        left.append(("note", f"this page holds {len(d.trials):,} of the {d.n_trials:,} trials "
                             "(the best and a sample)"))
    right: list[tuple[str, str]] = []
    cmd = ""
    if best is not None:
        right.append(("best trial", f"#{best.number} (round {best.round}): "
                                    f"{study.metric} = {_fmt(best.value)}"))
        right += [(name, _fmt(value)) for name, value in best.params.items()]
        cmd = (f'<div>Retrain the best trial:</div><pre class="cmd">hpsearch best '
               f'{html.escape(shlex.quote(study.name))} --export best.toml\nhpsearch run best.toml</pre>')
    else:
        right.append(("best trial", "none yet"))

    def dl(items: list[tuple[str, str]]) -> str:
        # The trials line carries a class: the live page rewrites it (textContent).
        mark = {"trials": ' class="n-trials"'}
        return "<dl>" + "".join(f"<dt>{html.escape(k)}</dt><dd{mark.get(k, '')}>{html.escape(v)}</dd>"
                                for k, v in items) + "</dl>"

    return (f'<div class="card"><h3>Summary</h3><div class="summary">{dl(left)}'
            f'<div>{dl(right)}{cmd}</div></div></div>')


def states_text(counts: dict[str, int]) -> str:
    """``40 complete, 3 pruned, 1 failed``: trials by state, in the order people read them."""
    order = ["complete", "pruned", "failed", "running", "queued"]
    return ", ".join(f"{counts[s]:,} {s}" for s in [*order, *sorted(set(counts) - set(order))]
                     if counts.get(s)) or "none yet"


#: The rounds table's columns; the text ones (left-aligned) by index.
ROUND_COLUMNS = ["round", "from", "sampler", "target", "trials", "complete", "best", "how",
                 "kind", "space", "changed from the previous round", "earlier trials used"]
_TEXT_COLUMNS = (2, 7, 8, 9, 10)


def rounds_cells(rounds: Sequence[Any], stats: dict[int, RoundStats],
                 carried: Mapping[int, int | None] | None = None) -> list[list[str]]:
    """The rounds table's cells, one list per round (the page's table and the live page's
    updates both come from here): its numbers, how its space was made, its ``kind`` (file,
    refine, evolve), its space (the searched parameters' ranges), what changed from the
    previous round (an evolved round's lines) and how many earlier trials its model used
    (``carried``: round number -> count, from :func:`hpsearch.report.rounds.rounds_overview`;
    ``-`` where nothing was carried or it is not known). All plain text."""
    out = []
    for r in rounds:
        st = stats.get(r.number) or RoundStats()  # every trial of the round
        rule = r.rule or {}
        kind = rule.get("kind", "file" if r.number == 1 else "refine")
        changes = "; ".join(f"{c.get('name')}: {c.get('text')}" for c in rule.get("changes", [])
                            if isinstance(c, dict))
        used = (carried or {}).get(r.number)
        out.append([str(r.number), "-" if r.parent is None else str(r.parent), r.sampler,
                    str(r.target), f"{st.trials:,}", f"{st.complete:,}", _fmt(st.best),
                    _round_how(r.rule), str(kind), _space_text(r.space), changes or "-",
                    "-" if used is None else f"{used:,}"])
    return out


def _space_text(space: Any) -> str:
    """A round's searched parameters and their ranges: ``lr [1e-05, 0.1]; act relu | tanh``."""
    from hpsearch.space import Space

    try:
        params = Space.from_dict(space, source="<stored>").params
    except Exception:  # a space stored by another version: the table still shows the round
        return "-"
    return "; ".join(f"{n} {p.describe()['range']}" for n, p in params.items()
                     if p.searchable) or "-"


def _rounds_table(d: StudyData) -> str:
    carried = ({o["round"]: o.get("carried") for o in d.overview}
               if d.overview is not None else None)
    rows = []
    for cells in rounds_cells(d.rounds, d.totals.rounds, carried):
        rows.append("<tr>" + "".join(f"<td{' class=s' if i in _TEXT_COLUMNS else ''}>"
                                     f"{html.escape(c)}</td>" for i, c in enumerate(cells))
                    + "</tr>")
    return ('<div class="tablewrap"><table class="data"><thead><tr>'
            + "".join(f"<th{' class=s' if i in _TEXT_COLUMNS else ''}>{html.escape(h)}</th>"
                      for i, h in enumerate(ROUND_COLUMNS))
            + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>")


def _round_how(rule: dict[str, Any] | None) -> str:
    """How a round's space was made, in words: ``the file's space``, or ``refined from round 1:
    the box of its top 4 trials (best #17), margin 0.1``, else its rule's settings."""
    if not rule:
        return "the file's space"
    if rule.get("kind") == "refine" and "from_round" in rule:
        text = f"refined from round {rule['from_round']}"
        if rule.get("top") is not None:
            text += f": the box of its top {rule['top']} trials"
            if rule.get("best_trial") is not None:
                text += f" (best #{rule['best_trial']})"
        if rule.get("margin") is not None:
            text += f", margin {_fmt(rule['margin'])}"
        return text
    return ", ".join(f"{k} {_fmt(v)}" for k, v in rule.items()
                     if isinstance(v, (int, float, str)) and not isinstance(v, bool))


def _trial_table(page: _Page, d: StudyData, axes: list, best: Any) -> str:
    names = [a.name for a in axes]
    for t in d.trials:  # parameters the space no longer lists stay visible
        for n in t.params:
            if n not in names:
                names.append(n)
    columns = ["number", "round", "state", d.study.metric, "duration (s)", *names, "error"]
    rows = [trial_row(t, names) for t in sorted(d.trials, key=lambda t: t.number)]
    tid = f"table-{len(page.tables)}"
    page.tables.append({"id": tid, "columns": columns, "rows": rows, "stateCol": 2, "names": names,
                        "best": None if best is None else best.number, "page": 50})
    head = "".join(f'<th{" class=s" if c in ("state", "error") else ""} title="sort by {html.escape(c)}">'
                   f"{html.escape(c)}</th>" for c in columns)
    return (f'<div id="{tid}" class="trials"><div class="tools">'
            '<input class="filter" type="search" placeholder="filter: words, or lr<0.01, state=pruned">'
            '<button class="prev">&larr; prev</button><button class="next">next &rarr;</button>'
            '<span class="count"></span></div><div class="tablewrap">'
            f'<table class="data sortable"><thead><tr>{head}</tr></thead><tbody></tbody></table></div></div>')


def trial_row(t: Any, names: Sequence[str] = ()) -> list[Any]:
    """A trial's row of the trial table: number, round, state, value, duration, the params
    ``names``, the last line of its error (the page and the live page's updates)."""
    dur = t.duration
    err = t.error.strip().splitlines()[-1][:160] if t.error and t.error.strip() else None
    return [t.number, t.round, t.state, t.value, None if dur is None else round(dur, 3),
            *(_cell(t.params.get(n)) for n in names), err]


def cells(params: dict[str, Any]) -> dict[str, Any]:
    """Parameter values as the trial table shows them (numbers, text, booleans)."""
    return {k: _cell(v) for k, v in params.items()}


def _cell(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


def _compare_section(page: _Page, studies: Sequence[StudyData]) -> str:
    rows = []
    for k, d in enumerate(studies):
        r = d.ranked()
        best = r[0] if r else None
        cells = [f'<a href="#study-{k}">{html.escape(d.study.name)}</a>', html.escape(d.study.metric),
                 d.study.direction, f"{d.n_trials:,}", f"{d.totals.n_complete:,}",
                 "-" if best is None else html.escape(_fmt(best.value)),
                 "-" if best is None else f"#{best.number}"]
        rows.append("<tr>" + "".join(f"<td{' class=s' if i < 3 else ''}>{c}</td>"
                                     for i, c in enumerate(cells)) + "</tr>")
    head = "".join(f"<th{' class=s' if i < 3 else ''}>{h}</th>" for i, h in enumerate(
        ["study", "metric", "direction", "trials", "complete", "best", "best trial"]))
    table = f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    return ('<section class="study" id="compare"><h2>Comparison</h2>'
            + _card("Studies", table) + page.card("Best so far", figs.compare_best(list(studies)))
            + "</section>")
