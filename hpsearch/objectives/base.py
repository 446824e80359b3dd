"""What every objective is: ``run(params, context) -> metrics``, chosen by ``[objective] kind``."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping

if TYPE_CHECKING:
    from hpsearch.space import Space


class TrialFailed(Exception):
    """The trial failed in a way the objective understood (diverged, timed out, non-zero exit).

    The runner records it as a failed trial with this message; the study goes on.
    """

    def __init__(self, message: str, *, metrics: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.metrics = dict(metrics or {})


@dataclass
class TrialContext:
    """What an objective knows about the trial it runs."""

    number: int
    seed: int
    device: str | None
    report: Callable[[int, Mapping[str, Any]], None]
    #: The device the trial actually ran on, set by objectives that know it ("cuda:0").
    device_used: str | None = None


class Objective(ABC):
    """One way of turning a configuration into metrics."""

    kind: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_space(cls, space: "Space", *, device: str | None = None) -> "Objective":
        """Check the ``[objective]`` settings and prepare; raise before any trial runs."""

    @classmethod
    def check(cls, space: "Space") -> None:
        """Raise for every mistake in the space's objective settings that can be found without
        running a trial (``hpsearch validate`` calls this). Default: set up, then release."""
        cls.from_space(space).close()

    @abstractmethod
    def run(self, params: Mapping[str, Any], context: TrialContext) -> Mapping[str, Any] | float:
        """Run one trial; return its metrics (or one number, taken as the study's metric)."""

    def close(self) -> None:
        """Release what ``from_space`` acquired (nothing by default)."""


def space_dir(space: "Space") -> Path:
    """The folder of the space file (relative paths in it are relative to it)."""
    source = Path(space.source)
    return source.parent if source.suffix else Path.cwd()


def extract_value(result: Mapping[str, Any] | float | int, metric: str) -> tuple[float, dict[str, Any]]:
    """The study's metric and all metrics from what an objective returned.

    Raises :class:`TrialFailed` when the metric is missing or not a finite number.
    """
    if isinstance(result, bool):
        raise TrialFailed(f"the objective returned a bool ({result}); return a number or a dict")
    if isinstance(result, (int, float)):
        raw: dict[str, Any] = {metric: float(result)}
    elif isinstance(result, Mapping):
        raw = {str(k): _scalar(v) for k, v in result.items()}
    else:
        raise TrialFailed(
            f"the objective returned {type(result).__name__}; return a number or a dict of metrics")
    # The checks read the raw values ("is nan"); what is stored is JSON-safe even then.
    metrics = {k: json_safe(v) for k, v in raw.items()}
    if metric not in raw:
        raise TrialFailed(f"metric {metric!r} missing from the result (got: {', '.join(raw) or 'nothing'})",
                          metrics=metrics)
    value = raw[metric]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TrialFailed(f"metric {metric!r} is not a number: {value!r}", metrics=metrics)
    if not math.isfinite(value):
        raise TrialFailed(f"metric {metric!r} is {value}", metrics=metrics)
    return float(value), metrics


def _scalar(v: Any) -> Any:
    """``v`` as a str, bool, int, float or None: numpy/torch scalars become floats, anything
    else its ``str``."""
    if isinstance(v, (str, bool, int, float)) or v is None:
        return v
    try:
        return float(v)
    except (TypeError, ValueError):
        return str(v)


def json_safe(v: Any) -> Any:
    """``v`` as strict JSON can hold it: a non-finite float becomes None, because PostgreSQL's
    json type refuses NaN and Infinity (and SQLite would store text no other reader parses)."""
    v = _scalar(v)
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v
