"""``kind = "command"``: run a training program, read its metric from stdout.

``argv = ["python", "train.py", "--lr={learning_rate}"]`` is formatted with the trial's params
and run without a shell, in the space file's folder. The params also arrive as JSON in
``HPSEARCH_PARAMS`` (with ``HPSEARCH_TRIAL`` and ``HPSEARCH_SEED``). The metric is the last JSON
line on stdout that holds the metric's key (earlier ones are intermediate reports; a ``"step"``
key numbers them), or the last match of ``metric_regex``'s first group. ``timeout`` ("10m")
bounds a trial; a non-zero exit is a failed trial that keeps the tail of stderr.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import string
import subprocess
import sys
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Mapping

from hpsearch.errors import ObjectiveError, SpaceError
from hpsearch.objectives.base import Objective, TrialContext, TrialFailed, space_dir
from hpsearch.space import fmt
from hpsearch.timeparse import parse_duration

STDERR_TAIL_LINES = 20


@dataclass(frozen=True)
class CommandSettings:
    """The ``[objective]`` table of a command objective, checked: each mistake is refused here,
    once, with a message naming the key (``space.toml: objective.argv: ...``)."""

    argv: tuple[str, ...]
    regex: re.Pattern[str] | None = None
    timeout: float | None = None

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
        for arg in argv:  # a bad {placeholder} is a mistake in the file, not in each trial
            try:
                fields = [f for _, f, _, _ in string.Formatter().parse(arg) if f is not None]
            except ValueError as exc:
                raise SpaceError(f"{where}.argv: {arg!r}: {exc} (write a literal brace as {{{{ or }}}})") from exc
            for field in fields:
                name = re.split(r"[.\[!:]", field, maxsplit=1)[0]
                if name not in space.params:
                    raise SpaceError(f"{where}.argv: {{{field}}} in {arg!r} is not a parameter "
                                     f"(write a literal brace as {{{{ or }}}})")
        return cls(argv=tuple(argv), regex=regex, timeout=timeout)


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
    def from_space(cls, space, *, device: str | None = None) -> "CommandObjective":
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
            proc = subprocess.Popen(argv, cwd=self.cwd, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, bufsize=1)
        except OSError as exc:
            raise TrialFailed(f"cannot start {argv[0]!r}: {exc}") from exc
        tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        drain = threading.Thread(target=lambda: tail.extend(proc.stderr), daemon=True)
        drain.start()
        timed_out = threading.Event()
        timer = None
        if self.timeout is not None:
            timer = threading.Timer(self.timeout, lambda: (timed_out.set(), proc.kill()))
            timer.start()
        final: dict[str, Any] | None = None
        step = 0
        try:
            for line in proc.stdout:
                metrics = self._parse(line)
                if metrics is None:
                    continue
                # Every metric line is a point of the curve; the last one is also the result.
                step = _as_step(metrics.pop("step", None), step + 1)
                context.report(step, metrics)
                final = metrics
            proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            if timer is not None:
                timer.cancel()
        drain.join(timeout=5)
        if timed_out.is_set():
            raise TrialFailed(f"timed out after {self.timeout:g} s (objective.timeout)")
        if proc.returncode != 0:
            stderr = "".join(tail).strip()
            raise TrialFailed(f"exit code {proc.returncode}" + (f"; stderr:\n{stderr}" if stderr else ""))
        if final is None:
            how = "no match of metric_regex" if self.regex else f"no JSON line with {self.metric!r}"
            raise TrialFailed(f"{how} on stdout")
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
        except json.JSONDecodeError:
            return None
        if isinstance(data, dict) and self.metric in data:
            return data
        return None


def _as_step(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
