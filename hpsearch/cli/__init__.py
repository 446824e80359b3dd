"""The command line: parse options, call one library function, hand its result to render.

Every command is a few lines over the library API (:mod:`hpsearch`); everything it shows is
drawn by :mod:`hpsearch.render`. Errors from :mod:`hpsearch.errors` are caught in one place
(:class:`~hpsearch.cli.errors.CliGroup`) and printed as one red line with the class's exit
code; so are interrupts and unwritable output files. Choice lists come from the registries
(samplers, trial states, export formats), loaded when a command needs them, so
``hpsearch --help`` imports neither SQLAlchemy nor PyTorch.

This package holds the group and its global options; the commands live in modules by family:
:mod:`~hpsearch.cli.validate`, :mod:`~hpsearch.cli.run` (run, worker, refine),
:mod:`~hpsearch.cli.study` (report, studies, show, best, rounds) and
:mod:`~hpsearch.cli.launch` (create, launch); what they share is in
:mod:`~hpsearch.cli.options`.
"""

from __future__ import annotations

import sys

import click

from hpsearch.cli.errors import CliGroup, catch_stop_signals
from hpsearch.errors import EXIT_CODES

__all__ = ["cli", "main", "EXIT_CODE_HELP"]

EXIT_CODE_HELP = "\n".join(f"  {code:>3}  {text}" for code, text in EXIT_CODES.items())


@click.group(
    cls=CliGroup,
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

    from hpsearch.render.text import LOG_FORMAT, TIME_FORMAT, VisibleFormatter

    # One format for the library's warnings and the run lines of cron mode (render.stamped);
    # control characters in a record are shown, not sent to the terminal.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(VisibleFormatter(LOG_FORMAT, datefmt=TIME_FORMAT))
    logging.basicConfig(
        level=logging.DEBUG if verbose else (logging.ERROR if quiet else logging.WARNING),
        handlers=[handler],
    )
    ctx.obj = {"db": db, "quiet": quiet, "verbose": verbose}


def _register_commands() -> None:
    """Every command module's ``COMMANDS`` on the group (click lists them by name)."""
    from hpsearch.cli import launch, run, serve, study, validate

    for module in (validate, run, study, launch, serve):
        for command in module.COMMANDS:
            cli.add_command(command)


_register_commands()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    catch_stop_signals()
    cli.main(args=argv, prog_name="hpsearch")
