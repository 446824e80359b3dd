"""The ``[study]`` table: name, metric, direction, sampler, trials, seed, grid_points.

The sampler names are part of the file's grammar and are listed here, below the samplers:
:mod:`hpsearch.samplers` imports the space, never the reverse, and its registry
(``hpsearch.samplers.SAMPLERS``) implements exactly these names (a test keeps the two equal).
A new sampler adds its name here and its class there.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from hpsearch.errors import SpaceError
from hpsearch.space.values import fmt, is_int

__all__ = ["StudyConfig", "SAMPLER_NAMES", "DIRECTIONS", "DEFAULT_GRID_POINTS"]

SAMPLER_NAMES: tuple[str, ...] = ("random", "sobol", "grid")
DIRECTIONS: tuple[str, ...] = ("maximize", "minimize")
DEFAULT_GRID_POINTS = 5
"""Grid points per numeric parameter when neither the param nor ``[study]`` says."""


@dataclass(frozen=True)
class StudyConfig:
    """The ``[study]`` table. ``grid_points`` (None = 5) is the grid sampler's default count."""

    name: str
    metric: str = "val_accuracy"
    direction: str = "maximize"
    sampler: str = "random"
    trials: int = 20
    seed: int = 0
    grid_points: int | None = None

    def __post_init__(self) -> None:
        for key in ("name", "metric"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value.strip():
                raise SpaceError(f"study.{key}: must be a non-empty string (got {fmt(value)})")
        if not isinstance(self.direction, str) or self.direction not in DIRECTIONS:
            raise SpaceError(f"study.direction: must be maximize or minimize "
                             f"(got {fmt(self.direction)})")
        if not isinstance(self.sampler, str) or self.sampler not in SAMPLER_NAMES:
            raise SpaceError(f"study.sampler: unknown sampler {fmt(self.sampler)} "
                             f"(known: {', '.join(SAMPLER_NAMES)})")
        if not is_int(self.trials) or self.trials < 1:
            raise SpaceError(f"study.trials: must be an integer >= 1 (got {fmt(self.trials)})")
        if not is_int(self.seed) or self.seed < 0:
            raise SpaceError(f"study.seed: must be a non-negative integer (got {fmt(self.seed)})")
        gp = self.grid_points
        if gp is not None and (not is_int(gp) or gp < 1):
            raise SpaceError(f"study.grid_points: must be an integer >= 1 (got {fmt(gp)})")

    def to_dict(self) -> dict[str, Any]:
        """The ``[study]`` table; ``grid_points`` only when set."""
        d = dataclasses.asdict(self)
        if d["grid_points"] is None:
            del d["grid_points"]
        return d
