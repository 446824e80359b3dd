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

    return Console(stderr=err, highlight=False, soft_wrap=False)


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
        level=logging.DEBUG if verbose else (logging.WARNING if quiet else logging.INFO),
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
@click.option("--seed", type=int, default=None, help="Seed for the samples (default: the study's).")
def validate(space_file: Path, n_samples: int, fmt: str, seed: int | None) -> None:
    """Parse SPACE_FILE, show its parameters and sample configurations. Writes nothing."""
    from hpsearch.samplers import make_sampler
    from hpsearch.space import load_space

    space = load_space(space_file)
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
    if configs:
        names = list(space.params)
        samples = Table("#", *names, title=f"{len(configs)} sample configurations")
        for i, config in enumerate(configs):
            samples.add_row(str(i), *(_fmt_value(config[n]) if n in config else "-" for n in names))
        console.print(samples)


def _fmt_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


# --------------------------------------------------------------------------------------------
# entry point


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="hpsearch")


if __name__ == "__main__":  # pragma: no cover
    main()
