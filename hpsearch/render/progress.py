"""The run progress: a rich bar on a terminal, one plain line per finished trial off it."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING


from hpsearch.render.summary import step_text, trial_line
from hpsearch.render.text import console, cron_mode, echo, esc, plural, stamped

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from hpsearch.run import TrialEvent

__all__ = ["RunProgress"]


class RunProgress:
    """A rich progress bar on a terminal; one plain line per trial otherwise (cron, pipes).

    On a terminal the bar says which trial runs, its step and its last reported metrics, and
    each finished trial leaves one line above it; the bar appears with the first trial, so a
    run with nothing to do shows none. Off a terminal each finished trial is one line with a
    timestamp (a cron log). Use as a context manager and pass :meth:`event` as the run's
    ``on_event``.
    """

    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stdout.isatty() and not quiet
        self.stamp = cron_mode(quiet)
        self.bar: Progress | None = None
        self.task: TaskID | None = None
        #: What each running trial last reported: number -> "step 3: val_loss=0.21".
        self.running: dict[int, str] = {}

    def __enter__(self) -> RunProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def _start_bar(self) -> tuple[Progress, TaskID]:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                            TextColumn("{task.fields[count]}"), TimeElapsedColumn(),
                            TextColumn("{task.fields[best]}"), TextColumn("{task.fields[detail]}"),
                            console=console())
        self.bar.start()
        self.task = self.bar.add_task("trials", total=None, count="", best="", detail="")
        return self.bar, self.task

    def event(self, ev: TrialEvent) -> None:
        t = ev.trial
        if ev.kind == "start":
            self.running[t.number] = ""
        elif ev.kind == "step":
            self.running[t.number] = step_text(getattr(ev, "step", None), getattr(ev, "metrics", None))
        else:
            self.running.pop(t.number, None)
        if self.tty:
            self._draw(ev)
        elif not self.quiet and ev.kind == "end":
            echo(stamped(trial_line(ev), self.stamp))

    def _draw(self, ev: TrialEvent) -> None:
        if self.bar is None or self.task is None:
            bar, task = self._start_bar()
        else:
            bar, task = self.bar, self.task
        if ev.kind == "end":
            bar.console.print(esc(trial_line(ev)), highlight=False)
        numbers = sorted(self.running)
        if not numbers:
            desc, detail = "trials", ""
        elif len(numbers) == 1:
            desc, detail = f"trial {numbers[0]} running", self.running[numbers[0]]
        else:
            desc = f"trials {', '.join(map(str, numbers))} running"
            detail = (f"trial {ev.trial.number} {self.running[ev.trial.number]}"
                      if ev.kind == "step" and ev.trial.number in self.running else "")
        count = f"{ev.done}/{ev.total}" if ev.total is not None else f"{plural(ev.done, 'trial')} done"
        best = "" if ev.best_value is None else f"best {ev.best_value:.4g}"
        bar.update(task, total=ev.total, completed=ev.done, description=desc,
                        count=count, best=best, detail=esc(detail))
