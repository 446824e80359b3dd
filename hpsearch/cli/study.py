"""``hpsearch report``, ``studies``, ``show``, ``best`` and ``rounds``: reading studies back.

Each opens the database read-only, calls the library (:mod:`hpsearch.report`) and hands the
result to :mod:`hpsearch.render`, or writes an export.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hpsearch.cli.options import RegistryChoice, format_names, open_db, state_names

__all__ = ["COMMANDS", "report", "studies", "show", "best", "rounds"]


def _report_formats() -> list[str]:
    from hpsearch.report import FORMATS

    return [*FORMATS, "html"]


@click.command()
@click.argument("studies", nargs=-1, required=True, metavar="STUDY [STUDY...]")
@click.option("--top", type=click.IntRange(min=1), default=None,
              help="Only the N best trials (a terminal table shows the best 20 unless asked).")
@click.option("--sort", "sort_key", default=None, metavar="KEY",
              help="Order by a metric in its own sense (a loss or error ascending; accuracy, auc, "
                   "f1, precision, recall descending; the study's metric in its direction; other "
                   "names descending), a parameter, number, round or duration (ascending). "
                   "-KEY: descending, +KEY: ascending.")
@click.option("--asc/--desc", "ascending", default=None, help="Force the --sort order.")
@click.option("--state", "states", multiple=True, type=RegistryChoice(state_names),
              help="Only trials in this state (repeatable).")
@click.option("--round", "round_", type=click.IntRange(min=1), default=None, help="Only this round's trials.")
@click.option("--format", "fmt", type=RegistryChoice(_report_formats, first=["table"]), default=None,
              help="table (default), csv, json (one object per trial), markdown or html; with -o "
                   "and no --format, the file's suffix (.csv .json .md .html) says.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report to this file (atomically) instead of stdout.")
@click.option("--html", "html_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write one self-contained HTML page (every STUDY on it) to this file, "
                   "atomically: cheap enough for a crontab line after every batch.")
@click.option("--importance", is_flag=True,
              help="Print each parameter's importance (PED-ANOVA over the completed trials).")
@click.option("--columns", default=None, metavar="A,B,C",
              help="Table columns: these (parameters, metrics, round, state, value, duration).")
@click.option("--all-columns", is_flag=True, help="Table columns: every parameter, however wide.")
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write history.png and params.png (value against each parameter, on its "
                   "own scale) for the selected trials into this folder (needs matplotlib).")
@click.option("--tensorboard", "tensorboard_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None,
              help="Write the study for TensorBoard's HParams dashboard into this folder (one "
                   "run per trial: params, final metrics, curves); needs hpsearch[tensorboard].")
@click.option("--mlflow", "mlflow_uri", default=None, metavar="URI",
              help="Log the study to MLflow (a parent run, a child run per trial; a second "
                   "export duplicates nothing): sqlite:///mlflow.db, http://host:5000, ...; "
                   "needs hpsearch[mlflow].")
@click.pass_context
def report(ctx, studies, top, sort_key, ascending, states, round_, fmt, output, html_out,
           importance, columns, all_columns, plot_dir, tensorboard_dir, mlflow_uri):
    """STUDY's trials, best first: a table fitted to the terminal; csv, json, markdown
    (streamed, any size); one HTML page (--html, several studies side by side); importance."""
    from hpsearch import render
    from hpsearch import report as lib

    rows_asked = fmt is not None or output is not None
    if fmt is None and output is not None:
        fmt = lib.format_for(output) or "table"  # -o x.txt: the table, as text
    fmt = fmt or "table"
    if fmt == "html":
        if output is None and html_out is None:
            raise click.UsageError("--format html needs -o FILE (or use --html FILE)")
        html_out = html_out or output
        output = None
    if len(studies) > 1 and (html_out is None or output is not None or importance):
        raise click.UsageError("several studies go only with --html FILE")
    if columns is not None and all_columns:
        raise click.UsageError("--columns and --all-columns cannot be used together")
    descending = None if ascending is None else not ascending
    storage = open_db(ctx)
    if tensorboard_dir is not None or mlflow_uri is not None:  # the trackers
        if len(studies) > 1:
            raise click.UsageError("--tensorboard and --mlflow take one study")
        from hpsearch.report.trackers import export_trackers

        for line in export_trackers(storage, studies[0], tensorboard=tensorboard_dir,
                                    mlflow=mlflow_uri):
            click.echo(line, err=True)
        if not rows_asked and html_out is None and not importance and plot_dir is None:
            return
    if html_out is not None:
        from hpsearch.report.html import DEFAULT_MAX_POINTS, load_study_data, write_html

        data = [load_study_data(storage, name, max_points=DEFAULT_MAX_POINTS) for name in studies]
        click.echo(f"wrote {write_html(html_out, data)}", err=True)
        if fmt == "html" or (output is None and not importance and plot_dir is None):
            return
    study = studies[0]
    if importance:
        if fmt not in ("table", "json") or output is not None:
            raise click.UsageError("--importance prints a table or --format json on stdout")
        rec = storage.get_study(study)
        render.print_importance(rec, lib.importance_of(storage, rec, round_=round_), fmt)
        return
    chosen = dict(round_=round_, states=states)
    if plot_dir is not None:
        # The plots show the best trials of the selection, whatever --sort says, and the
        # running best over every trial.
        rec, shown, history = lib.plot_selection(storage, study, top=top, **chosen)
        paths = lib.write_plots(shown, rec, plot_dir, history=history)
        for path in paths:
            click.echo(f"wrote {path}", err=True)
    if fmt == "table":
        selection = lib.select_trials(storage, study, sort=sort_key, descending=descending,
                                      top=top or _table_rows(), **chosen)

        def rank_params() -> list[str]:
            from hpsearch.report.insight import column_order

            return column_order(storage, selection.study, round_=round_)

        cols = None if columns is None else [c.strip() for c in columns.split(",") if c.strip()]
        if cols:
            lib.check_columns(selection, cols)
        if output is None:
            render.print_trials(selection, columns=cols, all_columns=all_columns,
                                rank_params=rank_params)
        else:
            with lib.atomic_text(output) as f:
                render.print_trials(selection, columns=cols, all_columns=all_columns,
                                    rank_params=rank_params, file=f)
            click.echo(f"wrote {len(selection.trials)} trials to {output}", err=True)
        return
    if output is None:
        lib.export_study(storage, study, sys.stdout, fmt, sort=sort_key, descending=descending,
                         top=top, **chosen)
    else:
        with lib.atomic_text(output) as f:
            n = lib.export_study(storage, study, f, fmt, sort=sort_key, descending=descending,
                                 top=top, **chosen)
        click.echo(f"wrote {n} trials to {output}", err=True)


def _table_rows() -> int:
    """A terminal table shows the best 20 trials, fewer when the terminal is short."""
    import shutil

    if sys.stdout.isatty():
        return max(5, min(20, shutil.get_terminal_size().lines - 8))
    return 20


@click.command()
@click.option("--format", "fmt", type=RegistryChoice(format_names, first=["table"]), default="table",
              show_default=True)
@click.pass_context
def studies(ctx, fmt):
    """Every study in the database, with trial counts and the best value."""
    from hpsearch import render
    from hpsearch.report import study_rows

    render.print_rows(study_rows(open_db(ctx)), fmt, title="studies")


@click.command()
@click.argument("study")
@click.argument("number", type=int)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def show(ctx, study, number, fmt):
    """One trial of STUDY: params, seed, device, per-step curve, error."""
    import json

    from hpsearch import render
    from hpsearch.report import get_trial, trial_json

    rec, trial = get_trial(open_db(ctx), study, number)
    if fmt == "json":
        click.echo(json.dumps(trial_json(trial, steps=True), indent=1))
    else:
        render.print_trial(rec, trial)


@click.command()
@click.argument("study")
@click.option("--export", "export", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the best configuration (with several objectives: the --pick one) as a "
                   "space file with every param fixed.")
@click.option("--pick", "pick", default=None, metavar="METRIC",
              help="Several objectives: the member of the feasible Pareto front best in this "
                   "objective (what --export, --test and the output then show).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--test", "test", is_flag=True,
              help="Retrain the best trial (same params, seed and split) and evaluate it on the "
                   "test split ([trainer] test_fraction): the only model that split ever sees.")
@click.option("--weights", "weights", type=click.Path(dir_okay=False, path_type=Path),
              default=None,
              help="Write the best trial's kept checkpoint ([trainer] keep_best) to this file "
                   "(with --pick, the picked front member's); load it with hpsearch.load_model.")
@click.pass_context
def best(ctx, study, export, pick, fmt, test, weights):
    """The best completed trial of STUDY; --export writes it as a runnable space file.

    With several objectives: the feasible Pareto front (the trials no other feasible trial
    beats in every objective); --pick METRIC names the member best in one of them.
    Only complete trials count: a pruned trial's value is its best before it was stopped,
    from fewer steps, so it is never taken as the best.
    """
    import json

    from hpsearch import render
    from hpsearch.report import best_space, get_best, trial_json, write_space_file
    from hpsearch.report.front import study_front, study_objectives, trial_values_of
    from hpsearch.report.relocate import relocate_space

    storage = open_db(ctx)
    rec = storage.get_study(study)
    objectives = study_objectives(rec)
    if weights is not None:  # first: exit 3 before anything else is written
        from hpsearch.report.weights import write_best_weights

        _, kept, written = write_best_weights(storage, study, weights, pick=pick)
        click.echo(f"wrote {written} (trial {kept.number}); load it with "
                   f"hpsearch.load_model({str(written)!r})", err=True)
    if objectives.multi or pick is not None:
        front = study_front(storage, study)
        if pick is None and objectives.multi:
            if export is not None or test:
                raise click.UsageError("a study with several objectives has a front, not one "
                                       "best: add --pick METRIC to choose the trial to "
                                       f"{'--export' if export is not None else '--test'}")
            if fmt == "json":
                click.echo(json.dumps([{**trial_json(t), "values": trial_values_of(
                    t, objectives.metrics)} for t in front.members], indent=1))
            else:
                render.print_front(front)
            return
        trial = front.pick(pick or objectives.metrics[0])
    else:
        rec, trial = get_best(storage, study)
    test_metrics = None
    if test:
        from hpsearch.objectives import evaluate_on_test
        from hpsearch.space import Space

        click.echo(f"retraining trial {trial.number} for the test split ...", err=True)
        space = Space.from_dict(rec.space, source=rec.source)
        test_metrics = {k: v for k, v in evaluate_on_test(space, trial.params, trial.seed).items()
                        if k.startswith("test_")}
    if export is not None:
        write_space_file(relocate_space(best_space(rec, trial), source=rec.source, target=export),
                         export)
    if fmt == "json":
        record = trial_json(trial)
        if objectives.multi or pick is not None:
            record["values"] = trial_values_of(trial, objectives.metrics)
        if test_metrics is not None:
            record["test_metrics"] = test_metrics
        click.echo(json.dumps(record, indent=1))
    elif objectives.multi or pick is not None:
        render.echo_best(rec, trial, values=trial_values_of(trial, objectives.metrics),
                         picked=pick or objectives.metrics[0])
    else:
        render.echo_best(rec, trial)
        if test_metrics is not None:
            render.echo_test_metrics(test_metrics)
    if export is not None:
        click.echo(f"wrote {export}; retrain it with: hpsearch run {export}", err=True)


@click.command()
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
    from hpsearch.report.relocate import relocate_space

    storage = open_db(ctx)
    if export is not None:
        rec, chosen, space = round_space_file(storage, study, round_)
        write_space_file(relocate_space(space, source=rec.source, target=export), export)
        click.echo(f"wrote round {chosen.number} of {rec.name} to {export}; run it as a study of "
                   f"its own with: hpsearch run {export}", err=True)
    elif round_ is not None:
        raise click.UsageError("--round only goes with --export here; see `hpsearch report --round`")
    overview = rounds_overview(storage, study)
    if fmt == "json":
        click.echo(json.dumps(overview.to_dict(), indent=1))
    else:
        render.print_rounds(overview)


COMMANDS = (report, studies, show, best, rounds)
