"""``kind = "command"``: run a training program, read its metric from stdout.

``argv = ["python", "train.py", "--lr={learning_rate}"]`` is formatted with the trial's params
and run without a shell, in the space file's folder. An argument may hold ``{name}`` of a
parameter (its value as ``str()`` gives it) and ``{{`` / ``}}`` for a literal brace; nothing
else of Python's format syntax (``{x:>9}``, ``{x!r}``, ``{x.real}``, ``{x[0]}``, ``{}``) is
accepted: validate refuses it, naming the field. The params also arrive as JSON in
``HPSEARCH_PARAMS`` (with ``HPSEARCH_TRIAL`` and ``HPSEARCH_SEED``). The metric is the last JSON
line on stdout that holds the metric's key (earlier ones are intermediate reports; a ``"step"``
key numbers them), or the last match of ``metric_regex``'s first group. ``timeout`` ("10m")
bounds a trial; a non-zero exit is a failed trial that keeps the tail of stderr.

The program runs in its own session (process group), so that everything it started can be
stopped together: on a timeout, a pruning stop (SIGTERM, then SIGKILL after ``kill_grace``,
default 10 s), an interrupt, and after it exited (a background child left holding stdout
would otherwise stretch the trial: reading stops a short drain after the program exits).
Output is decoded as UTF-8 with replacement, so no byte can break a reader.
"""

from __future__ import annotations

import json
import logging
import math
import os
import queue
import re
import shutil
import signal
import string
import subprocess
import sys
from pathlib import Path
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Mapping

from hpsearch.errors import ObjectiveError, SpaceError
from hpsearch.objectives.base import Objective, ReportGate, TrialContext, TrialFailed, space_dir
from hpsearch.space import fmt
from hpsearch.timeparse import parse_duration

log = logging.getLogger(__name__)

STDERR_TAIL_LINES = 20
#: Default ``kill_grace``: seconds between SIGTERM and SIGKILL when a trial is pruned.
KILL_GRACE_S = 10.0
#: After the program exits, its output is read this much longer (what it wrote is in the pipe
#: already; only a background child still holding the pipe makes the drain last this long).
DRAIN_S = 1.0
#: A line longer than this is read in pieces and dropped (no single line may take all the
#: memory); a trial whose result was lost so says.
LINE_LIMIT = 1 << 20
#: What is kept of an overlong stderr line.
_CUT_AT = 2000


@dataclass(frozen=True)
class CommandSettings:
    """The ``[objective]`` table of a command objective, checked: each mistake is refused here,
    once, with a message naming the key (``space.toml: objective.argv: ...``)."""

    argv: tuple[str, ...]
    regex: re.Pattern[str] | None = None
    timeout: float | None = None
    kill_grace: float = KILL_GRACE_S

    @classmethod
    def from_space(cls, space) -> "CommandSettings":
        obj = space.objective
        where = f"{space.source}: objective"
        argv = obj.get("argv")
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            raise SpaceError(f"{where}.argv: a command objective needs argv = a non-empty list "
                             f"of strings (got {fmt(argv)})")
        regex = None
        if "metric_regex" in obj:
            try:
                regex = re.compile(str(obj["metric_regex"]))
            except re.error as exc:
                raise SpaceError(f"{where}.metric_regex: not a regular expression: {exc}") from exc
            if regex.groups < 1:
                raise SpaceError(f"{where}.metric_regex: needs a group around the number")
        timeout = None
        if "timeout" in obj:
            try:
                timeout = parse_duration(obj["timeout"])
            except ValueError as exc:
                raise SpaceError(f"{where}.timeout: {exc}") from exc
        kill_grace = KILL_GRACE_S
        if "kill_grace" in obj:
            try:
                kill_grace = parse_duration(obj["kill_grace"])
            except ValueError as exc:
                raise SpaceError(f"{where}.kill_grace: {exc}") from exc
        for arg in argv:  # a bad {placeholder} is a mistake in the file, not in each trial
            try:
                list(string.Formatter().parse(arg))
            except ValueError as exc:
                raise SpaceError(f"{where}.argv: {arg!r}: {exc} (write a literal brace as {{{{ or }}}})") from exc
            for _text, field, spec, conversion in string.Formatter().parse(arg):
                if field is None:
                    continue
                # Only {name}: a conversion, format spec, attribute or index would run Python's
                # formatting on each trial (a traceback, or a 100 GB padding).
                shown = "{" + field + (f"!{conversion}" if conversion else "") + \
                    (f":{spec}" if spec else "") + "}"
                if field and re.split(r"[.\[]", field, maxsplit=1)[0] not in space.params:
                    raise SpaceError(f"{where}.argv: {{{field}}} in {arg!r} is not a parameter "
                                     f"(write a literal brace as {{{{ or }}}})")
                if conversion or spec or re.search(r"[.\[\]]", field) or not field:
                    raise SpaceError(
                        f"{where}.argv: {shown} in {arg!r}: only {{name}} of a parameter is "
                        "allowed (no format spec, conversion, attribute or index; a literal "
                        "brace is {{ or }})")

        return cls(argv=tuple(argv), regex=regex, timeout=timeout, kill_grace=kill_grace)


class CommandObjective(Objective):
    kind = "command"

    def __init__(self, settings: CommandSettings, *, metric: str, cwd: str) -> None:
        self.settings = settings
        self.metric = metric
        self.cwd = cwd

    @property
    def argv(self) -> list[str]:
        return list(self.settings.argv)

    @property
    def regex(self) -> re.Pattern[str] | None:
        return self.settings.regex

    @property
    def timeout(self) -> float | None:
        return self.settings.timeout

    @classmethod
    def from_space(cls, space, *, device: str | None = None,
                   threads: int | None = None) -> "CommandObjective":
        """Check the settings (:class:`CommandSettings`), then that the program exists."""
        settings = CommandSettings.from_space(space)
        cwd = space_dir(space)
        program = settings.argv[0]
        if program not in ("python", "python3"):
            found = (cwd / program).is_file() if "/" in program else shutil.which(program)
            if not found:
                raise ObjectiveError(f"{space.source}: objective.argv: program {program!r} not found"
                                     + (f" in {cwd}" if "/" in program else " on PATH"))
        return cls(settings, metric=space.study.metric, cwd=str(cwd))

    def artifact_base(self) -> Path:  # a relative "artifact" is the command's
        return Path(self.cwd)

    def run(self, params: Mapping[str, Any], context: TrialContext):
        try:
            argv = [arg.format(**params) for arg in self.argv]
        except KeyError as exc:  # an inactive conditional parameter
            raise TrialFailed(f"argv needs {exc.args[0]!r}, which is inactive in this trial") from exc
        env = dict(os.environ, HPSEARCH_PARAMS=json.dumps(dict(params)),
                   HPSEARCH_TRIAL=str(context.number), HPSEARCH_SEED=str(context.seed))
        if argv[0] in ("python", "python3"):
            argv[0] = sys.executable  # the interpreter hpsearch runs in, not whatever is on PATH
        try:
            # Its own session: the program and whatever it starts form one process group that
            # a timeout, a pruning stop or an interrupt ends together.
            proc = subprocess.Popen(argv, cwd=self.cwd, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True)
        except OSError as exc:
            raise TrialFailed(f"cannot start {argv[0]!r}: {exc}") from exc
        tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        lines: queue.Queue[str | None] = queue.Queue()
        long_lines: list[int] = []
        threading.Thread(target=_pump, args=(proc.stdout, lines.put, long_lines.append),
                         daemon=True).start()
        err = threading.Thread(target=_pump, args=(proc.stderr, _skip_none(tail.append)),
                               daemon=True)
        err.start()
        gate = ReportGate(context.report)
        try:
            run = _Watch(proc, lines, self.timeout, self.settings.kill_grace)
            final = self._read(run, gate)
        except BaseException:
            _kill_group(proc, signal.SIGKILL)
            proc.wait()
            raise
        # Whatever the program left behind (a background child holding the pipe) goes too.
        _kill_group(proc, signal.SIGKILL)
        err.join(timeout=1)
        if gate.stopped_at is not None:
            raise gate.pruned(final)
        if run.timed_out:
            raise TrialFailed(f"timed out after {self.timeout:g} s (objective.timeout)")
        if proc.returncode != 0:
            stderr = "".join(tail).strip()
            raise TrialFailed(f"exit code {proc.returncode}" + (f"; stderr:\n{stderr}" if stderr else ""))
        if final is None:
            how = "no match of metric_regex" if self.regex else f"no JSON line with {self.metric!r}"
            if long_lines:
                how += (f" on stdout; {len(long_lines)} line{'s' if len(long_lines) > 1 else ''} "
                        f"longer than the {LINE_LIMIT // (1 << 20)} MB limit "
                        f"({max(long_lines) / (1 << 20):.1f} MB the longest) skipped unread: print "
                        "the metric on a short line of its own")
                raise TrialFailed(how)
            raise TrialFailed(f"{how} on stdout")
        return final

    def _read(self, run: "_Watch", gate: ReportGate) -> dict[str, Any] | None:
        """Report every metric line until the program is done (the first True answer stops
        it); return the last metric line."""
        final: dict[str, Any] | None = None
        step = 0
        for line in run.lines():
            if gate.stopped_at is not None:
                continue  # stopping: the rest of the output is no part of the curve
            metrics = self._parse(line)
            if metrics is None:
                continue
            # Every metric line is a point of the curve; the last one is also the result.
            raw = metrics.pop("step", None)
            # A "step" that is no whole number (1e999, 1.5, "x") is handed on as it came: the
            # run drops that report with a note, as it does every bad step
            # (hpsearch.run.reports.check_step); the lines after it count on from the last.
            step = _as_step(raw, step + 1)
            final = metrics
            if gate(step if raw is None or _exact_step(raw) else raw, metrics):
                run.stop()
        return final

    def _parse(self, line: str) -> dict[str, Any] | None:
        if self.regex is not None:
            m = self.regex.search(line)
            if m is None:
                return None
            try:
                return {self.metric: float(m.group(1))}
            except ValueError:
                return None
        line = line.strip()
        if not line.startswith("{"):
            return None
        try:
            data = json.loads(line)
        except (ValueError, RecursionError):
            # Not JSON, an int of more digits than Python converts, nesting past the recursion
            # limit: not a metric line (it must not fail a trial whose last line is valid).
            return None
        if isinstance(data, dict) and self.metric in data:
            return data
        return None


def _exact_step(value: Any) -> bool:
    """``value`` is a whole number (an int, or a float equal to one): a step as given."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value) and value == int(value)


def _as_step(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return default
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: "step": Infinity
        return default


def _pump(stream, put, on_long=None) -> None:
    """Read ``stream`` line by line into ``put``, decoded with replacement; ``None`` at the end.

    A line longer than :data:`LINE_LIMIT` is read to its end and dropped (never held whole):
    ``on_long(size)`` is told its size in bytes; without ``on_long`` its start is put, marked
    as cut. Never dies of what the program writes: a reader that stopped would leave the
    program blocked on a full pipe."""
    try:
        while True:
            try:
                chunk = stream.readline(LINE_LIMIT)
                if len(chunk) == LINE_LIMIT and not chunk.endswith(b"\n"):
                    size = len(chunk)
                    while True:  # the rest of the line, read and dropped
                        rest = stream.readline(LINE_LIMIT)
                        size += len(rest)
                        if not rest or rest.endswith(b"\n"):
                            break
                    if on_long is not None:
                        on_long(size)
                        continue
                    chunk = chunk[:_CUT_AT] + f"... (a line of {size} bytes, cut)\n".encode()
            except (OSError, ValueError):  # the pipe went away
                break
            if not chunk:
                break
            put(chunk.decode("utf-8", errors="replace"))
    finally:
        put(None)


def _skip_none(put):
    return lambda line: None if line is None else put(line)


def _kill_group(proc: subprocess.Popen, signum: int) -> None:
    """Send ``signum`` to the program's process group (what is left of it)."""
    try:
        os.killpg(proc.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass  # nothing left (or only a reaped leader's recycled id: not ours to signal)


class _Watch:
    """The program's stdout lines as they come, until it is done; enforces the timeout and the
    SIGTERM → SIGKILL of a stop.

    "Done" is the end of stdout, or the program's exit plus :data:`DRAIN_S` (a background child
    may hold stdout open long after). The main thread waits on a queue with a short timeout, so
    a signal handler (the run loop's interrupt) runs promptly.
    """

    def __init__(self, proc: subprocess.Popen, lines: "queue.Queue[str | None]",
                 timeout: float | None, kill_grace: float) -> None:
        self.proc, self.queue, self.kill_grace = proc, lines, kill_grace
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.kill_at: float | None = None
        self.timed_out = False

    def stop(self) -> None:
        """Ask the program to stop (SIGTERM to its group); SIGKILL after ``kill_grace``."""
        if self.kill_at is None:
            _kill_group(self.proc, signal.SIGTERM)
            self.kill_at = time.monotonic() + self.kill_grace

    def lines(self):
        eof, exited_at = False, None
        while True:
            now = time.monotonic()
            if exited_at is None and self.proc.poll() is not None:
                exited_at = now
            if exited_at is not None and (eof or now >= exited_at + DRAIN_S):
                return
            if exited_at is None and self.deadline is not None and now >= self.deadline:
                self.timed_out = True
                _kill_group(self.proc, signal.SIGKILL)
                self.proc.wait()
                return
            if exited_at is None and self.kill_at is not None and now >= self.kill_at:
                log.info("program %d ignored SIGTERM for %g s: SIGKILL", self.proc.pid,
                         self.kill_grace)
                _kill_group(self.proc, signal.SIGKILL)
                self.kill_at = float("inf")  # once
            if eof:
                time.sleep(0.02)  # stdout closed, the program still runs: wait for its exit
                continue
            try:
                line = self.queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                eof = True
                continue
            yield line
