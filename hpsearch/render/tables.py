"""The tables (and lines) of the read commands: validate, report, studies, show, best, rounds.

Each function takes a library result (a :class:`~hpsearch.validate.Validation`, a
:class:`~hpsearch.report.TrialSelection`, ...) and writes it to stdout.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable, Sequence


from hpsearch.names import DEFAULT_OBJECTIVE_KIND
from hpsearch.render.text import (
    console, echo, echo_text, esc, visible, fmt_seconds, fmt_value, range_text, report_width,
)

if TYPE_CHECKING:
    from hpsearch.report import RoundsOverview, TrialSelection
    from hpsearch.report.insight import StudyImportance
    from hpsearch.storage import StudyRecord, TrialRecord
    from hpsearch.validate import Validation

__all__ = [
    "echo_configs", "print_validation", "print_trials", "param_names_of", "print_importance",
    "print_rows", "print_trial", "state_text", "echo_best", "print_front", "front_mark", "echo_test_metrics", "print_rounds",
]


def echo_configs(configs: Sequence[dict[str, Any]]) -> None:
    """One sampled configuration per line, as JSON, and nothing else."""
    for config in configs:
        echo(json.dumps(config))


#: Above this many parameters, ``validate`` prints its tables as plain aligned text: rich lays
#: a table out in time that grows fast with its rows (25,000 parameters: over a minute).
PLAIN_TABLE_ROWS = 500


def print_validation(result: Validation) -> None:
    """The study line, the parameter table, the grid size and the samples table."""
    out = console()
    space, configs = result.space, result.configs
    study = space.study
    goal = (f"{len(study.metrics)} objectives" if study.multi
            else f"{study.direction} {esc(study.metric)}")
    out.print(
        f"[bold]{esc(study.name)}[/bold]  {goal}  sampler={study.sampler}"
        f"  trials={study.trials}  seed={study.seed}"
        f"  objective={esc(space.objective.get('kind', DEFAULT_OBJECTIVE_KIND))}"
    )
    constraints = getattr(space, "constraints", ())
    if study.multi or constraints:
        for line in space.objectives.describe():
            out.print(esc(line))
        if study.multi:
            out.print("the study's answer is its feasible Pareto front: the trials no other "
                      "feasible trial beats in every objective")
    keys = ("name", "type", "range", "scale", "condition")
    rows = [[str(row[k]) for k in keys] for row in (p.describe() for p in space.params.values())]
    _table(out, f"{space.source}: parameters", list(keys), rows)
    if result.grid_size is not None:
        out.print(f"grid: {result.grid_size} distinct configurations")
    if getattr(result, "pruner_outlook", None):
        out.print(esc(result.pruner_outlook))
    if getattr(result, "forbidden_share", None) is not None:
        rules = len(space.forbid.to_list())
        out.print(f"forbidden: {result.forbidden_share:.1%} of the space "
                  f"({rules} [[forbid]] rule{'s' if rules != 1 else ''}; never run)")
    if configs:
        # One row per parameter, one column per sample: stays readable with many parameters.
        rows = [[name, *(fmt_value(c[name]) if name in c else "-" for c in configs)]
                for name in space.params]
        _table(out, f"{len(configs)} sample configurations ('-': inactive)",
               ["name", *(f"#{i}" for i in range(len(configs)))], rows)


def _table(out, title: str, headers: list[str], rows: list[list[str]]) -> None:
    """A rich table of ``rows``; above :data:`PLAIN_TABLE_ROWS` rows, the same as plain
    aligned text (linear in the rows). Cells are shown with control characters visible."""
    if len(rows) <= PLAIN_TABLE_ROWS:
        from rich.table import Table

        table = Table(*headers, title=esc(title))
        for row in rows:
            table.add_row(*(esc(cell) for cell in row))
        out.print(table)
        return
    cells = [headers, *([visible(cell) for cell in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [visible(title)]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in cells]
    echo("\n".join(lines))


def _fitted_table(title: str, headers: Sequence[str], cells: list[list[str]], width: int):
    """A rich table whose columns are exactly as wide as their longest cell (nothing is ever
    cut), and the console width that shows it (``width``, or the table's own when wider)."""
    from rich.table import Table

    from hpsearch.report import fit_columns

    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    table = Table(title=title)
    for h, w in zip(headers, widths):
        table.add_column(h, no_wrap=True, min_width=w)
    for r in cells:
        table.add_row(*r)
    need = fit_columns(headers, [], dict(zip(headers, widths)), width).width
    return table, max(width, need)


class _Cells:
    """The text of one cell of ``report``'s table: a trial's column, read the same way for
    every column kind (number, front mark, extra objectives, state, parameters, metrics)."""

    def __init__(self, selection: TrialSelection, names: list[str]) -> None:
        self.front = getattr(selection, "front", None)
        self.more = list(self.front.objectives.metrics[1:]) if self.front is not None else []
        self.names = names

    def __call__(self, t: TrialRecord, col: str) -> str:
        if col == "number":
            return str(t.number)
        if col == "front":
            return front_mark(t, self.front)
        if col in self.more:
            return fmt_value((t.values or {}).get(col, (t.metrics or {}).get(col)))
        if col == "duration":
            return fmt_seconds(t.duration)
        if col == "state":
            return state_text(t)
        if col in ("round", "value", "proposed_by"):
            return fmt_value(getattr(t, col))
        if col in t.params or col in self.names:
            return fmt_value(t.params.get(col))
        return fmt_value((t.metrics or {}).get(col))


def _choose_columns(selection: TrialSelection, cell: _Cells, *, columns: Sequence[str] | None,
                    all_columns: bool, rank_params: Callable[[], list[str]] | None,
                    width: int) -> tuple[list[str], list[str], bool]:
    """The columns shown, the parameters hidden, and whether importance chose them."""
    from hpsearch.report import fit_columns

    names, trials = cell.names, selection.trials
    fixed = ["number", "round", "state", "value", *cell.more, "duration"]
    if cell.front is not None:
        fixed.insert(3, "front")
    # Which sampler proposed each trial: every trial records it, but the column is shown only
    # where it says more than the round's sampler (a model sampler's Sobol start-up, auto's
    # pick, a sampler changed on resume); --columns proposed_by shows it always.
    by = ["proposed_by"] if "proposed_by" not in names and selection.proposers_differ() else []
    fixed += by
    lead = fixed.index("duration")  # the columns before the parameters
    if columns:
        return ["number", *(c for c in columns if c != "number")], [], False
    if all_columns:
        return [*fixed[:lead], *names, "duration", *by], [], False
    widths = {c: max([len("#" if c == "number" else c), *(len(cell(t, c)) for t in trials)])
              for c in [*fixed, *names]}
    fitted = fit_columns(fixed, names, widths, width, insert_at=lead)
    order = rank_params() if fitted.hidden and rank_params is not None else None
    if not order:
        return fitted.shown, fitted.hidden, False
    preferred = [n for n in order if n in names] + [n for n in names if n not in order]
    keep = set(fit_columns(fixed, preferred, widths, width, insert_at=lead).shown)
    # shown in declaration order, chosen by importance
    shown = [*fixed[:lead], *(n for n in names if n in keep), "duration", *by]
    return shown, [n for n in preferred if n not in keep], True


def _trials_title(selection: TrialSelection, front: Any) -> tuple[str, str | None]:
    """The table's title, and the first objective's name when the value column is it."""
    rec = selection.study
    counts = ", ".join(f"{n} {s}" for s, n in sorted(selection.counts.items()))
    goal = f"{rec.direction} {rec.metric}"
    first = None
    if front is not None and front.objectives.multi:
        first = front.objectives.metrics[0]  # the value column is the first objective
        goal = ", ".join(f"{d} {m}" for m, d in zip(front.objectives.metrics,
                                                     front.objectives.directions))
    return f"{rec.name}: {goal}; {counts}; {selection.order_text()}", first


def _trials_notes(selection: TrialSelection, shown: list[str], hidden: list[str],
                  by_importance: bool) -> list[str]:
    """The lines below the table: what is not shown and how to see it, what columns mean."""
    notes = []
    if selection.more:
        notes.append(f"{selection.more:,} more trial{'s' if selection.more != 1 else ''} not shown "
                     f"(--top N shows more; --format csv -o trials.csv writes them all)")
    if hidden:
        why = " (the most important shown)" if by_importance else ""
        notes.append(f"{len(hidden)} parameter column{'s' if len(hidden) != 1 else ''} not shown"
                     f"{why}: {', '.join(hidden)} (--columns a,b,c chooses; --all-columns shows every one)")
    if "proposed_by" in shown:
        notes.append("proposed_by: the sampler of each trial (auto: its pick; sobol: start-up)")
    if any(t.state == "pruned" for t in selection.trials) and "value" in shown:
        notes.append("pruned trials: value = their best before the stop, not a final value "
                     "(best skips them)")
    given_up = getattr(selection, "given_up", None)
    if given_up:
        from hpsearch.render.summary import given_up_text

        notes.append(given_up_text(given_up))
    return notes


def print_trials(selection: TrialSelection, *, columns: Sequence[str] | None = None,
                 all_columns: bool = False, rank_params: Callable[[], list[str]] | None = None,
                 width: int | None = None, file: Any = None) -> None:
    """``report``'s table, fitted to the width (:func:`report_width`): number, round, state,
    value and duration always whole, then the parameters that fit (``rank_params()``, called
    only when some do not fit, gives their order of importance; else the declaration order).
    ``columns``: exactly these (the number first); ``all_columns``: every parameter. Below the
    table: how many trials and columns are not shown, and how to see them. ``file``: a text
    file to draw into instead of stdout."""
    from rich.console import Console

    trials = selection.trials
    width = width or report_width()
    names = list(selection.params) or param_names_of(trials, selection.study.space)
    for t in trials:
        names += [k for k in t.params if k not in names]
    cell = _Cells(selection, names)
    shown, hidden, by_importance = _choose_columns(
        selection, cell, columns=columns, all_columns=all_columns, rank_params=rank_params,
        width=width)
    title, first = _trials_title(selection, cell.front)
    headers = ["#" if c == "number" else esc(first) if c == "value" and first else esc(c)
               for c in shown]
    table, console_width = _fitted_table(esc(title), headers,
                                         [[esc(cell(t, c)) for c in shown] for t in trials], width)
    out = Console(highlight=False, soft_wrap=False, width=console_width, file=file)
    out.print(table)
    for note in _trials_notes(selection, shown, hidden, by_importance):
        out.print(note, markup=False)


def param_names_of(trials: Sequence[TrialRecord], space: dict[str, Any]) -> list[str]:
    from hpsearch.report import param_names

    return param_names(trials, space)


def print_importance(study: StudyRecord, result: StudyImportance, fmt: str = "table") -> None:
    """``report --importance``: one line per parameter, most important first, with a bar, and
    a caution when the top 10 % is a handful of trials; ``fmt="json"``: the same as JSON."""
    if fmt == "json":
        echo_text(json.dumps({"study": study.name, "metric": study.metric,
                              "direction": study.direction, **result.to_dict()}, indent=1))
        return
    shares = result.shares
    echo(f"{study.name}: parameter importance for {study.direction} {study.metric} "
         "(PED-ANOVA: what sets the top 10 % apart)")
    if not shares:
        echo("  no searchable parameter varied among the completed trials")
        return
    wide = max(len(n) for n, _ in shares)
    for name, share in shares:
        bar = "#" * round(30 * share)
        echo(f"  {name:<{wide}}  {100 * share:5.1f}%  {bar}")
    if result.caution:
        echo(f"  note: {result.caution}")


def print_rows(rows: list[dict[str, Any]], fmt: str, *, title: str) -> None:
    """Flat rows as a rich table (``fmt == "table"``) or as an export."""
    if fmt != "table":
        from hpsearch.report import export_rows

        echo_text(export_rows(rows, fmt))
        return
    from rich.console import Console

    from hpsearch.report import fit_columns

    # Fitted to the width like `report`: the first column (a study's name) always whole, then
    # the others while they fit: the counts and the best first, zero or empty ones last.
    headers = list(rows[0]) if rows else []
    cells = {h: [fmt_value(r.get(h)) for r in rows] for h in headers}
    widths = {h: max([len(h), *map(len, cells[h])]) for h in headers}
    empty = {h for h in headers if all(c in ("0", "-") for c in cells[h])}
    first = [h for h in ("trials", "complete", "best_value", "best_trial") if h in headers[1:]]
    rest = [h for h in headers[1:] if h not in first]
    optional = first + [h for h in rest if h not in empty] + [h for h in rest if h in empty]
    fitted = fit_columns(headers[:1], optional, widths, report_width())
    shown = [h for h in headers if h in set(fitted.shown)]
    table, width = _fitted_table(esc(title), [esc(h) for h in shown],
                                 [[esc(cells[h][i]) for h in shown] for i in range(len(rows))],
                                 report_width())
    out = Console(highlight=False, soft_wrap=False, width=width)
    out.print(table)
    if fitted.hidden:
        out.print(f"not shown: {', '.join(fitted.hidden)} (--format csv or json has every column)",
                  markup=False)


def print_trial(study: StudyRecord, t: TrialRecord) -> None:
    """``show``: the headline, params and run facts, final metrics, the curve, the error."""
    from rich.table import Table

    from hpsearch.report import iso

    out = console()
    value = "-" if t.value is None else f"{t.value:.6g}"
    if t.state == "pruned" and t.value is not None:
        value += " (its best before it was stopped: not a final value)"
    out.print(f"[bold]{esc(study.name)}[/bold] trial {t.number} (round {t.round}): "
              f"{esc(state_text(t))}, {esc(study.metric)} = {esc(value)}")
    info = Table("field", "value", show_header=False)
    for k, v in t.params.items():
        info.add_row(esc(k), esc(fmt_value(v)))
    info.add_row("seed", str(t.seed))
    info.add_row("device", esc(t.device or "-"))
    info.add_row("worker", esc(t.worker or "-"))
    info.add_row("started", iso(t.started_at) or "-")
    info.add_row("duration", fmt_seconds(t.duration))
    if t.proposed_by:
        info.add_row("proposed by", esc(t.proposed_by))
    if t.retry_of is not None:
        info.add_row("retry of", str(t.retry_of))
    if t.note:
        info.add_row("note", esc(t.note))
    if t.values and len(t.values) > 1:  # several objectives
        info.add_row("objectives", esc(", ".join(f"{k}={fmt_value(v)}"
                                                for k, v in t.values.items())))
    if t.feasible is False:
        info.add_row("infeasible", esc(t.violation or "a constraint broke"))
    out.print(info)
    if t.metrics:
        out.print("metrics: " + esc(", ".join(f"{k}={fmt_value(v)}" for k, v in t.metrics.items())))
    if t.steps:
        keys = list(t.steps[0][1])
        curve = Table("step", *map(esc, keys), title="per-step metrics")
        for s, m in t.steps:
            curve.add_row(str(s), *(esc(fmt_value(m.get(k))) for k in keys))
        out.print(curve)
    if t.error:
        out.print("[red]error:[/red] " + esc(t.error))


def state_text(t: TrialRecord) -> str:
    """A trial's state for people: ``pruned at step 7`` for a pruned trial that knows its
    step, else the state as stored."""
    step = getattr(t, "pruned_step", None)
    return f"pruned at step {step}" if t.state == "pruned" and step is not None else t.state


def front_mark(t: TrialRecord, front: Any) -> str:
    """The ``front`` cell: ★ on the Pareto front, the front's number (2, 3, ...) below it,
    ``infeasible`` for a complete trial that broke a constraint, ``-`` otherwise."""
    if t.state == "complete" and t.feasible is False:
        return "infeasible"
    rank = front.ranks.get(t.number)
    if rank is None:
        return "-"
    return "★" if rank == 0 else str(rank + 1)


def print_front(front: Any) -> None:
    """``best`` on a study with several objectives: its feasible Pareto front, one row per
    member (each objective, then the parameters), best first in the first objective."""
    from rich.table import Table

    study, metrics = front.study, front.objectives.metrics
    members = front.members
    names = param_names_of(members, study.space)
    goal = ", ".join(f"{d} {m}" for m, d in zip(metrics, front.objectives.directions))
    echo(f"{study.name}: the feasible Pareto front ({len(members)} trials; {goal})")
    table = Table("#", *(esc(m) for m in metrics), *(esc(n) for n in names))
    for t in members:
        values = [(t.values or {}).get(m, t.value if i == 0 else (t.metrics or {}).get(m))
                  for i, m in enumerate(metrics)]
        table.add_row(str(t.number), *(esc(fmt_value(v)) for v in values),
                      *(esc(fmt_value(t.params.get(n))) for n in names))
    console().print(table)
    if front.n_infeasible:
        echo(f"{front.n_infeasible} complete trial(s) broke a constraint (infeasible; "
                   f"never on the front)")
    echo("best --pick METRIC names the member best in one objective "
               "(--export writes it as a space file)")


def echo_best(study: StudyRecord, t: TrialRecord, *, values: dict[str, Any] | None = None,
              picked: str | None = None) -> None:
    """``best``: the trial's value and its parameters, one per line; with several objectives
    (``values``), the front member best in ``picked`` and each objective's value."""
    if values is not None:
        shown = ", ".join(f"{k} = {fmt_value(v, digits=6)}" for k, v in values.items())
        echo(f"trial {t.number} (round {t.round}), the front's best in {picked}: {shown}")
    else:
        echo(f"best trial {t.number} (round {t.round}): {study.metric} = {t.value:.6g}")
    for k, v in t.params.items():
        echo(f"  {k} = {fmt_value(v)}")


def echo_test_metrics(metrics: dict[str, Any]) -> None:
    """``best --test``: the chosen model's metrics on the held-out test split."""
    echo("test split (the chosen model only): "
         + ", ".join(f"{k}={fmt_value(v)}" for k, v in metrics.items()))


def _round_origin(r: dict) -> str:
    """``file``, ``round 1`` (refined from it), ``evolved from 1``."""
    if r["parent"] is None:
        return "file"
    if r.get("kind") == "evolve":
        return f"evolved from {r['parent']}"
    return f"round {r['parent']}"


def print_rounds(overview: RoundsOverview) -> None:
    """``rounds``: each parameter's range per round, then where each round came from, its
    trials and its best value."""
    from rich.table import Table

    title = (f"{esc(overview.study)}: {overview.direction} {esc(overview.metric)}; "
             "ranges per round (% of the file's range)")
    table = Table("param", *(f"round {r['round']}" for r in overview.rounds), title=title)
    for name, texts in overview.ranges.items():
        table.add_row(esc(name), *(esc(range_text(t, w)) for t, w in zip(texts, overview.widths[name])))
    table.add_section()
    table.add_row("from", *(_round_origin(r) for r in overview.rounds))
    if any(r.get("changes") for r in overview.rounds):
        table.add_row("changed", *(esc("\n".join(r.get("changes") or [])) or "-"
                                   for r in overview.rounds))
    if any(r.get("carried") is not None for r in overview.rounds):
        table.add_row("model history", *("-" if r.get("carried") is None
                                         else f"{r['carried']} earlier trials"
                                         for r in overview.rounds))
    table.add_row("trials", *(f"{r['complete']}/{r['trials']} complete" for r in overview.rounds))
    table.add_row("best", *("-" if r["best_value"] is None
                            else esc(f"{fmt_value(r['best_value'])} (trial {r['best_trial']})")
                            for r in overview.rounds))
    console().print(table)
