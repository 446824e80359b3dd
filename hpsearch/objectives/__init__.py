"""Objectives: builtin (the PyTorch trainer), command (a program), python (a function).

All share one interface, :class:`Objective`; :func:`make_objective` picks one by
``[objective] kind`` from :data:`OBJECTIVES`. Each class checks its own settings (the ``[objective]``
table, and ``[trainer]`` for the built-in one), each mistake once; the space loader only sets the
default kind (builtin) and refuses an unknown one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from hpsearch.errors import SpaceError
from hpsearch.names import DEFAULT_OBJECTIVE_KIND, DEFAULT_TIE_BREAKERS, OBJECTIVE_KINDS, registry
from hpsearch.objectives.base import (Objective, PackedResult, ReportGate, TrialContext,
                                      TrialFailed, extract_value, json_safe)
from hpsearch.objectives.builtin import BuiltinObjective, evaluate_on_test
from hpsearch.objectives.command import CommandObjective
from hpsearch.objectives.python import PythonObjective
from hpsearch.objectives.values import extract_outcome

if TYPE_CHECKING:
    from hpsearch.space import Space

OBJECTIVES: dict[str, type[Objective]] = registry(
    (BuiltinObjective, CommandObjective, PythonObjective), OBJECTIVE_KINDS, key="kind")
# ranking (below this part) reads each kind's default tie breaker from hpsearch/names.py.
if {k: c.default_tie_breaker for k, c in OBJECTIVES.items()} != DEFAULT_TIE_BREAKERS:
    raise RuntimeError("an objective's default_tie_breaker differs from "
                       "hpsearch/names.py DEFAULT_TIE_BREAKERS")


def objective_class_of(space: Mapping[str, Any]) -> type[Objective]:
    """The class of a stored space dict's objective (its kind, or the default kind)."""
    kind = space.get("objective", {}).get("kind", DEFAULT_OBJECTIVE_KIND)
    cls = OBJECTIVES.get(str(kind))
    if cls is None:
        raise SpaceError(f"objective.kind: must be one of {', '.join(OBJECTIVES)} (got {kind})")
    return cls


def objective_class(space: "Space") -> type[Objective]:
    """The class of the space's objective (a loaded space always names its kind)."""
    kind = space.objective.get("kind")
    cls = OBJECTIVES.get(str(kind))
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
    cls = objective_class(space)
    cls.check(space)
    check_reported(space, cls.reported_metrics())


def check_reported(space: "Space", reported: tuple[str, ...] | None) -> None:
    """The objectives after the first, and every constrained metric, must be metrics the
    objective reports (when it knows them): otherwise every trial would fail. The first metric
    keeps the check it always had (a missing metric fails the trial), so old files read as
    before."""
    if reported is None:
        return
    study = space.study
    named = [(f"study.metric[{i}]", m) for i, m in enumerate(study.more_metrics, 2)]
    named += [(f"constraint[{i}].metric", c.metric) for i, c in enumerate(space.constraints, 1)]
    for where, metric in named:
        if metric not in reported:
            raise SpaceError(f"{space.source}: {where}: the {space.objective['kind']} objective "
                             f"never reports {metric!r} (it reports {', '.join(reported)})")


__all__ = ["Objective", "PackedResult", "TrialContext", "TrialFailed", "ReportGate", "extract_value", "json_safe",
           "extract_outcome",
           "evaluate_on_test",
           "make_objective", "check_objective", "objective_class", "objective_class_of",
           "OBJECTIVES"]
