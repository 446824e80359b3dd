"""The ``[study]`` table: name, metric, direction (one each, or lists of several objectives),
sampler, trials, seed, grid_points, and the run settings (pruner, n_startup_trials,
tie_breaker, max_consecutive_failures, max_retries, artifacts, on_change) and the warm start of a new study
(warm_start, warm_start_top).

The sampler names are part of the file's grammar: :data:`hpsearch.names.SAMPLER_NAMES`, where
the samplers' registry (``hpsearch.samplers.SAMPLERS``) reads them too. The pruner names are
checked against :data:`hpsearch.pruners.PRUNERS` when the ``[pruner]`` table is parsed
(:mod:`.tables`).

Integers that storage keeps in 32-bit columns (seed, trials) are refused above
:data:`MAX_DB_INT` here, at ``validate``: SQLite would take them and PostgreSQL refuse them
only at the first write.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from hpsearch.names import SAMPLER_NAMES
from hpsearch.errors import SpaceError
from hpsearch.space.values import fmt, is_int

__all__ = ["StudyConfig", "SAMPLER_NAMES", "DIRECTIONS", "DEFAULT_GRID_POINTS", "MAX_GRID_POINTS",
           "DEFAULT_STARTUP_TRIALS", "DEFAULT_MAX_CONSECUTIVE_FAILURES", "DEFAULT_MAX_RETRIES",
           "MAX_RETRIES", "MAX_DB_INT", "FILE_KEYS",
           "split_objectives", "ON_CHANGE"]

DIRECTIONS: tuple[str, ...] = ("maximize", "minimize")
DEFAULT_GRID_POINTS = 5
"""Grid points per numeric parameter when neither the param nor ``[study]`` says."""
MAX_GRID_POINTS = 100_000
"""More grid points (per parameter, or values of a choice) cannot be searched: the whole grid
is refused above this size anyway (``hpsearch.samplers.MAX_GRID_SIZE`` is the same number)."""
DEFAULT_STARTUP_TRIALS = 10
"""Sobol trials per round before a model sampler (tpe, gp, cmaes, auto) proposes."""
DEFAULT_MAX_CONSECUTIVE_FAILURES = 5
"""A run stops after this many failed trials in a row while the study has no success."""
DEFAULT_MAX_RETRIES = 3
"""Retries of a configuration whose trial its infrastructure killed (stale heartbeat, dead
worker or pack) before it is given up: four attempts in all. A crash that hits the queued
retries again (the next run starts with them) is survived three times; a configuration that
kills its own process each time (out of memory) stops costing runs after four."""
MAX_RETRIES = 100
"""The most ``max_retries`` may be (each attempt may cost a run)."""
MAX_DB_INT = 2**31 - 1
"""The largest seed or trial count: storage keeps them in 32-bit integer columns."""

# Run settings: written by to_dict only when they differ from the default, so the stored
# space of a study that does not use them is what it was before they existed.
_OPTIONAL_DEFAULTS: dict[str, Any] = {
    "grid_points": None, "pruner": "none", "n_startup_trials": DEFAULT_STARTUP_TRIALS,
    "tie_breaker": None, "max_consecutive_failures": DEFAULT_MAX_CONSECUTIVE_FAILURES,
    "max_retries": DEFAULT_MAX_RETRIES, "artifacts": None,
    "on_change": "refuse", "warm_start": [], "warm_start_top": 0,
}
ON_CHANGE = ("refuse", "evolve")
"""What ``run`` does when the file's parameters differ from the study's (``[study] on_change``):
refuse (exit 3, the default) or evolve (a new round with the new space, history kept)."""


@dataclass(frozen=True)
class StudyConfig:
    """The ``[study]`` table.

    ``grid_points`` (None = 5) is the grid sampler's default count; ``pruner`` names the
    pruner (none, median, asha, hyperband; its settings are the ``[pruner]`` table);
    ``n_startup_trials`` the Sobol trials per round before a model sampler; ``tie_breaker``
    a secondary metric that orders trials with equal values (None: the report's default);
    ``max_consecutive_failures`` how many failed trials in a row stop a run while the study has
    no success (0: never stop); ``max_retries`` how many times a configuration whose trial
    was killed by its infrastructure (stale heartbeat, dead worker or pack) is run again before
    it is given up (:data:`DEFAULT_MAX_RETRIES`); ``artifacts`` the folder of the kept checkpoints (relative to
    the space file; None: beside the database, :mod:`hpsearch.storage.artifacts`);
    ``on_change`` what ``run`` does with changed parameters
    (:data:`ON_CHANGE`); ``warm_start`` studies whose trials a new study's model starts from,
    and ``warm_start_top`` how many of their best configurations it runs first (docs/evolve.md).
    """

    name: str
    metric: str = "val_accuracy"
    direction: str = "maximize"
    sampler: str = "random"
    trials: int = 20
    seed: int = 0
    grid_points: int | None = None
    pruner: str = "none"
    n_startup_trials: int = DEFAULT_STARTUP_TRIALS
    tie_breaker: str | None = None
    max_consecutive_failures: int = DEFAULT_MAX_CONSECUTIVE_FAILURES
    max_retries: int = DEFAULT_MAX_RETRIES
    #: the folder of the kept checkpoints (None: beside the database)
    artifacts: str | None = None
    #: The objectives after the first (``metric = [...]`` in the file): ``metric`` and
    #: ``direction`` stay the first objective, so every single-objective path reads them as
    #: before. Not keys of the file: :func:`split_objectives` fills them from the lists.
    more_metrics: tuple[str, ...] = ()
    more_directions: tuple[str, ...] = ()
    on_change: str = "refuse"
    warm_start: list[str] = dataclasses.field(default_factory=list)
    warm_start_top: int = 0

    def __post_init__(self) -> None:
        for key in ("name", "metric"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value.strip():
                raise SpaceError(f"study.{key}: must be a non-empty string (got {fmt(value)})")
        if not isinstance(self.direction, str) or self.direction not in DIRECTIONS:
            raise SpaceError(f"study.direction: must be maximize or minimize "
                             f"(got {fmt(self.direction)})")
        if len(self.more_metrics) != len(self.more_directions):
            raise SpaceError(f"study.direction: {len(self.directions)} directions for "
                             f"{len(self.metrics)} metrics (one per metric, in the same order)")
        if len(set(self.metrics)) != len(self.metrics):
            raise SpaceError(f"study.metric: a metric is named twice ({fmt(list(self.metrics))})")
        if not isinstance(self.sampler, str) or self.sampler not in SAMPLER_NAMES:
            raise SpaceError(f"study.sampler: unknown sampler {fmt(self.sampler)} "
                             f"(known: {', '.join(SAMPLER_NAMES)})")
        _check_int("trials", self.trials, 1, MAX_DB_INT)
        _check_int("seed", self.seed, 0, MAX_DB_INT)
        if self.grid_points is not None:
            _check_int("grid_points", self.grid_points, 1, MAX_GRID_POINTS)
        if not isinstance(self.pruner, str) or not self.pruner.strip():
            raise SpaceError(f"study.pruner: must be a pruner name such as median "
                             f"(got {fmt(self.pruner)})")
        _check_int("n_startup_trials", self.n_startup_trials, 0, MAX_DB_INT)
        _check_int("max_consecutive_failures", self.max_consecutive_failures, 0, MAX_DB_INT)
        _check_int("max_retries", self.max_retries, 0, MAX_RETRIES)
        if self.artifacts is not None and (not isinstance(self.artifacts, str)
                                           or not self.artifacts.strip()):
            raise SpaceError(f"study.artifacts: must be a folder path (got {fmt(self.artifacts)})")
        if not isinstance(self.on_change, str) or self.on_change not in ON_CHANGE:
            raise SpaceError(f"study.on_change: must be {' or '.join(ON_CHANGE)} "
                             f"(got {fmt(self.on_change)})")
        ws = self.warm_start
        if isinstance(ws, str):
            ws = [ws]
            object.__setattr__(self, "warm_start", ws)
        if (not isinstance(ws, list)
                or not all(isinstance(n, str) and n.strip() for n in ws)):
            raise SpaceError(f"study.warm_start: must be a study name or a list of study names "
                             f"(got {fmt(ws)})")
        _check_int("warm_start_top", self.warm_start_top, 0, MAX_DB_INT)
        tb = self.tie_breaker
        if tb is not None and (not isinstance(tb, str) or not tb.strip()):
            raise SpaceError(f"study.tie_breaker: must be a metric name such as val_loss "
                             f"(got {fmt(tb)})")

    @property
    def metrics(self) -> tuple[str, ...]:
        """Every objective's metric, the first one first."""
        return (self.metric, *self.more_metrics)

    @property
    def directions(self) -> tuple[str, ...]:
        return (self.direction, *self.more_directions)

    @property
    def multi(self) -> bool:
        """More than one objective."""
        return bool(self.more_metrics)

    def to_dict(self) -> dict[str, Any]:
        """The ``[study]`` table; optional settings only when they differ from the default;
        ``metric`` and ``direction`` as lists when there are several objectives."""
        d = dataclasses.asdict(self)
        for key, default in _OPTIONAL_DEFAULTS.items():
            if d[key] == default:
                del d[key]
        del d["more_metrics"], d["more_directions"]
        if self.multi:
            d["metric"], d["direction"] = list(self.metrics), list(self.directions)
        return d


FILE_KEYS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(StudyConfig)
                                   if not f.name.startswith("more_"))
"""The keys of a file's ``[study]`` table."""


def split_objectives(table: dict[str, Any]) -> dict[str, Any]:
    """``metric``/``direction`` lists of a ``[study]`` table split into the first objective
    and ``more_metrics``/``more_directions``; a one-element list is the plain string."""
    metric, direction = table.get("metric"), table.get("direction")
    if not isinstance(metric, list) and not isinstance(direction, list):
        return table
    if isinstance(metric, list) and not metric:
        raise SpaceError("study.metric: an empty list (name at least one metric)")
    metrics = metric if isinstance(metric, list) else [metric]
    if direction is None:
        raise SpaceError(f"study.direction: {len(metrics)} metrics need a list of "
                         f"{len(metrics)} directions (maximize or minimize, in the same order)")
    directions = direction if isinstance(direction, list) else [direction]
    if len(metrics) != len(directions):
        raise SpaceError(f"study.direction: {len(directions)} direction(s) for "
                         f"{len(metrics)} metric(s) (one per metric, in the same order)")
    for i, (m, d) in enumerate(zip(metrics, directions), 1):
        if not isinstance(m, str) or not m.strip():
            raise SpaceError(f"study.metric[{i}]: must be a non-empty string (got {fmt(m)})")
        if not isinstance(d, str) or d not in DIRECTIONS:
            raise SpaceError(f"study.direction[{i}]: must be maximize or minimize (got {fmt(d)})")
    out = dict(table)
    out["metric"], out["direction"] = metrics[0], directions[0]
    out["more_metrics"], out["more_directions"] = tuple(metrics[1:]), tuple(directions[1:])
    return out


def _check_int(key: str, value: Any, low: int, high: int) -> None:
    if not is_int(value) or value < low:
        what = "a non-negative integer" if low == 0 else f"an integer >= {low}"
        raise SpaceError(f"study.{key}: must be {what} (got {fmt(value)})")
    if value > high:
        why = " (storage keeps it in a 32-bit integer)" if high == MAX_DB_INT else ""
        raise SpaceError(f"study.{key}: must be at most {high}{why} (got {fmt(value)})")
