"""The space model: a validated :class:`Space` of parameters, conditions and the unit cube.

A space holds the file's four tables: ``[study]`` (:class:`~hpsearch.space.StudyConfig`),
``[objective]`` and ``[trainer]`` (plain dicts, checked by the objective and the trainer) and
``[params]`` (parameter types, see :mod:`hpsearch.space.params`), ordered so each parameter
comes after those its ``when`` refers to. It maps unit vectors to configurations::

    config = space.from_unit([0.2, 0.7, ...])   # len == space.dim; inactive params are absent

Every problem is a :class:`~hpsearch.errors.SpaceError` reading ``file: params.name: what``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hpsearch.errors import SpaceError
from hpsearch.space.conditions import order_params, prune_conditions
from hpsearch.space.params import Param
from hpsearch.space.study import StudyConfig
from hpsearch.space.tables import TABLES, check_objective, param_from_table, study_from_table
from hpsearch.space.values import fmt, same_value

__all__ = ["Space"]


class Space:
    """A validated search space. Build it with :func:`~hpsearch.space.load_space` or :meth:`Space.from_dict`."""

    def __init__(self, *, source: str, study: StudyConfig, objective: dict[str, Any],
                 trainer: dict[str, Any], params: dict[str, Param]) -> None:
        self.source = source
        self.study = study
        self.objective = objective
        self.trainer = trainer
        self.params = params  # dependency order: parents before the params conditioned on them

    @property
    def search_params(self) -> list[Param]:
        """The searchable parameters, in order; each owns one unit coordinate."""
        return [p for p in self.params.values() if p.searchable]

    @property
    def dim(self) -> int:
        """Number of unit coordinates (searchable parameters, active or not)."""
        return len(self.search_params)

    def is_active(self, name: str, config: Mapping[str, Any]) -> bool:
        """Whether ``name``'s condition holds in ``config`` (parents must be active too)."""
        when = self.params[name].when
        if not when:
            return True
        return all(
            key in config and self.is_active(key, config)
            and any(same_value(config[key], v) for v in allowed)
            for key, allowed in when.items()
        )

    def from_unit(self, u: Sequence[float]) -> dict[str, Any]:
        """The configuration at unit vector ``u``: fixed params included, inactive ones absent."""
        u = list(u)
        if len(u) != self.dim:
            raise ValueError(f"expected {self.dim} unit coordinates, got {len(u)}")
        config: dict[str, Any] = {}
        coords = iter(u)
        for name, param in self.params.items():
            coord = next(coords) if param.searchable else 0.5
            if self.is_active(name, config):
                config[name] = param.from_unit(coord)
        return config

    def to_unit(self, config: Mapping[str, Any]) -> list[float | None]:
        """Unit coordinates of ``config``, ``None`` where a searchable parameter is absent."""
        return [p.to_unit(config[p.name]) if p.name in config else None
                for p in self.search_params]

    def params_dict(self) -> dict[str, Any]:
        """``{name: param.to_dict()}``: compare two of these to see whether a space changed."""
        return {name: p.to_dict() for name, p in self.params.items()}

    def to_dict(self) -> dict[str, Any]:
        """The whole space as a TOML-ready dict (feed it to :func:`~hpsearch.space.dump_toml`)."""
        return {"study": self.study.to_dict(), "objective": dict(self.objective),
                "trainer": dict(self.trainer), "params": self.params_dict()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, source: str = "<stored>") -> Space:
        """Validate a parsed space file (or a stored ``to_dict()``) into a :class:`Space`."""
        try:
            return cls._from_dict(d, source)
        except SpaceError as exc:
            raise SpaceError(f"{source}: {exc}") from exc

    @classmethod
    def _from_dict(cls, d: Mapping[str, Any], source: str) -> Space:
        if not isinstance(d, Mapping):
            raise SpaceError(f"a space must be a table (got {type(d).__name__})")
        for key, value in d.items():
            if key not in TABLES:
                raise SpaceError(f"unknown table [{key}] (expected {', '.join(TABLES)})")
            if not isinstance(value, Mapping):
                raise SpaceError(f"{key}: must be a table (got {fmt(value)})")
        study = study_from_table(d.get("study", {}), source)
        objective = check_objective(dict(d.get("objective", {})))
        raw = {name: param_from_table(name, table) for name, table in d.get("params", {}).items()}
        return cls(source=source, study=study, objective=objective,
                   trainer=dict(d.get("trainer", {})), params=order_params(raw))

    def with_params(self, params: Mapping[str, Param]) -> Space:
        """A copy with some parameters replaced or added (used by refine).

        Condition values that a replaced choice no longer offers are dropped; a parameter whose
        condition can then never hold is removed (with anything conditioned on it), so the copy
        is again a valid space that survives ``to_dict``/``from_dict``.
        """
        merged = dict(self.params)
        for name, param in params.items():
            if name != param.name:
                raise ValueError(f"key {name!r} does not match param name {param.name!r}")
            merged[name] = param
        try:
            ordered = order_params(prune_conditions(merged))
        except SpaceError as exc:
            raise SpaceError(f"{self.source}: {exc}") from exc
        return Space(source=self.source, study=self.study, objective=dict(self.objective),
                     trainer=dict(self.trainer), params=ordered)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Space(source={self.source!r}, study={self.study.name!r}, params={list(self.params)})"
