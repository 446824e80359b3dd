"""Objectives: builtin (the PyTorch trainer), command (a program), python (a function).

All share one interface, :class:`Objective`; :func:`make_objective` picks one by
``[objective] kind`` from :data:`OBJECTIVES`. Each class checks its own settings (the ``[objective]``
table, and ``[trainer]`` for the built-in one), each mistake once; the space loader only sets the
default kind (builtin) and refuses an unknown one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpsearch.errors import SpaceError
from hpsearch.objectives.base import (Objective, ReportGate, TrialContext, TrialFailed,
                                      extract_value, json_safe)
from hpsearch.objectives.builtin import BuiltinObjective, evaluate_on_test
from hpsearch.objectives.command import CommandObjective
from hpsearch.objectives.python import PythonObjective
from hpsearch.objectives.values import extract_outcome

if TYPE_CHECKING:
    from hpsearch.space import Space

OBJECTIVES: dict[str, type[Objective]] = {
    cls.kind: cls for cls in (BuiltinObjective, CommandObjective, PythonObjective)
}


def objective_class(space: "Space") -> type[Objective]:
    """The class of the space's objective (a loaded space always names its kind)."""
    kind = space.objective.get("kind")
    cls = OBJECTIVES.get(kind)
    if cls is None:  # only for a Space built by hand: loading refuses an unknown kind
        raise SpaceError(f"{space.source}: objective.kind: must be one of "
                         f"{', '.join(OBJECTIVES)} (got {kind})")
    return cls


def make_objective(space: "Space", *, device: str | None = None,
                   threads: int | None = None) -> Objective:
    """The objective named by the space's ``[objective] kind`` (default builtin), set up.

    ``threads`` (``RunOptions.threads``) overrides ``[trainer] threads`` of the built-in
    trainer (None: the file's setting, default "auto")."""
    return objective_class(space).from_space(space, device=device, threads=threads)


def check_objective(space: "Space") -> None:
    """Raise for objective mistakes found without running a trial or the user's code."""
    objective_class(space).check(space)


__all__ = ["Objective", "TrialContext", "TrialFailed", "ReportGate", "extract_value", "json_safe",
           "extract_outcome",
           "evaluate_on_test",
           "make_objective", "check_objective", "objective_class", "OBJECTIVES"]
