"""Search spaces: the TOML file, its validation, conditions and the unit-cube mapping.

A space file has four tables: ``[study]`` (name, metric, direction, sampler, trials, seed,
grid_points), ``[objective]`` (kind = builtin | command | python and their settings),
``[trainer]`` (fixed trainer settings, checked by the trainer) and ``[params]``. Parameter types
and their scales live in :mod:`hpsearch.params`; this module turns tables into them, checks the
``when`` conditions (known parameters, known values, no cycles), orders parameters so each comes
after those it depends on, and maps unit vectors to configurations::

    space = load_space("space.toml")
    config = space.from_unit([0.2, 0.7, ...])   # len == space.dim; inactive params are absent

Every problem is a :class:`~hpsearch.errors.SpaceError` reading ``file: params.name: what``.
Only the standard library is imported here, so ``hpsearch validate`` starts fast.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpsearch.errors import SpaceError
from hpsearch.numeric_params import IntParam, LogOneMinus, LogUniform, Uniform
from hpsearch.params import Choice, Fixed, Param, fmt, is_number, same_value
from hpsearch.toml_writer import dump_toml

__all__ = [
    "Space", "StudyConfig", "load_space", "parse_space", "dump_toml", "PARAM_TYPES",
    "Param", "Uniform", "LogUniform", "LogOneMinus", "IntParam", "Choice", "Fixed",
]

PARAM_TYPES: dict[str, type[Param]] = {
    cls.kind: cls for cls in (Uniform, LogUniform, IntParam, Choice, LogOneMinus, Fixed)
}
OBJECTIVE_KINDS = ("builtin", "command", "python")
TABLES = ("study", "objective", "trainer", "params")
DEFAULT_GRID_POINTS = 5
_FUNCTION_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


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
        from hpsearch.samplers import SAMPLERS  # lazy: samplers imports this module

        for key in ("name", "metric"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value.strip():
                raise SpaceError(f"study.{key}: must be a non-empty string (got {fmt(value)})")
        if not isinstance(self.direction, str) or self.direction not in ("maximize", "minimize"):
            raise SpaceError(f"study.direction: must be maximize or minimize "
                             f"(got {fmt(self.direction)})")
        if not isinstance(self.sampler, str) or self.sampler not in SAMPLERS:
            raise SpaceError(f"study.sampler: unknown sampler {fmt(self.sampler)} "
                             f"(known: {', '.join(SAMPLERS)})")
        if not _is_int(self.trials) or self.trials < 1:
            raise SpaceError(f"study.trials: must be an integer >= 1 (got {fmt(self.trials)})")
        if not _is_int(self.seed) or self.seed < 0:
            raise SpaceError(f"study.seed: must be a non-negative integer (got {fmt(self.seed)})")
        gp = self.grid_points
        if gp is not None and (not _is_int(gp) or gp < 1):
            raise SpaceError(f"study.grid_points: must be an integer >= 1 (got {fmt(gp)})")

    def to_dict(self) -> dict[str, Any]:
        """The ``[study]`` table; ``grid_points`` only when set."""
        d = dataclasses.asdict(self)
        if d["grid_points"] is None:
            del d["grid_points"]
        return d


class Space:
    """A validated search space. Build it with :func:`load_space` or :meth:`Space.from_dict`."""

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
        """The whole space as a TOML-ready dict (feed it to :func:`dump_toml`)."""
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
        study_table = dict(d.get("study", {}))
        unknown = set(study_table) - {f.name for f in dataclasses.fields(StudyConfig)}
        if unknown:
            raise SpaceError(f"study.{sorted(unknown)[0]}: unknown key (expected one of "
                             f"{', '.join(f.name for f in dataclasses.fields(StudyConfig))})")
        if "name" not in study_table:
            stem = Path(source).stem if not source.startswith("<") else ""
            study_table["name"] = stem or None
        study = StudyConfig(**study_table)
        objective = _check_objective(dict(d.get("objective", {})))
        raw = {name: _param_from_table(name, table) for name, table in d.get("params", {}).items()}
        return cls(source=source, study=study, objective=objective,
                   trainer=dict(d.get("trainer", {})), params=_order(raw))

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
        changed = True
        while changed:
            changed = False
            for name, param in list(merged.items()):
                if not param.when:
                    continue
                when: dict[str, list[Any]] = {}
                for key, allowed in param.when.items():
                    ref = merged.get(key)
                    keep = [] if ref is None else [v for v in allowed if _condition_value_ok(ref, v)]
                    when[key] = keep
                if any(not v for v in when.values()):
                    del merged[name]
                    changed = True
                elif when != param.when:
                    merged[name] = dataclasses.replace(param, when=when)
                    changed = True
        try:
            ordered = _order(merged)
        except SpaceError as exc:
            raise SpaceError(f"{self.source}: {exc}") from exc
        return Space(source=self.source, study=self.study, objective=dict(self.objective),
                     trainer=dict(self.trainer), params=ordered)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Space(source={self.source!r}, study={self.study.name!r}, params={list(self.params)})"


def _check_objective(table: dict[str, Any]) -> dict[str, Any]:
    """Check the keys every objective kind needs; the objective checks the rest."""
    table.setdefault("kind", "builtin")
    kind = table["kind"]
    if not isinstance(kind, str) or kind not in OBJECTIVE_KINDS:
        raise SpaceError(f"objective.kind: must be one of {', '.join(OBJECTIVE_KINDS)} "
                         f"(got {fmt(kind)})")
    if kind == "python":
        function = table.get("function")
        if not isinstance(function, str) or not _FUNCTION_RE.fullmatch(function):
            raise SpaceError(f'objective.function: a python objective needs function = '
                             f'"package.module:name" (got {fmt(function)})')
    if kind == "command":
        argv = table.get("argv")
        if (not isinstance(argv, list) or not argv
                or not all(isinstance(a, str) for a in argv)):
            raise SpaceError(f"objective.argv: a command objective needs argv = a non-empty "
                             f"list of strings (got {fmt(argv)})")
    return table


def _param_from_table(name: Any, table: Any) -> Param:
    """One ``[params]`` entry: an inline table with ``type``, or a bare (fixed) value."""
    if not isinstance(name, str) or not name.isidentifier():
        raise SpaceError(f"params.{name}: a parameter name must be an identifier "
                         f"(letters, digits, _; not starting with a digit)")
    if not isinstance(table, Mapping):
        return Fixed(name, table)
    table = dict(table)
    kind = table.pop("type", None)
    if not isinstance(kind, str) or kind not in PARAM_TYPES:
        what = "missing type" if kind is None else f"unknown type {fmt(kind)}"
        raise SpaceError(f"params.{name}: {what} (expected one of {', '.join(PARAM_TYPES)})")
    cls = PARAM_TYPES[kind]
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "name"}
    for key in table:
        if key not in fields:
            raise SpaceError(f"params.{name}: unknown key {key!r} for type {kind} "
                             f"(expected {', '.join(['type', *fields])})")
    for key, f in fields.items():
        if key not in table and f.default is dataclasses.MISSING \
                and f.default_factory is dataclasses.MISSING:
            raise SpaceError(f"params.{name}: missing {key}")
    if "when" in table:
        table["when"] = _normalise_when(name, table["when"])
    return cls(name, **table)


def _normalise_when(name: str, when: Any) -> dict[str, list[Any]]:
    if not isinstance(when, Mapping) or not when:
        raise SpaceError(f"params.{name}: when must be a non-empty table such as "
                         f'{{ optimizer = "sgd" }} (got {fmt(when)})')
    out: dict[str, list[Any]] = {}
    for key, value in when.items():
        values = value if isinstance(value, list) else [value]
        if not values or not all(is_number(v) or isinstance(v, (str, bool)) for v in values):
            raise SpaceError(f"params.{name}: when.{key} must be a value or a non-empty list "
                             f"of values (got {fmt(value)})")
        out[key] = list(values)
    return out


def _condition_value_ok(ref: Param, value: Any) -> bool:
    # A fixed parent may hold any value: `when = { batch_norm = true }` with batch_norm = false
    # is a deliberate switch (the parameter is then never active), not a typo.
    return isinstance(ref, Fixed) or ref.contains(value)


def _order(params: dict[str, Param]) -> dict[str, Param]:
    """Check every ``when`` and return the params with each one after those it refers to."""
    for name, param in params.items():
        for key, allowed in (param.when or {}).items():
            if key == name:
                raise SpaceError(f"params.{name}: when refers to the parameter itself")
            if key not in params:
                raise SpaceError(f"params.{name}: when refers to unknown parameter {key!r}")
            for v in allowed:
                if not _condition_value_ok(params[key], v):
                    ref = params[key]
                    among = fmt(list(ref.values)) if isinstance(ref, Choice) else ref.describe()["range"]
                    raise SpaceError(f"params.{name}: when.{key} = {fmt(v)} is not a value of "
                                     f"{key} ({among})")
    ordered: dict[str, Param] = {}
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in ordered:
            return
        if name in visiting:
            cycle = " -> ".join([*visiting[visiting.index(name):], name])
            raise SpaceError(f"params.{name}: conditions form a cycle ({cycle})")
        visiting.append(name)
        for key in params[name].when or {}:
            visit(key)
        visiting.pop()
        ordered[name] = params[name]

    for name in params:
        visit(name)
    return ordered


def parse_space(text: str, *, source: str) -> Space:
    """Parse and validate the text of a space file; ``source`` names it in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpaceError(f"{source}: invalid TOML: {exc}") from exc
    except RecursionError as exc:
        raise SpaceError(f"{source}: invalid TOML: nested too deeply") from exc
    return Space.from_dict(data, source=source)


def load_space(path: str | Path) -> Space:
    """Read, parse and validate a space file (a missing file is a :class:`SpaceError` too)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SpaceError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise SpaceError(f"{path}: is a directory, not a space file") from exc
    except UnicodeDecodeError as exc:
        raise SpaceError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise SpaceError(f"{path}: cannot be read ({exc.strerror})") from exc
    return parse_space(text, source=str(path))
