"""``kind = "python"``: call ``fn(params, report)`` from an importable module."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Mapping

from hpsearch.errors import ObjectiveError, SpaceError
from hpsearch.objectives.base import (Objective, ReportGate, TrialContext, load_function,
                                      space_dir)
from hpsearch.space import fmt

#: ``package.module:name`` (the name may be dotted: ``module:Class.method``).
FUNCTION_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class PythonObjective(Objective):
    """Calls ``function = "package.module:name"`` as ``name(params, report)``.

    The module is imported from the space file's folder or the current directory (both are put
    on ``sys.path``, the space file's folder first), as a user running a script would expect.
    ``report(step, metrics)`` records intermediate values and returns whether to stop (True:
    the pruner gave up on the trial). The trial then ends as pruned, however the function goes
    on: it may raise :class:`hpsearch.pruners.Pruned` itself, return, or call ``report`` again
    (which raises ``Pruned``). A ``Pruned`` the function raises on its own prunes it too.
    """

    kind = "python"

    def __init__(self, fn: Callable[..., Any], spec: str, *, isolate: bool = False,
                 timeout: float | None = None, search: list[Path] | None = None) -> None:
        self.fn = fn
        self.spec = spec
        #: ``[objective] isolate`` / ``timeout``: the run loop then calls the function in a
        #: child process per trial (hpsearch.objectives.isolate), importing it from ``search``.
        self.isolate = isolate
        self.timeout = timeout
        self.search = search or []

    @classmethod
    def from_space(cls, space, *, device: str | None = None,
                   threads: int | None = None) -> "PythonObjective":
        spec = cls._spec(space)
        isolate, timeout = isolation(space)
        search = [space_dir(space), Path.cwd()]
        try:
            fn = load_function(spec, search=search)
        except ObjectiveError as exc:  # named like every other error of the file
            raise ObjectiveError(f"{space.source}: {exc}") from exc
        return cls(fn, spec, isolate=isolate, timeout=timeout, search=search)

    @classmethod
    def check(cls, space) -> None:
        """Only the ``module:function`` form: validating a file must not run the user's code."""
        cls._spec(space)
        isolation(space)

    @staticmethod
    def _spec(space) -> str:
        """``function``, checked: the one place a bad ``module:function`` is refused."""
        spec = space.objective.get("function")
        if not isinstance(spec, str) or not FUNCTION_RE.fullmatch(spec):
            raise SpaceError(f'{space.source}: objective.function: a python objective needs '
                             f'function = "package.module:name" (got {fmt(spec)})')
        return spec

    def isolated(self) -> Objective:
        """Each trial in a child process when ``[objective] isolate`` asks for it
        (:mod:`hpsearch.objectives.isolate`)."""
        if not self.isolate:
            return self
        from hpsearch.objectives.isolate import IsolatedObjective

        return IsolatedObjective(self)

    def run(self, params: Mapping[str, Any], context: TrialContext):
        from hpsearch.pruners.base import Pruned

        gate = ReportGate(context.report)
        try:
            result = self.fn(dict(params), gate)
        except Pruned as exc:
            if exc.step is None:  # raised without a step: where the curve stopped
                exc.step = gate.stopped_at if gate.stopped_at is not None else gate.last_step
            raise
        if gate.stopped_at is not None:
            # Told to stop, the function returned instead: what it returned is a partial
            # result, never a finished trial's value.
            raise gate.pruned(result if isinstance(result, Mapping) else None)
        return result


def isolation(space) -> tuple[bool, float | None]:
    """``[objective] isolate`` and ``timeout``, checked. ``isolate = true`` runs each trial in
    a child process (a crash or ``os._exit`` fails that trial only; ``timeout`` kills a trial
    that never returns); it is the default when ``timeout`` is set, which needs it."""
    from hpsearch.timeparse import parse_duration

    obj, where = space.objective, f"{space.source}: objective"
    timeout = None
    if obj.get("timeout") is not None:
        try:
            timeout = parse_duration(obj["timeout"])
        except Exception as exc:  # noqa: BLE001 - ConfigError or a wrong type
            raise SpaceError(f"{where}.timeout: {exc}") from exc
        if timeout is None or timeout <= 0:
            raise SpaceError(f"{where}.timeout: must be a positive duration (got {fmt(obj['timeout'])})")
    isolate = obj.get("isolate", timeout is not None)
    if not isinstance(isolate, bool):
        raise SpaceError(f"{where}.isolate: must be true or false (got {fmt(isolate)})")
    if timeout is not None and not isolate:
        raise SpaceError(f"{where}.timeout: a python objective's timeout needs isolate = true "
                         f"(a function running in the run's own process cannot be stopped)")
    return isolate, timeout
