"""The command line: parse options, call one library function, render the result with rich.

Every command is a few lines over a library function; errors from :mod:`hpsearch.errors` are
caught in one place (:func:`main`) and printed as one red line with the class's exit code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from hpsearch.errors import EXIT_CODES, HpsearchError

EXIT_CODE_HELP = "\n".join(f"  {code:>3}  {text}" for code, text in EXIT_CODES.items())


def _console(err: bool = False):
    from rich.console import Console

    stream = sys.stderr if err else sys.stdout
    # Off a terminal (pipes, cron logs, CliRunner) rich would assume 80 columns and squeeze the
    # tables into ellipses; a wide fixed width keeps every value readable there.
    width = None if stream.isatty() else 320
    return Console(stderr=err, highlight=False, soft_wrap=False, width=width)


class _Group(click.Group):
    """Turns library errors into one red line on stderr and the error's exit code.

    Done here rather than in ``main`` so that click's ``CliRunner`` sees the same behaviour
    as the console script.
    """

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except HpsearchError as exc:
            click.echo(click.style("error: ", fg="red") + str(exc), err=True)
            ctx.exit(exc.exit_code)


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="\b\nExit codes:\n" + EXIT_CODE_HELP,
)
@click.option(
    "--db",
    envvar="HPSEARCH_DB",
    default="sqlite:///hpsearch.db",
    show_default=True,
    help="Database URL (env HPSEARCH_DB): sqlite:///path.db or postgresql://user@host/db.",
)
@click.option("--quiet", "-q", is_flag=True, help="Only errors and final results.")
@click.option("--verbose", "-v", is_flag=True, help="Debug logging.")
@click.version_option(package_name="hpsearch")
@click.pass_context
def cli(ctx: click.Context, db: str, quiet: bool, verbose: bool) -> None:
    """Hyperparameter search for PyTorch classifiers and any training program."""
    import logging

    logging.basicConfig(
        level=logging.DEBUG if verbose else (logging.ERROR if quiet else logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    ctx.obj = {"db": db, "quiet": quiet, "verbose": verbose}


# --------------------------------------------------------------------------------------------
# validate


@cli.command()
@click.argument("space_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--sample", "n_samples", type=click.IntRange(min=0), default=5, show_default=True,
              help="How many sample configurations to draw.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="json: one sampled configuration per line, nothing else.")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed for the samples (default: the study's).")
def validate(space_file: Path, n_samples: int, fmt: str, seed: int | None) -> None:
    """Parse SPACE_FILE, show its parameters and sample configurations. Writes nothing.

    The objective's settings are checked too (the built-in trainer's [trainer] table,
    parameter names and values, a command's argv), without running the user's code.
    """
    from hpsearch.objectives import check_objective
    from hpsearch.samplers import make_sampler
    from hpsearch.space import load_space

    space = load_space(space_file)
    check_objective(space)
    sampler = make_sampler(space.study.sampler, space, seed=space.study.seed if seed is None else seed)
    configs = []
    for i in range(n_samples):
        config = sampler.propose(i)
        if config is None:  # a finite grid ran out
            break
        configs.append(config)
    if fmt == "json":
        for config in configs:
            click.echo(json.dumps(config))
        return

    from rich.table import Table

    console = _console()
    study = space.study
    console.print(
        f"[bold]{study.name}[/bold]  {study.direction} {study.metric}  sampler={study.sampler}"
        f"  trials={study.trials}  seed={study.seed}  objective={space.objective.get('kind', 'builtin')}"
    )
    table = Table("name", "type", "range", "scale", "condition", title=f"{space.source}: parameters")
    for param in space.params.values():
        row = param.describe()
        table.add_row(row["name"], row["type"], row["range"], row["scale"], row["condition"])
    console.print(table)
    if study.sampler == "grid":
        console.print(f"grid: {sampler.size} distinct configurations")
    if configs:
        # One row per parameter, one column per sample: stays readable with many parameters.
        samples = Table("name", *(f"#{i}" for i in range(len(configs))),
                        title=f"{len(configs)} sample configurations ('-': inactive)")
        for name in space.params:
            samples.add_row(name, *(_fmt_value(c[name]) if name in c else "-" for c in configs))
        console.print(samples)


def _fmt_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


# --------------------------------------------------------------------------------------------
# shared helpers


def _open_storage(ctx: click.Context, *, create: bool = False):
    """The database named by --db; read-only commands refuse to create a missing SQLite file."""
    from hpsearch.errors import StudyError
    from hpsearch.storage import Storage

    url = ctx.obj["db"]
    if not create and url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url[len("sqlite:///"):])
        if not path.exists():
            raise StudyError(f"no database at {path} (run `hpsearch run SPACE` first, or pass --db)")
    return Storage(url)


def _duration(_ctx, _param, value):
    from hpsearch.timeparse import parse_duration

    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


# --------------------------------------------------------------------------------------------
# run


def _parallel_options(fn):
    """--workers, --devices and --max-concurrent, shared by `run` and `worker`."""
    fn = click.option(
        "--max-concurrent", type=click.IntRange(min=1), default=None, metavar="K",
        help="Start no trial while K trials of the study are running (any process, any machine); "
             "a run that finds K running exits 0 at once.")(fn)
    fn = click.option(
        "--devices", default=None, metavar="LIST",
        help="Pin the workers round robin to these devices: cuda:0,cuda:1 or auto (every "
             "visible GPU, else cpu).")(fn)
    fn = click.option(
        "--workers", "-j", type=click.IntRange(min=1), default=1, show_default=True,
        help="Run this many trials at once, each in its own process.")(fn)
    return fn


@cli.command()
@click.argument("space_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--trials", type=click.IntRange(min=1), default=None,
              help="Target size of the (latest round of the) study; default: the file's `trials`.")
@click.option("--add", type=click.IntRange(min=1), default=None,
              help="Run N more trials whatever the target (cron: one batch per tick).")
@click.option("--timeout", callback=_duration, default=None, metavar="DURATION",
              help="Stop starting new trials after this long (90s, 30m, 2h); a running trial finishes.")
@click.option("--study", "study_name", default=None, help="Study name (default: [study] name or the file's stem).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed of a new study (default: [study] seed).")
@click.option("--sampler", type=click.Choice(["random", "sobol", "grid"]), default=None,
              help="Sampler (default: [study] sampler; a new study stores it).")
@click.option("--device", default=None, help="Built-in trainer device: auto, cpu, cuda, cuda:N.")
@click.option("--stale-after", callback=_duration, default=None, metavar="DURATION",
              help="A running trial with no heartbeat for this long is failed as stale and retried (default 2m).")
@_parallel_options
@click.pass_context
def run(ctx, space_file, trials, add, timeout, study_name, seed, sampler, device, stale_after,
        workers, devices, max_concurrent):
    """Create or resume the study of SPACE_FILE and run trials until it has its target.

    Every finished trial is committed at once. Ctrl-C (or SIGTERM) marks the running trials
    interrupted and exits 130 (143); running the same command again resumes, re-running them.
    Runs started at the same time on one study (overlapping cron ticks) share it safely; with
    --max-concurrent K a run that finds K trials running exits 0 at once, starting none.
    """
    from hpsearch.runner import STALE_AFTER_S, run_study
    from hpsearch.space import load_space

    if trials is not None and add is not None:
        raise click.UsageError("--trials and --add cannot be used together")
    device_list = _device_list(device, devices)
    space = load_space(space_file)
    storage = _open_storage(ctx, create=True)
    quiet = ctx.obj["quiet"]
    progress = _RunProgress(quiet=quiet)
    with progress:
        summary = run_study(
            storage, space, name=study_name, trials=trials, add=add, timeout=timeout,
            sampler=sampler, seed=seed, device=device, on_event=progress.event,
            stale_after=stale_after or STALE_AFTER_S, workers=workers, devices=device_list,
            max_concurrent=max_concurrent)
    _echo_summary(summary)


def _device_list(device, devices):
    from hpsearch.workers import resolve_devices

    if devices is not None and device is not None:
        raise click.UsageError("--device and --devices cannot be used together")
    return None if devices is None else resolve_devices(devices)


def _echo_summary(summary) -> None:
    if summary.stopped == "busy" and summary.ran == 0 and summary.busy is not None:
        running, limit = summary.busy
        click.echo(f"study {summary.study}: {running} trials already running "
                   f"(--max-concurrent {limit}); started none")
        return
    states = ", ".join(f"{n} {s}" for s, n in sorted(summary.states.items())) or "no trials"
    best = summary.best
    line = f"study {summary.study} round {summary.round}: ran {summary.ran} trials ({states}); stopped: {summary.stopped}"
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


class _RunProgress:
    """A rich progress bar on a terminal; one plain line per trial otherwise (cron, pipes)."""

    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stdout.isatty() and not quiet
        self.bar = None

    def __enter__(self):
        if self.tty:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), TextColumn("{task.fields[best]}"))
            self.bar.start()
            self.task = self.bar.add_task("trials", total=None, best="")
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()

    def event(self, ev) -> None:
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
        msg = f"[{ev.done}{total}] trial {t.number} {t.state} value={value} {best} ({_fmt_seconds(t.duration)})"
        if t.error:
            msg += f" error: {t.error.splitlines()[0]}"
        click.echo(msg)


# --------------------------------------------------------------------------------------------
# report / studies / show / best


@cli.command()
@click.argument("study")
@click.option("--top", type=click.IntRange(min=1), default=None, help="Only the N best trials.")
@click.option("--sort", "sort_metric", default=None, help="Order by a metric (best first) or a parameter, number or duration (ascending).")
@click.option("--state", "states", multiple=True,
              type=click.Choice(["queued", "running", "complete", "pruned", "failed", "interrupted"]),
              help="Only trials in this state (repeatable).")
@click.option("--round", "round_", type=click.IntRange(min=1), default=None, help="Only this round's trials.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "markdown"]), default="table",
              show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the export to this file instead of stdout.")
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write history.png and params.png (value against each parameter, on its "
                   "own scale) for the selected trials into this folder (needs matplotlib).")
@click.pass_context
def report(ctx, study, top, sort_metric, states, round_, fmt, output, plot_dir):
    """A table of STUDY's trials, best first; csv, json (one object per trial) or markdown."""
    from hpsearch import report as rep

    storage = _open_storage(ctx)
    rec = storage.get_study(study)
    if round_ is not None:
        storage.get_round(rec.id, round_)  # a round that does not exist is an error, not an empty table
    if plot_dir is not None:
        from hpsearch.plots import write_plots

        selected = storage.trials(rec, round_=round_, states=states or None, limit=top)
        for path in write_plots(selected, rec, plot_dir):
            click.echo(f"wrote {path}", err=True)
    if sort_metric is None:
        trials = storage.trials(rec, round_=round_, states=states or None, limit=top)
    else:
        trials = rep.sort_trials(storage.trials(rec, round_=round_, states=states or None, best_first=False),
                                 sort_metric, maximize=rec.maximize)[:top]
    if fmt != "table":
        text = rep.render(trials, rec, fmt)
        if output is not None:
            output.write_text(text)
            click.echo(f"wrote {len(trials)} trials to {output}", err=True)
        else:
            click.echo(text, nl=not text.endswith("\n"))
        return
    from rich.table import Table

    names = rep.param_names(trials, rec.space)
    counts = storage.counts(rec, round_=round_)
    title = f"{rec.name}: {rec.direction} {rec.metric}; " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    table = Table("#", "round", "state", "value", *names, "duration", title=title)
    for row in rep.flat_rows(trials, names):
        table.add_row(*(rep.fmt_cell(v) if k != "duration" else _fmt_seconds(v) for k, v in row.items()))
    _console().print(table)


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "markdown"]), default="table",
              show_default=True)
@click.pass_context
def studies(ctx, fmt):
    """Every study in the database, with trial counts and the best value."""
    from hpsearch.storage import STATES

    storage = _open_storage(ctx)
    rows = [
        {"name": s.name, "metric": s.metric, "direction": s.direction, "trials": s.n_trials,
         **{state: s.counts.get(state, 0) for state in STATES}, "rounds": s.rounds,
         "best_value": s.best_value, "best_trial": s.best_number}
        for s in storage.summaries()
    ]
    _print_rows(rows, fmt, title="studies")


def _print_rows(rows: list[dict], fmt: str, *, title: str) -> None:
    from hpsearch.report import fmt_cell, render_rows

    if fmt != "table":
        text = render_rows(rows, fmt)
        click.echo(text, nl=not text.endswith("\n"))
        return
    from rich.table import Table

    table = Table(*(rows[0] if rows else []), title=title)
    for r in rows:
        table.add_row(*(fmt_cell(v) for v in r.values()))
    _console().print(table)


@cli.command()
@click.argument("study")
@click.argument("number", type=int)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def show(ctx, study, number, fmt):
    """One trial of STUDY: params, seed, device, per-step curve, error."""
    from hpsearch.report import fmt_cell, iso, trial_json

    storage = _open_storage(ctx)
    rec = storage.get_study(study)
    t = storage.trial(rec, number)
    if fmt == "json":
        data = trial_json(t)
        data["steps"] = [{"step": s, **m} for s, m in t.steps]
        click.echo(json.dumps(data, indent=1))
        return
    from rich.table import Table

    console = _console()
    value = "-" if t.value is None else f"{t.value:.6g}"
    console.print(f"[bold]{rec.name}[/bold] trial {t.number} (round {t.round}): {t.state}, "
                  f"{rec.metric} = {value}")
    info = Table("field", "value", show_header=False)
    for k, v in t.params.items():
        info.add_row(k, fmt_cell(v))
    info.add_row("seed", str(t.seed))
    info.add_row("device", t.device or "-")
    info.add_row("worker", t.worker or "-")
    info.add_row("started", iso(t.started_at) or "-")
    info.add_row("duration", _fmt_seconds(t.duration))
    if t.retry_of is not None:
        info.add_row("retry of", str(t.retry_of))
    console.print(info)
    if t.metrics:
        console.print("metrics: " + ", ".join(f"{k}={fmt_cell(v)}" for k, v in t.metrics.items()))
    if t.steps:
        keys = [k for k in t.steps[0][1]]
        curve = Table("step", *keys, title="per-step metrics")
        for s, m in t.steps:
            curve.add_row(str(s), *(fmt_cell(m.get(k)) for k in keys))
        console.print(curve)
    if t.error:
        from rich.markup import escape

        console.print("[red]error:[/red] " + escape(t.error))


@cli.command()
@click.argument("study")
@click.option("--export", "export", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the best configuration as a space file with every param fixed.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def best(ctx, study, export, fmt):
    """The best completed trial of STUDY; --export writes it as a runnable space file."""
    from hpsearch.errors import StudyError
    from hpsearch.report import best_space, fmt_cell, trial_json
    from hpsearch.space import dump_toml

    storage = _open_storage(ctx)
    rec = storage.get_study(study)
    t = storage.best(rec)
    if t is None:
        raise StudyError(f"study {study!r} has no completed trial yet")
    if export is not None:
        export.write_text(dump_toml(best_space(rec, t)))
    if fmt == "json":
        click.echo(json.dumps(trial_json(t), indent=1))
    else:
        click.echo(f"best trial {t.number} (round {t.round}): {rec.metric} = {t.value:.6g}")
        for k, v in t.params.items():
            click.echo(f"  {k} = {fmt_cell(v)}")
    if export is not None:
        click.echo(f"wrote {export}; retrain it with: hpsearch run {export}", err=True)


# --------------------------------------------------------------------------------------------
# refine / rounds


@cli.command()
@click.argument("study")
@click.option("--top", type=click.IntRange(min=1), default=None,
              help="Span the box over the best K completed trials of the round (default: see --top-frac).")
@click.option("--top-frac", type=click.FloatRange(0, 1, min_open=True), default=0.2, show_default=True,
              help="Without --top: this fraction of the round's completed trials (at least 3).")
@click.option("--trials", type=click.IntRange(min=1), default=20, show_default=True,
              help="Trials to run in each new round.")
@click.option("--margin", type=click.FloatRange(min=0), default=0.1, show_default=True,
              help="Widen each side of the top trials' box by this fraction of its width "
                   "(in unit-cube coordinates; a box is at least 5% of the file's range wide).")
@click.option("--rounds", "n_rounds", type=click.IntRange(min=1), default=1, show_default=True,
              help="Refine and run this many times, each round from the previous one.")
@click.option("--from-round", type=click.IntRange(min=1), default=None,
              help="Refine from this round instead of the latest.")
@click.option("--sampler", type=click.Choice(["sobol", "random", "grid"]), default="sobol", show_default=True,
              help="Sampler of the new rounds; Sobol is the default because it fills a small box "
                   "more evenly than random draws.")
@click.option("--device", default=None, help="Built-in trainer device: auto, cpu, cuda, cuda:N.")
@click.pass_context
def refine(ctx, study, top, top_frac, trials, margin, n_rounds, from_round, sampler, device):
    """Zoom in: a new round of STUDY narrowed around the best trials of its latest round.

    For each numeric parameter the new range is the box spanned by the top trials in unit-cube
    coordinates (so log scales are respected), widened by --margin and clipped to the space
    file's bounds; where the best trial sits on an edge of the round's box, that side is
    extended instead. Choices keep the values seen among the top trials. The new round is
    stored with the study (see `hpsearch rounds STUDY`), then its trials run; `hpsearch run
    SPACE` later continues in the latest (narrowed) round.
    """
    from hpsearch.refine import refine_and_run

    storage = _open_storage(ctx)
    progress = _RunProgress(quiet=ctx.obj["quiet"])
    with progress:
        for new, summary in refine_and_run(
                storage, study, rounds=n_rounds, from_round=from_round, device=device,
                on_event=progress.event, top=top, top_frac=top_frac, trials=trials,
                margin=margin, sampler=sampler):
            rule = new.rule or {}
            states = ", ".join(f"{n} {s}" for s, n in sorted(summary.states.items())) or "no trials"
            line = (f"study {summary.study} round {new.number} (from round {rule.get('from_round')}, "
                    f"top {rule.get('top')} trials, {new.sampler}): ran {summary.ran} trials ({states})")
            best = summary.best
            if best is not None and best.value is not None:
                line += f"; best so far: trial {best.number}, {best.value:.6g}"
            click.echo(line)


@cli.command()
@click.argument("study")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--export", "export", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a round's narrowed space (--round, default the latest) as a space file.")
@click.option("--round", "round_", type=click.IntRange(min=1), default=None,
              help="The round to --export (default: the latest).")
@click.pass_context
def rounds(ctx, study, fmt, export, round_):
    """STUDY's rounds side by side: each parameter's range per round, trials and best value."""
    from hpsearch.refine import range_text, rounds_overview

    storage = _open_storage(ctx)
    if export is not None:
        from hpsearch.space import dump_toml

        rec = storage.get_study(study)
        chosen = storage.get_round(rec.id, round_) if round_ else storage.latest_round(rec.id)
        space = dict(chosen.space)
        space["study"] = dict(space.get("study", {}), name=f"{rec.name}-round{chosen.number}",
                              sampler=chosen.sampler, trials=chosen.target, seed=chosen.seed)
        space["objective"], space["trainer"] = rec.space.get("objective", {}), rec.space.get("trainer", {})
        export.write_text(dump_toml(space))
        click.echo(f"wrote round {chosen.number} of {rec.name} to {export}; run it as a study of "
                   f"its own with: hpsearch run {export}", err=True)
    elif round_ is not None:
        raise click.UsageError("--round only goes with --export here; see `hpsearch report --round`")
    overview = rounds_overview(storage, study)
    if fmt == "json":
        click.echo(json.dumps(overview.to_dict(), indent=1))
        return
    from rich.table import Table

    from hpsearch.report import fmt_cell

    title = f"{overview.study}: {overview.direction} {overview.metric}; ranges per round (% of the file's range)"
    table = Table("param", *(f"round {r['round']}" for r in overview.rounds), title=title)
    for name, texts in overview.ranges.items():
        table.add_row(name, *(range_text(t, w) for t, w in zip(texts, overview.widths[name])))
    table.add_section()
    table.add_row("from", *("file" if r["parent"] is None else f"round {r['parent']}" for r in overview.rounds))
    table.add_row("trials", *(f"{r['complete']}/{r['trials']} complete" for r in overview.rounds))
    table.add_row("best", *("-" if r["best_value"] is None else f"{fmt_cell(r['best_value'])} (trial {r['best_trial']})"
                            for r in overview.rounds))
    _console().print(table)


# --------------------------------------------------------------------------------------------
# worker


@cli.command()
@click.argument("db_url")
@click.argument("study")
@click.option("--add", type=click.IntRange(min=1), default=None,
              help="Run N trials and stop (default: until the latest round has its target).")
@click.option("--timeout", callback=_duration, default=None, metavar="DURATION",
              help="Stop starting new trials after this long (90s, 30m, 2h).")
@click.option("--device", default=None, help="Built-in trainer device: auto, cpu, cuda, cuda:N.")
@click.option("--stale-after", callback=_duration, default=None, metavar="DURATION",
              help="A running trial with no heartbeat for this long is failed as stale and retried (default 2m).")
@_parallel_options
@click.pass_context
def worker(ctx, db_url, study, add, timeout, device, stale_after, workers, devices, max_concurrent):
    """Join STUDY in the database DB_URL (postgresql://user@host/db) from this machine.

    No space file is needed: the latest round's stored space says what to run. A python
    objective's module must be importable here (run from its folder or set PYTHONPATH); a
    command objective's program must exist here.
    """
    from hpsearch.runner import STALE_AFTER_S, join_study
    from hpsearch.storage import Storage

    device_list = _device_list(device, devices)
    ctx.obj["db"] = db_url
    storage = _open_storage(ctx) if db_url.startswith("sqlite") else Storage(db_url)
    progress = _RunProgress(quiet=ctx.obj["quiet"])
    with progress:
        summary = join_study(
            storage, study, add=add, timeout=timeout, device=device, on_event=progress.event,
            stale_after=stale_after or STALE_AFTER_S, workers=workers, devices=device_list,
            max_concurrent=max_concurrent)
    _echo_summary(summary)


# --------------------------------------------------------------------------------------------
# entry point


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="hpsearch")


if __name__ == "__main__":  # pragma: no cover
    main()
