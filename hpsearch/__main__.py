"""``python -m hpsearch`` is the ``hpsearch`` command (and :func:`console`, the console
script's entry point).

A SIGINT or SIGTERM while the command line is still being imported (click, the commands: the
first tens of milliseconds) ends the process with one line and 130/143, as one later does,
not with a ``KeyboardInterrupt`` traceback from inside an import: :func:`quiet_early_signals`
is installed before anything else is imported, and the CLI's own handlers
(``hpsearch.cli.errors.catch_stop_signals``) replace it once it is ready.
"""

from __future__ import annotations

import os
import signal


def _early_exit(signum: int, _frame: object) -> None:
    name = signal.Signals(signum).name
    os.write(2, f"error: interrupted by {name} while starting; no trial was running\n".encode())
    os._exit(128 + signum)  # nothing has started: no file, no trial to mark


def quiet_early_signals() -> None:
    """SIGINT and SIGTERM exit at once, quietly (one line, 128 + the signal), until the CLI
    installs its handlers."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _early_exit)


def console() -> None:
    """The ``hpsearch`` console script."""
    quiet_early_signals()
    from hpsearch.cli import main

    main()


if __name__ == "__main__":
    console()
