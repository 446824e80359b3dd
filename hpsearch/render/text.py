"""What every drawing shares: the console, the timestamp formats, the value formatters.

Values are formatted by one function, :func:`hpsearch.values.fmt`, here in its table style
:func:`fmt_value` (of :mod:`hpsearch.report.rows`);
durations by :func:`fmt_seconds`. rich is imported inside the functions, so
``hpsearch --help`` does not pay for it.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Any

import click

from hpsearch.report.rows import fmt_value

__all__ = [
    "console", "fmt_value", "fmt_seconds", "range_text", "echo_text", "esc", "plural",
    "cron_mode", "stamped", "TIME_FORMAT", "LOG_FORMAT", "report_width", "visible", "echo",
    "VisibleFormatter",
]


def console(err: bool = False):
    """A rich console on stdout (or stderr) for the current streams."""
    from rich.console import Console

    stream = sys.stderr if err else sys.stdout
    # Off a terminal (pipes, cron logs, CliRunner) rich would assume 80 columns and squeeze the
    # tables into ellipses; a wide fixed width keeps every value readable there.
    width = None if stream.isatty() else 320
    return Console(stderr=err, highlight=False, soft_wrap=False, width=width)


#: The one timestamp format: cron-mode lines (off a terminal, or --quiet) and log records.
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
#: The format of log records (warnings of the library), so that a cron log reads as one.
LOG_FORMAT = "%(asctime)s %(levelname)s: %(message)s"


# Control characters a terminal would act on (ESC starts colour, title and cursor sequences; CR
# overwrites a line; BEL, backspace, DEL, the C1 range with its one-byte CSI and OSC): all but
# tab and newline.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible(value: Any) -> str:
    """``value`` as text with every control character a terminal would act on shown as its
    escape (``\\x1b``, ``\\r``, ``\\x07``); tab and newline stay. Everything hpsearch prints
    to a terminal or log passes here (:func:`esc`, :func:`echo`, error lines, log records); what
    is stored is stored as it came."""
    return _CONTROL.sub(_shown, str(value))


def _shown(m: re.Match) -> str:
    char = m.group()
    return {"\r": "\\r", "\b": "\\b", "\f": "\\f", "\v": "\\v"}.get(char, f"\\x{ord(char):02x}")


def echo(message: Any = "", *, err: bool = False, nl: bool = True) -> None:
    """``click.echo`` of :func:`visible` text: every plain line the commands print."""
    click.echo(visible(message), err=err, nl=nl)


class VisibleFormatter(logging.Formatter):
    """Log records with control characters shown (:func:`visible`): a warning quoting a
    command's output cannot drive the terminal either."""

    def format(self, record: logging.LogRecord) -> str:
        return visible(super().format(record))


def esc(value: Any) -> str:
    """``value`` as text that rich prints as is: user strings (parameter names, choice values,
    conditions such as ``optimizer in [sgd, rmsprop]``, errors) are never read as markup, and
    their control characters are shown (:func:`visible`), never sent to the terminal."""
    from rich.markup import escape

    return escape(visible(value))


def plural(n: int, word: str) -> str:
    """``1 trial``, ``2 trials``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def cron_mode(quiet: bool) -> bool:
    """Whether run lines are for a log (stdout is no terminal, or --quiet): then each carries a
    timestamp, as cron logs have no dates of their own."""
    return quiet or not sys.stdout.isatty()


def stamped(line: str, stamp: bool) -> str:
    """``line``, after the current time in :data:`TIME_FORMAT` when ``stamp``."""
    return f"{time.strftime(TIME_FORMAT)} {line}" if stamp else line


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
    """An export (csv, json, markdown) on stdout, with exactly one final newline. Exports are
    data: written as stored (JSON escapes control characters itself), except on a terminal,
    where they are shown (:func:`visible`)."""
    click.echo(visible(text) if sys.stdout.isatty() else text, nl=not text.endswith("\n"))


def report_width() -> int:
    """The width report tables fit: the terminal's; off a terminal ``COLUMNS``, else 100 (a
    pipe into ``head`` or a cron mail reads like a wide terminal, not like 320 columns)."""
    import os
    import shutil

    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    cols = os.environ.get("COLUMNS", "").strip()
    return int(cols) if cols.isdigit() and int(cols) > 0 else 100
