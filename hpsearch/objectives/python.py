"""``kind = "python"``: call ``fn(params, report)`` from an importable module."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from typing import Any, Callable, Mapping

from hpsearch.errors import ObjectiveError, SpaceError
from hpsearch.objectives.base import Objective, TrialContext, space_dir
from hpsearch.space import fmt

#: ``package.module:name`` (the name may be dotted: ``module:Class.method``).
FUNCTION_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class PythonObjective(Objective):
    """Calls ``function = "package.module:name"`` as ``name(params, report)``.

    The module is imported from the space file's folder or the current directory (both are put
    on ``sys.path``, the space file's folder first), as a user running a script would expect.
    ``report(step, metrics)`` records intermediate values and returns None.
    """

    kind = "python"

    def __init__(self, fn: Callable[..., Any], spec: str) -> None:
        self.fn = fn
        self.spec = spec

    @classmethod
    def from_space(cls, space, *, device: str | None = None) -> "PythonObjective":
        spec = cls._spec(space)
        return cls(load_function(spec, search=[space_dir(space), Path.cwd()]), spec)

    @classmethod
    def check(cls, space) -> None:
        """Only the ``module:function`` form: validating a file must not run the user's code."""
        cls._spec(space)

    @staticmethod
    def _spec(space) -> str:
        """``function``, checked: the one place a bad ``module:function`` is refused."""
        spec = space.objective.get("function")
        if not isinstance(spec, str) or not FUNCTION_RE.fullmatch(spec):
            raise SpaceError(f'{space.source}: objective.function: a python objective needs '
                             f'function = "package.module:name" (got {fmt(spec)})')
        return spec

    def run(self, params: Mapping[str, Any], context: TrialContext):
        return self.fn(dict(params), context.report)


def load_function(spec: str, *, search: list[Path]) -> Callable[..., Any]:
    module_name, _, attr = spec.partition(":")
    for folder in reversed(search):
        path = str(Path(folder).resolve())
        if path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any import-time failure of user code
        raise ObjectiveError(
            f"objective.function: cannot import {module_name!r}: {type(exc).__name__}: {exc}") from exc
    fn = module
    for part in attr.split("."):
        fn = getattr(fn, part, None)
        if fn is None:
            raise ObjectiveError(f"objective.function: {module_name!r} has no attribute {attr!r}")
    if not callable(fn):
        raise ObjectiveError(f"objective.function: {spec!r} is not callable")
    return fn
