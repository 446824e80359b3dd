"""Everything the CLI shows: rich tables, the run progress, summary lines.

Each function takes a library result (a :class:`~hpsearch.run.RunSummary`, a
:class:`~hpsearch.report.TrialSelection`, ...) and writes it to stdout; messages about files
written go to stderr. Values are formatted by one function, :func:`fmt_value`. rich is imported
inside the functions, so ``hpsearch --help`` does not pay for it.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, Sequence

import click

from hpsearch.report.rows import fmt_value

if TYPE_CHECKING:
    from hpsearch.report import RoundsOverview, TrialSelection
    from hpsearch.run import RunSummary, TrialEvent
    from hpsearch.storage import RoundRecord, StudyRecord, TrialRecord
    from hpsearch.validate import Validation

__all__ = [
    "console", "fmt_value", "fmt_seconds", "range_text", "RunProgress", "echo_text",
    "print_validation", "echo_configs", "echo_run_summary", "echo_refined_round",
    "print_trials", "print_rows", "print_trial", "echo_best", "print_rounds",
]


def console(err: bool = False):
    """A rich console on stdout (or stderr) for the current streams."""
    from rich.console import Console

    stream = sys.stderr if err else sys.stdout
    # Off a terminal (pipes, cron logs, CliRunner) rich would assume 80 columns and squeeze the
    # tables into ellipses; a wide fixed width keeps every value readable there.
    width = None if stream.isatty() else 320
    return Console(stderr=err, highlight=False, soft_wrap=False, width=width)


def fmt_seconds(seconds: float | None) -> str:
    """``12.3s`` under a minute, ``4m05s`` above."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def range_text(text: str | None, width: float | None) -> str:
    """``[0.001, 0.01] (33%)``: a range with its share of the file's range."""
    if text is None:
        return "-"
    if width is None or width >= 0.9995:
        return text
    return f"{text} ({100 * width:.2g}%)" if width < 0.1 else f"{text} ({100 * width:.0f}%)"


def echo_text(text: str) -> None:
    """An export (csv, json, markdown) on stdout, with exactly one final newline."""
    click.echo(text, nl=not text.endswith("\n"))


# ---------------------------------------------------------------------------------- validate
def echo_configs(configs: Sequence[dict[str, Any]]) -> None:
    """One sampled configuration per line, as JSON, and nothing else."""
    for config in configs:
        click.echo(json.dumps(config))


def print_validation(result: Validation) -> None:
    """The study line, the parameter table, the grid size and the samples table."""
    from rich.table import Table

    out = console()
    space, configs = result.space, result.configs
    study = space.study
    out.print(
        f"[bold]{study.name}[/bold]  {study.direction} {study.metric}  sampler={study.sampler}"
        f"  trials={study.trials}  seed={study.seed}  objective={space.objective.get('kind', 'builtin')}"
    )
    table = Table("name", "type", "range", "scale", "condition", title=f"{space.source}: parameters")
    for param in space.params.values():
        row = param.describe()
        table.add_row(row["name"], row["type"], row["range"], row["scale"], row["condition"])
    out.print(table)
    if result.grid_size is not None:
        out.print(f"grid: {result.grid_size} distinct configurations")
    if configs:
        # One row per parameter, one column per sample: stays readable with many parameters.
        samples = Table("name", *(f"#{i}" for i in range(len(configs))),
                        title=f"{len(configs)} sample configurations ('-': inactive)")
        for name in space.params:
            samples.add_row(name, *(fmt_value(c[name]) if name in c else "-" for c in configs))
        out.print(samples)


# ---------------------------------------------------------------------------------- run
class RunProgress:
    """A rich progress bar on a terminal; one plain line per trial otherwise (cron, pipes).

    Use as a context manager and pass :meth:`event` as the run's ``on_event``.
    """

    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stdout.isatty() and not quiet
        self.bar = None

    def __enter__(self) -> RunProgress:
        if self.tty:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), TextColumn("{task.fields[best]}"))
            self.bar.start()
            self.task = self.bar.add_task("trials", total=None, best="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def event(self, ev: TrialEvent) -> None:
        best = "" if ev.best_value is None else f"best {ev.best_value:.4g}"
        if self.bar is not None:
            desc = f"trial {ev.trial.number}" + (" running" if ev.kind == "start" else f" {ev.trial.state}")
            self.bar.update(self.task, total=ev.total, completed=ev.done, description=desc, best=best)
            return
        if self.quiet or ev.kind != "end":
            return
        t = ev.trial
        value = "-" if t.value is None else f"{t.value:.6g}"
        total = "" if ev.total is None else f"/{ev.total}"
        msg = f"[{ev.done}{total}] trial {t.number} {t.state} value={value} {best} ({fmt_seconds(t.duration)})"
        if t.error:
            msg += f" error: {t.error.splitlines()[0]}"
        click.echo(msg)


def _states(summary: RunSummary) -> str:
    return ", ".join(f"{n} {s}" for s, n in sorted(summary.states.items())) or "no trials"


def echo_run_summary(summary: RunSummary) -> None:
    """The last line of ``run``/``worker``; lost workers as warnings on stderr."""
    if summary.stopped == "busy" and summary.ran == 0 and summary.busy is not None:
        running, limit = summary.busy
        click.echo(f"study {summary.study}: {running} trials already running "
                   f"(--max-concurrent {limit}); started none")
        return
    best = summary.best
    line = (f"study {summary.study} round {summary.round}: ran {summary.ran} trials "
            f"({_states(summary)}); stopped: {summary.stopped}")
    if summary.workers > 1:
        line += f"; {summary.workers} workers"
    if summary.stale_recovered:
        numbers = ", ".join(map(str, summary.stale_recovered))
        line += f"; failed as stale (no heartbeat; retried once unless a retry itself): {numbers}"
    if best is not None and best.value is not None:
        line += f"; best trial {best.number}: {best.value:.6g}"
    click.echo(line)
    for lost in summary.lost_workers:
        click.echo(f"warning: {lost}", err=True)


def echo_refined_round(new: RoundRecord, summary: RunSummary) -> None:
    """One line per round ``refine`` made and ran."""
    rule = new.rule or {}
    line = (f"study {summary.study} round {new.number} (from round {rule.get('from_round')}, "
            f"top {rule.get('top')} trials, {new.sampler}): ran {summary.ran} trials ({_states(summary)})")
    best = summary.best
    if best is not None and best.value is not None:
        line += f"; best so far: trial {best.number}, {best.value:.6g}"
    click.echo(line)


# ---------------------------------------------------------------------------------- read
def print_trials(selection: TrialSelection) -> None:
    """``report``'s table: one row per trial, the study's counts in the title."""
    from rich.table import Table

    from hpsearch.report import flat_rows, param_names

    rec, trials = selection.study, selection.trials
    names = param_names(trials, rec.space)
    title = (f"{rec.name}: {rec.direction} {rec.metric}; "
             + ", ".join(f"{n} {s}" for s, n in sorted(selection.counts.items())))
    table = Table("#", "round", "state", "value", *names, "duration", title=title)
    for row in flat_rows(trials, names):
        table.add_row(*(fmt_value(v) if k != "duration" else fmt_seconds(v) for k, v in row.items()))
    console().print(table)


def print_rows(rows: list[dict[str, Any]], fmt: str, *, title: str) -> None:
    """Flat rows as a rich table (``fmt == "table"``) or as an export."""
    if fmt != "table":
        from hpsearch.report import export_rows

        echo_text(export_rows(rows, fmt))
        return
    from rich.table import Table

    table = Table(*(rows[0] if rows else []), title=title)
    for r in rows:
        table.add_row(*(fmt_value(v) for v in r.values()))
    console().print(table)


def print_trial(study: StudyRecord, t: TrialRecord) -> None:
    """``show``: the headline, params and run facts, final metrics, the curve, the error."""
    from rich.markup import escape
    from rich.table import Table

    from hpsearch.report import iso

    out = console()
    value = "-" if t.value is None else f"{t.value:.6g}"
    out.print(f"[bold]{study.name}[/bold] trial {t.number} (round {t.round}): {t.state}, "
              f"{study.metric} = {value}")
    info = Table("field", "value", show_header=False)
    for k, v in t.params.items():
        info.add_row(k, fmt_value(v))
    info.add_row("seed", str(t.seed))
    info.add_row("device", t.device or "-")
    info.add_row("worker", t.worker or "-")
    info.add_row("started", iso(t.started_at) or "-")
    info.add_row("duration", fmt_seconds(t.duration))
    if t.retry_of is not None:
        info.add_row("retry of", str(t.retry_of))
    out.print(info)
    if t.metrics:
        out.print("metrics: " + ", ".join(f"{k}={fmt_value(v)}" for k, v in t.metrics.items()))
    if t.steps:
        keys = list(t.steps[0][1])
        curve = Table("step", *keys, title="per-step metrics")
        for s, m in t.steps:
            curve.add_row(str(s), *(fmt_value(m.get(k)) for k in keys))
        out.print(curve)
    if t.error:
        out.print("[red]error:[/red] " + escape(t.error))


def echo_best(study: StudyRecord, t: TrialRecord) -> None:
    """``best``: the trial's value and its parameters, one per line."""
    click.echo(f"best trial {t.number} (round {t.round}): {study.metric} = {t.value:.6g}")
    for k, v in t.params.items():
        click.echo(f"  {k} = {fmt_value(v)}")


def print_rounds(overview: RoundsOverview) -> None:
    """``rounds``: each parameter's range per round, then where each round came from, its
    trials and its best value."""
    from rich.table import Table

    title = (f"{overview.study}: {overview.direction} {overview.metric}; "
             "ranges per round (% of the file's range)")
    table = Table("param", *(f"round {r['round']}" for r in overview.rounds), title=title)
    for name, texts in overview.ranges.items():
        table.add_row(name, *(range_text(t, w) for t, w in zip(texts, overview.widths[name])))
    table.add_section()
    table.add_row("from", *("file" if r["parent"] is None else f"round {r['parent']}" for r in overview.rounds))
    table.add_row("trials", *(f"{r['complete']}/{r['trials']} complete" for r in overview.rounds))
    table.add_row("best", *("-" if r["best_value"] is None else f"{fmt_value(r['best_value'])} (trial {r['best_trial']})"
                            for r in overview.rounds))
    console().print(table)
