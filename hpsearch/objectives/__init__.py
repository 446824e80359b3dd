"""Objectives: builtin (the PyTorch trainer), command (a program), python (a function).

All share one interface, :class:`Objective`; :func:`make_objective` picks one by
``[objective] kind``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpsearch.errors import SpaceError
from hpsearch.objectives.base import Objective, TrialContext, TrialFailed, extract_value
from hpsearch.objectives.builtin import BuiltinObjective
from hpsearch.objectives.command import CommandObjective
from hpsearch.objectives.python import PythonObjective

if TYPE_CHECKING:
    from hpsearch.space import Space

OBJECTIVES: dict[str, type[Objective]] = {
    cls.kind: cls for cls in (BuiltinObjective, CommandObjective, PythonObjective)
}


def objective_class(space: "Space") -> type[Objective]:
    kind = space.objective.get("kind", "builtin")
    cls = OBJECTIVES.get(kind)
    if cls is None:
        raise SpaceError(
            f"{space.source}: objective.kind: unknown kind {kind!r}; known: {', '.join(OBJECTIVES)}")
    return cls


def make_objective(space: "Space", *, device: str | None = None) -> Objective:
    """The objective named by the space's ``[objective] kind`` (default builtin), set up."""
    return objective_class(space).from_space(space, device=device)


def check_objective(space: "Space") -> None:
    """Raise for objective mistakes found without running a trial or the user's code."""
    objective_class(space).check(space)


__all__ = ["Objective", "TrialContext", "TrialFailed", "extract_value", "make_objective",
           "check_objective", "OBJECTIVES"]
