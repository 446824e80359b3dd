"""The tables of a parsed space file turned into checked objects: ``[study]``, ``[objective]``
(the keys every kind needs; the objective checks the rest) and each ``[params]`` entry.

Messages name the field (``params.x: low (0.99) must be below high (0.8)``);
:meth:`hpsearch.space.Space.from_dict` prefixes the file.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hpsearch.names import DEFAULT_OBJECTIVE_KIND, OBJECTIVE_KINDS
from hpsearch.errors import SpaceError
from hpsearch.space.conditions import normalise_when
from hpsearch.space.numeric import IntParam, LogOneMinus, LogUniform, Uniform
from hpsearch.space.params import Choice, Fixed, Param
from hpsearch.space.study import FILE_KEYS, StudyConfig, split_objectives
from hpsearch.space.values import fmt

__all__ = ["PARAM_TYPES", "OBJECTIVE_KINDS", "TABLES", "study_from_table", "check_objective",
           "param_from_table", "pruner_from_table"]

PARAM_TYPES: dict[str, type[Param]] = {
    cls.kind: cls for cls in (Uniform, LogUniform, IntParam, Choice, LogOneMinus, Fixed)
}
TABLES = ("study", "objective", "trainer", "params", "pruner", "forbid", "constraint")
"""Top-level keys of a space file; ``forbid`` and ``constraint`` are arrays of tables
(``[[forbid]]``, ``[[constraint]]``)."""
FUNCTION_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def study_from_table(table: Mapping[str, Any], source: str) -> StudyConfig:
    """The ``[study]`` table; a missing name is the file's stem."""
    table = dict(table)
    unknown = set(table) - set(FILE_KEYS)
    if unknown:
        raise SpaceError(f"study.{sorted(unknown, key=str)[0]}: unknown key (expected one of "
                         f"{', '.join(FILE_KEYS)})")
    table = split_objectives(table)
    if "name" not in table:
        stem = Path(source).stem if not source.startswith("<") else ""
        table["name"] = stem or None
    return StudyConfig(**table)


def check_objective(table: dict[str, Any]) -> dict[str, Any]:
    """Check the keys every objective kind needs; the objective checks the rest."""
    table.setdefault("kind", DEFAULT_OBJECTIVE_KIND)
    kind = table["kind"]
    if not isinstance(kind, str) or kind not in OBJECTIVE_KINDS:
        raise SpaceError(f"objective.kind: must be one of {', '.join(OBJECTIVE_KINDS)} "
                         f"(got {fmt(kind)})")
    if kind == "python":
        function = table.get("function")
        if not isinstance(function, str) or not FUNCTION_RE.fullmatch(function):
            raise SpaceError(f'objective.function: a python objective needs function = '
                             f'"package.module:name" (got {fmt(function)})')
    if kind == "command":
        argv = table.get("argv")
        if (not isinstance(argv, list) or not argv
                or not all(isinstance(a, str) for a in argv)):
            raise SpaceError(f"objective.argv: a command objective needs argv = a non-empty "
                             f"list of strings (got {fmt(argv)})")
    return table


def param_from_table(name: Any, table: Any) -> Param:
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
        table["when"] = normalise_when(name, table["when"])
    return cls(name, **table)


def pruner_from_table(table: Any, kind: str) -> Any:
    """The ``[pruner]`` table checked for the study's pruner ``kind``: a
    :class:`hpsearch.pruners.PrunerSettings` (an unknown ``kind`` is a ``study.pruner`` error)."""
    # The pruners own their settings; their package imports nothing of hpsearch but errors.
    from hpsearch.pruners import parse_pruner_table

    # parse_pruner_table starts its messages with the source; Space.from_dict adds the file.
    marker = "\0pruner"
    try:
        # With no pruner in the file, the table holds the settings of whichever pruner
        # `--pruner` picks: any known field passes (an unknown one is still an error).
        return parse_pruner_table(table, marker, kind=None if kind == "none" else kind,
                                  partial=True)
    except SpaceError as exc:
        raise SpaceError(str(exc).removeprefix(f"{marker}: ")) from exc
