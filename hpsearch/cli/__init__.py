"""The command line: parse options, call one library function, hand its result to render.

Every command is a few lines over the library API (:mod:`hpsearch`); everything it shows is
drawn by :mod:`hpsearch.render`. Errors from :mod:`hpsearch.errors` are caught in one place
(:class:`_Group`) and printed as one red line with the class's exit code. Choice lists come from
the registries (samplers, trial states, export formats), loaded when a command needs them, so
``hpsearch --help`` imports neither SQLAlchemy nor PyTorch.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Callable, Sequence

import click

from hpsearch.errors import EXIT_CODES, HpsearchError

EXIT_CODE_HELP = "\n".join(f"  {code:>3}  {text}" for code, text in EXIT_CODES.items())


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


class _RegistryChoice(click.Choice):
    """A ``click.Choice`` whose values come from a registry, read on first use (a parse or a
    command's --help), not when this module is imported."""

    def __init__(self, load: Callable[[], Sequence[str]], *, first: Sequence[str] = ()) -> None:
        self._load, self._first, self._choices = load, tuple(first), None
        self.case_sensitive = True

    @property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]
        if self._choices is None:
            self._choices = (*self._first, *(c for c in self._load() if c not in self._first))
        return self._choices


def _registry(module: str, name: str) -> Callable[[], Sequence[str]]:
    """The names of a registry (``SAMPLERS``, ``STATES``, ``FORMATS``), imported when asked."""
    return lambda: list(getattr(importlib.import_module(module), name))


_samplers = _registry("hpsearch.samplers", "SAMPLERS")
_states = _registry("hpsearch.storage", "STATES")
_formats = _registry("hpsearch.report", "FORMATS")


def _open(ctx: click.Context, *, create: bool = False):
    """The database named by --db; read-only commands refuse to create a missing SQLite file."""
    from hpsearch import open_storage

    return open_storage(ctx.obj["db"], create=create)


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
    from hpsearch import render
    from hpsearch.validate import validate_space

    result = validate_space(space_file, samples=n_samples, seed=seed)
    if fmt == "json":
        render.echo_configs(result.configs)
    else:
        render.print_validation(result)


# --------------------------------------------------------------------------------------------
# run / worker


def _duration(_ctx, _param, value):
    if value is None:
        return None
    from hpsearch.run import parse_duration

    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


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


def _run_options(*, device, devices, stale_after, **options):
    """The RunOptions of `run`/`worker`; options left out keep RunOptions' defaults."""
    from hpsearch.run import RunOptions, resolve_devices

    if devices is not None and device is not None:
        raise click.UsageError("--device and --devices cannot be used together")
    if devices is not None:
        options["devices"] = tuple(resolve_devices(devices))
    if stale_after:
        options["stale_after"] = stale_after
    return RunOptions(device=device, **options)


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
@click.option("--sampler", type=_RegistryChoice(_samplers), default=None,
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
    from hpsearch import render
    from hpsearch.run import run_study
    from hpsearch.space import load_space

    if trials is not None and add is not None:
        raise click.UsageError("--trials and --add cannot be used together")
    options = _run_options(device=device, devices=devices, stale_after=stale_after, add=add,
                           timeout=timeout, sampler=sampler, workers=workers,
                           max_concurrent=max_concurrent)
    space = load_space(space_file)
    storage = _open(ctx, create=True)
    with render.RunProgress(quiet=ctx.obj["quiet"]) as progress:
        summary = run_study(storage, space, options, name=study_name, trials=trials, seed=seed,
                            on_event=progress.event)
    render.echo_run_summary(summary)


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
    from hpsearch import render
    from hpsearch.run import join_study

    options = _run_options(device=device, devices=devices, stale_after=stale_after, add=add,
                           timeout=timeout, workers=workers, max_concurrent=max_concurrent)
    ctx.obj["db"] = db_url
    storage = _open(ctx)
    with render.RunProgress(quiet=ctx.obj["quiet"]) as progress:
        summary = join_study(storage, study, options, on_event=progress.event)
    render.echo_run_summary(summary)


# --------------------------------------------------------------------------------------------
# report / studies / show / best


@cli.command()
@click.argument("study")
@click.option("--top", type=click.IntRange(min=1), default=None, help="Only the N best trials.")
@click.option("--sort", "sort_metric", default=None, help="Order by a metric (best first) or a parameter, number or duration (ascending).")
@click.option("--state", "states", multiple=True, type=_RegistryChoice(_states),
              help="Only trials in this state (repeatable).")
@click.option("--round", "round_", type=click.IntRange(min=1), default=None, help="Only this round's trials.")
@click.option("--format", "fmt", type=_RegistryChoice(_formats, first=["table"]), default="table",
              show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the export to this file instead of stdout.")
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write history.png and params.png (value against each parameter, on its "
                   "own scale) for the selected trials into this folder (needs matplotlib).")
@click.pass_context
def report(ctx, study, top, sort_metric, states, round_, fmt, output, plot_dir):
    """A table of STUDY's trials, best first; csv, json (one object per trial) or markdown."""
    from hpsearch import render
    from hpsearch.report import export_trials, select_trials, write_plots

    storage = _open(ctx)
    chosen = dict(round_=round_, states=states, top=top)
    selection = select_trials(storage, study, sort=sort_metric, **chosen)
    if plot_dir is not None:
        # The plots show the best trials of the selection, whatever --sort says.
        plotted = selection if sort_metric is None else select_trials(storage, study, **chosen)
        for path in write_plots(plotted.trials, plotted.study, plot_dir):
            click.echo(f"wrote {path}", err=True)
    if fmt == "table":
        render.print_trials(selection)
        return
    text = export_trials(selection.trials, selection.study, fmt)
    if output is None:
        render.echo_text(text)
    else:
        output.write_text(text)
        click.echo(f"wrote {len(selection.trials)} trials to {output}", err=True)


@cli.command()
@click.option("--format", "fmt", type=_RegistryChoice(_formats, first=["table"]), default="table",
              show_default=True)
@click.pass_context
def studies(ctx, fmt):
    """Every study in the database, with trial counts and the best value."""
    from hpsearch import render
    from hpsearch.report import study_rows

    render.print_rows(study_rows(_open(ctx)), fmt, title="studies")


@cli.command()
@click.argument("study")
@click.argument("number", type=int)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def show(ctx, study, number, fmt):
    """One trial of STUDY: params, seed, device, per-step curve, error."""
    import json

    from hpsearch import render
    from hpsearch.report import get_trial, trial_json

    rec, trial = get_trial(_open(ctx), study, number)
    if fmt == "json":
        click.echo(json.dumps(trial_json(trial, steps=True), indent=1))
    else:
        render.print_trial(rec, trial)


@cli.command()
@click.argument("study")
@click.option("--export", "export", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the best configuration as a space file with every param fixed.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def best(ctx, study, export, fmt):
    """The best completed trial of STUDY; --export writes it as a runnable space file."""
    import json

    from hpsearch import render
    from hpsearch.report import best_space, get_best, trial_json, write_space_file

    rec, trial = get_best(_open(ctx), study)
    if export is not None:
        write_space_file(best_space(rec, trial), export)
    if fmt == "json":
        click.echo(json.dumps(trial_json(trial), indent=1))
    else:
        render.echo_best(rec, trial)
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
@click.option("--sampler", type=_RegistryChoice(_samplers, first=["sobol"]), default="sobol", show_default=True,
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
    from hpsearch import render
    from hpsearch.refine import refine_and_run
    from hpsearch.run import RunOptions

    storage = _open(ctx)
    with render.RunProgress(quiet=ctx.obj["quiet"]) as progress:
        for new, summary in refine_and_run(
                storage, study, rounds=n_rounds, from_round=from_round,
                options=RunOptions(device=device), on_event=progress.event, top=top,
                top_frac=top_frac, trials=trials, margin=margin, sampler=sampler):
            render.echo_refined_round(new, summary)


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
    import json

    from hpsearch import render
    from hpsearch.report import round_space_file, rounds_overview, write_space_file

    storage = _open(ctx)
    if export is not None:
        rec, chosen, space = round_space_file(storage, study, round_)
        write_space_file(space, export)
        click.echo(f"wrote round {chosen.number} of {rec.name} to {export}; run it as a study of "
                   f"its own with: hpsearch run {export}", err=True)
    elif round_ is not None:
        raise click.UsageError("--round only goes with --export here; see `hpsearch report --round`")
    overview = rounds_overview(storage, study)
    if fmt == "json":
        click.echo(json.dumps(overview.to_dict(), indent=1))
    else:
        render.print_rounds(overview)


# --------------------------------------------------------------------------------------------
# entry point


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="hpsearch")


if __name__ == "__main__":  # pragma: no cover
    main()
