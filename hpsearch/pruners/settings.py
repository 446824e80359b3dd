"""The ``[pruner]`` table: its fields, their defaults, and their validation.

One settings record serves every pruner; each pruner reads the fields it names in ``keys``
(:class:`~hpsearch.pruners.base.Pruner`). Every problem is a
:class:`~hpsearch.errors.SpaceError` reading ``file: pruner.field: what is wrong``, like the
rest of the space file::

    settings = parse_pruner_table({"reduction_factor": 3}, "space.toml", kind="asha")
    settings = settings.resolve("val_accuracy", "maximize")   # fill in the study's metric
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hpsearch.errors import SpaceError
from hpsearch.values import fmt
from hpsearch.pruners.hyperband import hyperband_brackets
from hpsearch.pruners.registry import PRUNERS

__all__ = ["PrunerSettings", "parse_pruner_table", "check_settings", "COMMON_KEYS",
           "hyperband_brackets"]

#: Fields every pruner accepts.
COMMON_KEYS = ("metric", "direction", "value")
_VALUES = ("best", "last")
_DIRECTIONS = ("maximize", "minimize")


@dataclass(frozen=True)
class PrunerSettings:
    """The ``[pruner]`` table. None means "the default": the study's metric and direction, the
    pruner's own value rule and reduction factor (asha 4, hyperband 3)."""

    metric: str | None = None
    direction: str | None = None
    value: str | None = None
    # median
    n_startup_trials: int = 5
    n_warmup_steps: int = 0
    interval_steps: int = 1
    n_min_trials: int = 1
    # asha, hyperband
    min_resource: int = 1
    reduction_factor: int | None = None
    min_early_stopping_rate: int = 0
    # hyperband
    max_resource: int | None = None
    brackets: int | None = None

    @property
    def maximize(self) -> bool:
        """The pruner metric's direction (call :meth:`resolve` first)."""
        if self.direction is None:
            raise ValueError("PrunerSettings.resolve() was not called: the direction is unknown")
        return self.direction == "maximize"

    def resolve(self, metric: str, direction: str) -> "PrunerSettings":
        """These settings with the study's ``metric`` and ``direction`` filled in where unset."""
        return dataclasses.replace(self, metric=self.metric or metric,
                                   direction=self.direction or direction)

    def to_dict(self) -> dict[str, Any]:
        """The fields that differ from the defaults, as a ``[pruner]`` table."""
        default = PrunerSettings()
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) != getattr(default, f.name)}


def _fmt(value: Any) -> str:
    # The same short form as the space's messages (bare strings, lowercase booleans), whole.
    return fmt(value, limit=None, escape=False)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


#: Integer fields and their lower bounds.
_INT_MIN = {
    "n_startup_trials": 0, "n_warmup_steps": 0, "interval_steps": 1, "n_min_trials": 1,
    "min_resource": 1, "reduction_factor": 2, "min_early_stopping_rate": 0,
    "max_resource": 1, "brackets": 1,
}


def parse_pruner_table(table: Mapping[str, Any], source: str, *,
                       kind: str | None = None, partial: bool = False) -> PrunerSettings:
    """Check a ``[pruner]`` table and return its settings.

    Parameters
    ----------
    table:
        The table as TOML parsed it (``{}`` when the file has none).
    source:
        The space file's name, the first part of every message.
    kind:
        The pruner the table is for (``[study] pruner``). When given, a field that this pruner
        does not read is an error; Hyperband without ``max_resource`` is an error.
    partial:
        ``max_resource`` may still be filled in from the objective (the space file is read
        before its objective is known): Hyperband without it passes here, and
        :func:`check_settings` checks the settings once it is filled in.

    Raises
    ------
    SpaceError
        ``source: pruner.field: what is wrong``, echoing the value.
    """
    try:
        return _parse(table, kind, partial)
    except SpaceError as exc:
        raise SpaceError(f"{source}: {exc}") from exc


def check_settings(settings: PrunerSettings, kind: str, source: str) -> PrunerSettings:
    """``settings`` (with ``max_resource`` filled in where it can be) checked for pruner
    ``kind`` as a complete ``[pruner]`` table is; returned as they are."""
    if kind == "hyperband":
        try:
            _check_hyperband(settings)
        except SpaceError as exc:
            raise SpaceError(f"{source}: {exc}") from exc
    return settings


def _parse(table: Mapping[str, Any], kind: str | None, partial: bool) -> PrunerSettings:
    if not isinstance(table, Mapping):
        raise SpaceError(f"pruner: must be a table (got {_fmt(table)})")
    known = [f.name for f in dataclasses.fields(PrunerSettings)]
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise SpaceError(f"pruner.{unknown[0]}: unknown key (expected one of {', '.join(known)})")
    if kind is not None:
        if kind not in PRUNERS:
            raise SpaceError(f"study.pruner: unknown pruner {_fmt(kind)} "
                             f"(known: {', '.join(PRUNERS)})")
        own = COMMON_KEYS + PRUNERS[kind].keys
        foreign = [k for k in known if k in table and k not in own]
        if foreign:
            users = [name for name, cls in PRUNERS.items() if foreign[0] in cls.keys]
            raise SpaceError(f"pruner.{foreign[0]}: the {kind} pruner does not read it "
                             f"({', '.join(users)} do{'es' if len(users) == 1 else ''}; "
                             f"{kind} reads {', '.join(own)})")
    for key in ("metric",):
        if key in table and (not isinstance(table[key], str) or not table[key].strip()):
            raise SpaceError(f"pruner.{key}: must be a non-empty string (got {_fmt(table[key])})")
    if "direction" in table and table["direction"] not in _DIRECTIONS:
        raise SpaceError(f"pruner.direction: must be maximize or minimize "
                         f"(got {_fmt(table['direction'])})")
    if "value" in table and table["value"] not in _VALUES:
        raise SpaceError(f"pruner.value: must be best or last (got {_fmt(table['value'])})")
    for key, low in _INT_MIN.items():
        if key in table:
            v = table[key]
            if not _is_int(v) or v < low:
                raise SpaceError(f"pruner.{key}: must be an integer >= {low} (got {_fmt(v)})")
    # A step metric of its own may go the other way (val_loss under a val_accuracy study):
    # guessing its direction would keep the worst trials, so both come together.
    if "direction" in table and "metric" not in table:
        raise SpaceError("pruner.direction: only with pruner.metric (the study's metric goes in "
                         "the study's direction)")
    if "metric" in table and "direction" not in table:
        raise SpaceError(f"pruner.metric: give pruner.direction too (maximize or minimize: "
                         f"which way is better for {table['metric']})")
    settings = PrunerSettings(**table)
    if settings.max_resource is not None and settings.max_resource < settings.min_resource:
        raise SpaceError(f"pruner.max_resource: must be >= min_resource "
                         f"({settings.min_resource}) (got {settings.max_resource})")
    if kind == "hyperband" and not (partial and settings.max_resource is None):
        _check_hyperband(settings)
    return settings


def _check_hyperband(s: PrunerSettings) -> None:
    if s.max_resource is None:
        raise SpaceError("pruner.max_resource: hyperband needs the largest step a trial reaches "
                         "(the trainer's epochs, say)")
    rf = s.reduction_factor or 3
    most = hyperband_brackets(s.min_resource, s.max_resource, rf)
    if s.brackets is not None and s.brackets > most:
        fit = "brackets fit" if most > 1 else "bracket fits"
        raise SpaceError(f"pruner.brackets: at most {most} {fit} "
                         f"between min_resource ({s.min_resource}) and max_resource "
                         f"({s.max_resource}) with reduction_factor {rf} (got {s.brackets})")
