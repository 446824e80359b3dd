"""The edge of the command line: where errors, interrupts and OSErrors become one line.

:class:`CliGroup` is the click group of :mod:`hpsearch.cli`: an error of
:mod:`hpsearch.errors` is one red line and the class's exit code; an interrupt that no run loop
handled (start-up, between refine rounds) is one line and 130 (143 for SIGTERM), never click's
"Aborted!"; an OSError (an output file in a missing or read-only folder, a full disk) is one
line and exit 2. :func:`catch_stop_signals` makes SIGTERM an interrupt like SIGINT from the
first moment of the console script.
"""

from __future__ import annotations

import errno
import signal
import sys

import click

from hpsearch.errors import HpsearchError

__all__ = ["CliGroup", "Stopped", "catch_stop_signals", "fail", "interrupted", "os_error_text"]


class Stopped(KeyboardInterrupt):
    """SIGINT or SIGTERM outside a run loop (start-up, between refine rounds, the summary).

    A KeyboardInterrupt, so that no ``except Exception`` on the way swallows it; ``signum``
    says which signal it was (the run loop reads it the same way)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def fail(message: str, code: int) -> None:
    """One red line on stderr, then exit ``code``; control characters in ``message`` (a study
    name, a command's output) are shown, not sent to the terminal."""
    from hpsearch.render.text import visible

    click.echo(click.style("error: ", fg="red") + visible(message), err=True)
    sys.exit(code)


def interrupted(exc: KeyboardInterrupt) -> None:
    """An interrupt no run loop handled: nothing was running, so nothing was marked."""
    signum = getattr(exc, "signum", signal.SIGINT)
    fail(f"interrupted by {signal.Signals(signum).name}; no trial was running", 128 + signum)


def os_error_text(exc: OSError) -> str:
    """``out/x.csv: No such file or directory``: the path first, as in every other error."""
    if exc.filename is None:
        return exc.strerror or str(exc)
    return f"{exc.filename}: {exc.strerror or exc}"


class CliGroup(click.Group):
    """Turns library errors into one red line on stderr and the error's exit code.

    Done here rather than in ``main`` so that click's ``CliRunner`` sees the same behaviour
    as the console script. An interrupt outside a run loop is one line and 130 (143 for
    SIGTERM), not click's "Aborted!"; an OSError (an output file in a missing or read-only
    folder, a full disk) is one line and exit 2, like any other bad path.
    """

    def make_context(self, *args, **kwargs):
        try:
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt as exc:
            interrupted(exc)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except HpsearchError as exc:
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt as exc:
            interrupted(exc)
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # click's own: a closed pipe (| head) is no error
                raise
            fail(os_error_text(exc), 2)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command with its whole summary (its docstring's first paragraph), wrapped, not
        cut short with "..." as click does at the terminal's width."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                text = command.short_help or (command.help or "").split("\n\n")[0]
                rows.append((name, " ".join(text.split())))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def catch_stop_signals() -> None:
    """SIGINT and SIGTERM raise :class:`Stopped` from now on (a run loop installs its own
    handlers while it runs and restores these). Only the first signal counts: another one while
    the process says so and exits is ignored, so it cannot cut that line short."""
    fired: list[int] = []

    def handler(signum: int, _frame: object) -> None:
        if not fired:
            fired.append(signum)
            raise Stopped(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handler)
