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
from hpsearch.space.forbid import Forbid, ForbidRule, forbid_names, parse_forbid
from hpsearch.space.objectives import Constraint, Objectives, parse_constraints
from hpsearch.space.params import Param
from hpsearch.space.study import StudyConfig
from hpsearch.space.tables import (
    TABLES, check_objective, param_from_table, pruner_from_table, study_from_table,
)
from hpsearch.space.values import fmt, one_line, same_value

__all__ = ["Space", "kept_rules"]


class Space:
    """A validated search space. Build it with :func:`~hpsearch.space.load_space` or :meth:`Space.from_dict`."""

    def __init__(self, *, source: str, study: StudyConfig, objective: dict[str, Any],
                 trainer: dict[str, Any], params: dict[str, Param], forbid: Forbid | None = None,
                 pruner_settings: Any = None, constraints: tuple[Constraint, ...] = ()) -> None:
        self.source = source
        self.constraints = tuple(constraints)  # [[constraint]]: bounds on reported metrics
        self.study = study
        self.objective = objective
        self.trainer = trainer
        self.params = params  # dependency order: parents before the params conditioned on them
        self.forbid = forbid if forbid is not None else Forbid()
        # The [pruner] table (hpsearch.pruners.PrunerSettings), checked for study.pruner.
        self.pruner_settings = (pruner_settings if pruner_settings is not None
                                else pruner_from_table({}, study.pruner))

    @property
    def objectives(self) -> Objectives:
        """The study's objectives (metrics, directions) and constraints."""
        return Objectives(metrics=self.study.metrics, directions=self.study.directions,
                          constraints=self.constraints)

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
        return self._active(name, config, {})

    def _active(self, name: str, config: Mapping[str, Any], memo: dict[str, bool]) -> bool:
        # Iterative, with the answers for ancestors kept in ``memo``: a chain of thousands of
        # conditions neither recurses nor costs quadratic time in from_unit.
        stack = [name]
        while stack:
            current = stack[-1]
            if current in memo:
                stack.pop()
                continue
            when = self.params[current].when or {}
            todo = [k for k in when if k in config and k not in memo]
            if todo:
                stack.extend(todo)
                continue
            memo[current] = all(
                key in config and memo[key] and any(same_value(config[key], v) for v in allowed)
                for key, allowed in when.items())
            stack.pop()
        return memo[name]

    def from_unit(self, u: Sequence[float]) -> dict[str, Any]:
        """The configuration at unit vector ``u``: fixed params included, inactive ones absent."""
        u = list(u)
        if len(u) != self.dim:
            raise ValueError(f"expected {self.dim} unit coordinates, got {len(u)}")
        config: dict[str, Any] = {}
        memo: dict[str, bool] = {}  # valid throughout: parents come first and never change
        coords = iter(u)
        for name, param in self.params.items():
            coord = next(coords) if param.searchable else 0.5
            if self._active(name, config, memo):
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
        d: dict[str, Any] = {"study": self.study.to_dict(), "objective": dict(self.objective),
             "trainer": dict(self.trainer), "params": self.params_dict()}
        pruner = self.pruner_settings.to_dict()
        if pruner:
            d["pruner"] = pruner
        if self.forbid:
            d["forbid"] = self.forbid.to_list()
        if self.constraints:
            d["constraint"] = [c.to_dict() for c in self.constraints]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, source: str = "<stored>") -> Space:
        """Validate a parsed space file (or a stored ``to_dict()``) into a :class:`Space`."""
        try:
            return cls._from_dict(d, source)
        except SpaceError as exc:
            raise SpaceError(one_line(f"{source}: {exc}")) from exc
        except RecursionError as exc:  # a value nested thousands deep (a fixed list, say)
            raise SpaceError(one_line(f"{source}: a value is nested too deeply")) from exc

    @classmethod
    def _from_dict(cls, d: Mapping[str, Any], source: str) -> Space:
        if not isinstance(d, Mapping):
            raise SpaceError(f"a space must be a table (got {type(d).__name__})")
        for key, value in d.items():
            if key not in TABLES:
                raise SpaceError(f"unknown table [{fmt(key)}] (expected {', '.join(TABLES)})")
            if key not in ("forbid", "constraint") and not isinstance(value, Mapping):
                raise SpaceError(f"{key}: must be a table (got {fmt(value)})")
        study = study_from_table(d.get("study", {}), source)
        objective = check_objective(dict(d.get("objective", {})))
        if not d.get("params"):
            # A space with no parameter runs the same thing every trial: almost surely a
            # mistake. A configuration run on purpose names its values as fixed parameters.
            raise SpaceError("params: nothing to search: [params] is empty (add a parameter, "
                             "or give fixed values such as lr = 0.01 to run one configuration)")
        raw = {name: param_from_table(name, table) for name, table in d["params"].items()}
        params = order_params(raw)
        pruner_settings = pruner_from_table(dict(d.get("pruner", {}) or {}), study.pruner)
        forbid = parse_forbid(d.get("forbid"), params)
        constraints = parse_constraints(d.get("constraint"))
        return cls(source=source, study=study, objective=objective,
                   trainer=dict(d.get("trainer", {})), params=params, forbid=forbid,
                   pruner_settings=pruner_settings, constraints=constraints)

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
                     trainer=dict(self.trainer), params=ordered,
                     forbid=kept_rules(self.forbid.to_list(), ordered),
                     pruner_settings=self.pruner_settings, constraints=self.constraints)

    def with_forbid(self, tables: Any) -> Space:
        """A copy whose ``[[forbid]]`` rules are ``tables`` (another round's, the file's), less
        those that cannot match in this space (see :func:`kept_rules`)."""
        return Space(source=self.source, study=self.study, objective=dict(self.objective),
                     trainer=dict(self.trainer), params=self.params,
                     forbid=kept_rules(tables or [], self.params),
                     pruner_settings=self.pruner_settings, constraints=self.constraints)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Space(source={self.source!r}, study={self.study.name!r}, params={list(self.params)})"


def kept_rules(tables: list[dict[str, Any]], params: Mapping[str, Param]) -> Forbid:
    """The ``[[forbid]]`` tables that still mean something with ``params`` (a refined round's):
    a rule naming a removed parameter, or a ``when`` value a narrowed parameter no longer takes,
    can never match and is dropped; ``when`` lists keep the values still possible."""
    rules: list[ForbidRule] = []
    for table in tables:
        expr, when = table.get("expr"), table.get("when")
        if expr is not None and not forbid_names(expr) <= params.keys():
            continue
        kept: dict[str, Any] = {}
        if when:
            kept["when"] = {k: [v for v in (vs if isinstance(vs, list) else [vs])
                                if k in params and params[k].contains(v)]
                            for k, vs in when.items()}
            if not all(kept["when"].values()):
                continue
        if expr is not None:
            kept["expr"] = expr
        try:  # an expression whose kinds no longer fit (a choice narrowed to strings) is dropped
            rules.extend(parse_forbid([kept], params).rules)
        except SpaceError:
            continue
    return Forbid(tuple(rules))
