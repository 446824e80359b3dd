"""``hpsearch run``, ``worker`` and ``refine``: the commands that run trials.

Each parses its options into :class:`~hpsearch.run.RunOptions`, calls one library function
(:func:`~hpsearch.run.run_study`, :func:`~hpsearch.run.join_study`,
:func:`~hpsearch.refine.refine_and_run`) with a :class:`~hpsearch.render.RunProgress` as its
``on_event``, and prints the run's last line.
"""

from __future__ import annotations

from pathlib import Path

import click

from hpsearch.cli.options import RegistryChoice, duration, open_db, pruner_names, sampler_names

__all__ = ["COMMANDS", "run", "worker", "refine"]


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
    fn = click.option(
        "--threads", type=click.IntRange(min=1), default=None, metavar="N",
        help="CPU threads per trial (default: the objective's; see [trainer] threads).")(fn)
    fn = click.option(
        "--max-consecutive-failures", type=click.IntRange(min=1), default=None, metavar="N",
        help="Stop after N failed trials in a row while the study has no completed trial "
             "(default: [study] max_consecutive_failures, 5).")(fn)
    fn = click.option(
        "--pack", type=PackValue(), default=None, is_flag=False, flag_value="auto",
        metavar="N|auto",
        help="Built-in trainer: train N trials at once in one process. auto (also --pack "
             "with no value): up to 8, kept only if the first pack runs faster than single "
             "trials of its shape, measured in this run.")(fn)
    fn = click.option(
        "--pruner", type=RegistryChoice(pruner_names), default=None,
        help="Stop hopeless trials early from their reported steps: none; median (worse than "
             "the median of the complete trials at the same step); asha (successive halving "
             "at rungs); hyperband (several ASHA brackets). Default: [study] pruner; the "
             "settings go in the space file's [pruner] table.")(fn)
    return fn


class PackValue(click.ParamType):
    """``--pack``: an integer >= 1, or ``auto``."""

    name = "pack"

    def convert(self, value, param, ctx):
        if value == "auto" or (isinstance(value, int) and not isinstance(value, bool)):
            if value == "auto" or value >= 1:
                return value
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = 0
        if number < 1:
            self.fail(f"{value!r} is not an integer >= 1 or 'auto'", param, ctx)
        return number


def _run_options(*, device, devices, stale_after, **options):
    """The RunOptions of `run`/`worker`; options left out keep RunOptions' defaults (so is an
    option this hpsearch's RunOptions does not know yet)."""
    import dataclasses

    from hpsearch.run import RunOptions, resolve_devices

    known = {f.name for f in dataclasses.fields(RunOptions)}
    options = {k: v for k, v in options.items() if k in known or v is not None}

    if devices is not None and device is not None:
        raise click.UsageError("--device and --devices cannot be used together")
    if devices is not None:
        options["devices"] = tuple(resolve_devices(devices))
    if stale_after:
        options["stale_after"] = stale_after
    return RunOptions(device=device, **options)


@click.command()
@click.argument("space_file", type=click.Path(path_type=Path))  # load_space names a folder
@click.option("--trials", type=click.IntRange(min=1), default=None,
              help="Target size of the (latest round of the) study; default: the file's `trials`.")
@click.option("--add", type=click.IntRange(min=1), default=None,
              help="Run N more trials whatever the target (cron: one batch per tick).")
@click.option("--timeout", callback=duration, default=None, metavar="DURATION",
              help="Stop starting new trials after this long (90s, 30m, 2h); a running trial finishes.")
@click.option("--study", "study_name", default=None, help="Study name (default: [study] name or the file's stem).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed of a new study (default: [study] seed).")
@click.option("--sampler", type=RegistryChoice(sampler_names), default=None,
              help="Sampler (default: [study] sampler; a new study stores it).")
@click.option("--device", default=None, help="Built-in trainer device: auto, cpu, cuda, cuda:N.")
@click.option("--stale-after", callback=duration, default=None, metavar="DURATION",
              help="A running trial with no heartbeat for this long is failed as stale and retried (default 2m).")
@click.option("--evolve", is_flag=True,
              help="The file's parameters changed since the study's trials ran: continue in a "
                   "new round with the new space, its model learning from the earlier trials "
                   "that fit (default: refuse; [study] on_change = \"evolve\" does it for cron).")
@click.option("--warm-start", default=None, metavar="STUDY[,STUDY...]",
              help="A new study's model learns from these studies' trials (same database, "
                   "metric and direction; parameters matched by name, out-of-space trials "
                   "skipped). Default: [study] warm_start.")
@click.option("--warm-start-top", type=click.IntRange(min=0), default=None, metavar="K",
              help="With --warm-start: the first K trials run the K best configurations of "
                   "those studies that fit the space, again (default: [study] warm_start_top).")
@_parallel_options
@click.option("--mlflow", "mlflow_uri", default=None, metavar="URI",
              help="Log each trial to MLflow as it ends (a child run of the study's run; "
                   "report --mlflow adds what is missing); needs hpsearch[mlflow].")
@click.pass_context
def run(ctx, space_file, trials, add, timeout, study_name, seed, sampler, device, stale_after,
        evolve, warm_start, warm_start_top,
        workers, devices, max_concurrent, pruner, pack, max_consecutive_failures, threads,
        mlflow_uri):
    """Create or resume the study of SPACE_FILE and run trials until it has its target.

    Every finished trial is committed at once. Ctrl-C (or SIGTERM) marks the running trials
    interrupted and exits 130 (143); running the same command again resumes, re-running them.
    Runs started at the same time on one study (overlapping cron ticks) share it safely; with
    --max-concurrent K a run that finds K trials running exits 0 at once, starting none.
    """
    from hpsearch import render
    from hpsearch.pruners.outlook import pruner_outlook
    from hpsearch.run import run_study
    from hpsearch.space import load_space

    if trials is not None and add is not None:
        raise click.UsageError("--trials and --add cannot be used together")
    options = _run_options(device=device, devices=devices, stale_after=stale_after, add=add,
                           timeout=timeout, sampler=sampler, workers=workers,
                           max_concurrent=max_concurrent, pruner=pruner, pack=pack,
                           max_consecutive_failures=max_consecutive_failures, threads=threads)
    space = load_space(space_file)
    if warm_start is not None or warm_start_top is not None:
        from hpsearch.run import with_warm_start

        names = [n.strip() for n in (warm_start or "").split(",") if n.strip()]
        if warm_start is not None and not names:
            raise click.BadParameter("expected STUDY[,STUDY...]", param_hint="--warm-start")
        space = with_warm_start(space, names, warm_start_top)
    storage = open_db(ctx, create=True)
    outlook = pruner_outlook(pruner or space.study.pruner, space.pruner_settings,
                             trials or space.study.trials)
    if outlook and not ctx.obj["quiet"]:
        render.echo(render.stamped(f"note: {outlook}", render.cron_mode(False)), err=True)
    tracker = None
    if mlflow_uri is not None:  # each trial logged as it ends
        from hpsearch.report.mlflow import MlflowRunCallback

        tracker = MlflowRunCallback(storage, study_name or space.study.name, mlflow_uri)
    with render.RunProgress(quiet=ctx.obj["quiet"]) as progress:
        on_event = progress.event
        if tracker is not None:
            def on_event(ev, _progress=progress.event, _tracker=tracker):
                _progress(ev)
                _tracker(ev)
        summary = run_study(
            storage, space, options, name=study_name, trials=trials, seed=seed,
            on_event=on_event, evolve=evolve,
            on_start=lambda start: render.echo_round_start(start, stamp=progress.stamp))
    if tracker is not None:
        tracker.close()
    _end_run(summary, progress)


@click.command()
@click.argument("target", nargs=-1, required=True, metavar="[DB_URL] STUDY")
@click.option("--add", type=click.IntRange(min=1), default=None,
              help="Run N trials and stop (default: until the latest round has its target).")
@click.option("--timeout", callback=duration, default=None, metavar="DURATION",
              help="Stop starting new trials after this long (90s, 30m, 2h).")
@click.option("--device", default=None, help="Built-in trainer device: auto, cpu, cuda, cuda:N.")
@click.option("--stale-after", callback=duration, default=None, metavar="DURATION",
              help="A running trial with no heartbeat for this long is failed as stale and retried (default 2m).")
@_parallel_options
@click.pass_context
def worker(ctx, target, add, timeout, device, stale_after, workers, devices, max_concurrent,
           pruner, pack, max_consecutive_failures, threads):
    """Join STUDY in the database DB_URL (postgresql://user@host/db) from this machine.

    Without DB_URL the database is --db / HPSEARCH_DB, which keeps a password out of the
    process list (`ps`) of a shared node: the Slurm script of `hpsearch launch` does that.
    No space file is needed: the latest round's stored space says what to run. A python
    objective's module must be importable here (run from its folder or set PYTHONPATH); a
    command objective's program must exist here.
    """
    from hpsearch import render
    from hpsearch.run import join_study

    if len(target) > 2:
        raise click.UsageError(f"expected [DB_URL] STUDY, got {len(target)} arguments")
    db_url, study = target if len(target) == 2 else (ctx.obj["db"], target[0])

    options = _run_options(device=device, devices=devices, stale_after=stale_after, add=add,
                           timeout=timeout, workers=workers, max_concurrent=max_concurrent,
                           pruner=pruner, pack=pack,
                           max_consecutive_failures=max_consecutive_failures, threads=threads)
    ctx.obj["db"] = db_url
    storage = open_db(ctx, missing="DB_URL must name an existing database: the one the study "
                                   "was created in")
    with render.RunProgress(quiet=ctx.obj["quiet"]) as progress:
        summary = join_study(storage, study, options, on_event=progress.event)
    _end_run(summary, progress)


def _end_run(summary, progress) -> None:
    """The run's last line, with a timestamp in cron mode (off a terminal, or --quiet)."""
    from hpsearch import render

    render.echo_run_summary(summary, stamp=progress.stamp)


@click.command()
@click.argument("study")
@click.option("--top", type=click.IntRange(min=1), default=None,
              help="Span the box over the best K completed trials of the round (default: see "
                   "--top-frac). Pruned trials never count: their values are partial.")
@click.option("--top-frac", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="Or: this fraction of the round's completed trials, at least 3 (default 0.2).")
@click.option("--trials", type=click.IntRange(min=1), default=20, show_default=True,
              help="Trials to run in each new round.")
@click.option("--margin", type=click.FloatRange(min=0), default=0.1, show_default=True,
              help="Widen each side of the top trials' box by this fraction of its width "
                   "(in unit-cube coordinates; a box is at least 5% of the file's range wide).")
@click.option("--rounds", "n_rounds", type=click.IntRange(min=1), default=1, show_default=True,
              help="Refine and run this many times, each round from the previous one.")
@click.option("--from-round", type=click.IntRange(min=1), default=None,
              help="Refine from this round instead of the latest.")
@click.option("--sampler", type=RegistryChoice(sampler_names, first=["auto", "sobol"]),
              default="auto", show_default=True,  # = refine.DEFAULT_REFINE_SAMPLER (light import)
              help="Sampler of the new rounds: auto runs a model inside the box after the "
                   "study's n_startup_trials Sobol points (better best values in the "
                   "benchmarks); sobol fills the box evenly, as the course does.")
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

    if top is not None and top_frac is not None:
        raise click.UsageError("--top and --top-frac cannot be used together")
    fraction = {} if top_frac is None else {"top_frac": top_frac}
    storage = open_db(ctx)
    with render.RunProgress(quiet=ctx.obj["quiet"]) as progress:
        for new, summary in refine_and_run(
                storage, study, rounds=n_rounds, from_round=from_round,
                options=RunOptions(device=device), on_event=progress.event, top=top,
                trials=trials, margin=margin, sampler=sampler, **fraction):
            render.echo_refined_round(new, summary, stamp=progress.stamp)


COMMANDS = (run, worker, refine)
