"""The names a space file may use for a sampler, a pruner and an objective kind, in one place.

The space's validation reads them here (it sits below the parts that implement them); each
registry (:data:`hpsearch.samplers.SAMPLERS`, :data:`hpsearch.pruners.PRUNERS`,
:data:`hpsearch.objectives.OBJECTIVES`) is built with :func:`registry`, which refuses a
registry whose names differ from these. A new sampler, pruner or objective kind adds its name
here and its class to its part's registry.
"""

from __future__ import annotations

from typing import Iterable, TypeVar

__all__ = ["SAMPLER_NAMES", "PRUNER_NAMES", "OBJECTIVE_KINDS", "DEFAULT_OBJECTIVE_KIND",
           "DEFAULT_TIE_BREAKERS", "registry"]

SAMPLER_NAMES: tuple[str, ...] = ("random", "sobol", "grid", "tpe", "gp", "cmaes", "auto",
                                   "nsga2")
PRUNER_NAMES: tuple[str, ...] = ("none", "median", "asha", "hyperband")
OBJECTIVE_KINDS: tuple[str, ...] = ("builtin", "command", "python")
#: The kind of a space whose ``[objective]`` table names none.
DEFAULT_OBJECTIVE_KIND = "builtin"
#: Each kind's default tie breaker, the value of its ``Objective.default_tie_breaker`` hook, for
#: the parts below the objectives that order a stored study (``ranking``, so ``storage``); the
#: objectives' registry refuses a class whose hook differs from this.
DEFAULT_TIE_BREAKERS: dict[str, str | None] = {"builtin": "val_loss", "command": None,
                                               "python": None}

T = TypeVar("T")


def registry(classes: Iterable[type[T]], names: tuple[str, ...], *,
             key: str = "name") -> dict[str, type[T]]:
    """``{cls.<key>: cls}`` of ``classes``, in the order of ``names``; raises when the classes'
    names are not exactly ``names`` (a class added without its name, or the reverse)."""
    by_name = {getattr(cls, key): cls for cls in classes}
    if set(by_name) != set(names):
        raise RuntimeError(f"registry names {sorted(by_name)} differ from {sorted(names)} "
                           f"(hpsearch/names.py)")
    return {name: by_name[name] for name in names}
