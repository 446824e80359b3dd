"""A stored space made runnable from another folder, for ``best --export`` and
``rounds --export``.

A space file's relative paths (a python objective's module, a command's program and working
folder, the built-in trainer's dataset) are relative to the file's folder. An exported file
lives elsewhere, so it gets ``[objective] base_dir``: the original folder, written relative to
the new file's folder (see :func:`hpsearch.objectives.space_dir`). The paths themselves stay as
the user wrote them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hpsearch.objectives import objective_class_of

__all__ = ["relocate_space"]


def relocate_space(space: dict[str, Any], *, source: str, target: Path) -> dict[str, Any]:
    """A copy of the space-file dict ``space``, stored from the file ``source``, whose relative
    paths resolve as they did once it is written to ``target``.

    Nothing changes when the objective has no relative path to resolve (the built-in trainer
    on digits or synthetic data) or when ``target`` is in the same folder as ``source``.
    """
    src = Path(source)
    if not src.suffix:  # not stored from a file: paths were relative to the working folder
        return space
    objective = dict(space.get("objective", {}))
    if not objective_class_of(space).reads_beside_space(space):
        return space
    base = objective.get("base_dir")
    folder = src.parent / base if isinstance(base, str) and base else src.parent
    here = Path(os.path.abspath(target)).parent
    rel = os.path.relpath(os.path.abspath(folder), here)
    if rel == ".":
        objective.pop("base_dir", None)
    else:
        objective["base_dir"] = Path(rel).as_posix()
    return {**space, "objective": objective}
