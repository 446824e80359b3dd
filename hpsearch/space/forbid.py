"""Forbidden combinations: ``[[forbid]]`` tables of a space file, parsed, checked, evaluated.

Two forms, alone or together in one table (together: both must hold)::

    [[forbid]]
    when = { optimizer = "sgd", batch_size = [256, 512] }   # every key matches (a list: any of)

    [[forbid]]
    expr = "n_layers * hidden_units > 2000"                 # a boolean expression

A configuration is forbidden when any table matches it. A rule that mentions a parameter the
configuration lacks (inactive under its ``when``) does not match: it cannot forbid what is absent.

The expression language is parsed with :mod:`ast` and *never* evaluated by Python: every node is
checked against a whitelist and turned into a small tree of closures. Allowed: parameter names,
numbers, strings, ``true``/``false`` (or ``True``/``False``), ``+ - * / **`` and unary ``-``,
comparisons (``< <= > >= == !=``, chained too), ``and``/``or``/``not``, parentheses. Names are
type-checked at load time (arithmetic and ordering need numbers, ``and``/``or``/``not`` need
booleans, the whole rule must be a boolean), so a mistake is a :class:`SpaceError` naming the
field (``forbid[0].expr: unknown parameter 'foo'``), not a surprise in the middle of a run.
Arithmetic runs on floats; an overflow or a division by zero makes the rule not match.

Parameters are duck-typed (``contains``, ``values``, ``numeric``, ``searchable``): this module
imports no parameter class, so the space loader can import it without a loop.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable

from hpsearch.errors import SpaceError
from hpsearch.values import fmt

__all__ = ["ForbidRule", "Forbid", "parse_forbid", "forbidden_share", "forbid_names",
           "MAX_EXPR_LENGTH"]

MAX_EXPR_LENGTH = 1000
"""Longer expressions are refused (nobody writes one; a huge one only costs parse time)."""

_KEYS = ("when", "expr")
_ALLOWED = ("only parameter names, numbers, strings, true/false, + - * / **, comparisons, "
            "and/or/not and parentheses")
_BINOPS: dict[type, tuple[str, Callable[[float, float], float]]] = {
    ast.Add: ("+", operator.add), ast.Sub: ("-", operator.sub), ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv), ast.Pow: ("**", operator.pow),
}
_ORDER = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}
_EQUAL = {ast.Eq: True, ast.NotEq: False}
_REFUSED = {  # what the user wrote, in words, for the nodes people try first
    ast.Call: "calls are not allowed", ast.Attribute: "attribute access is not allowed",
    ast.Subscript: "indexing is not allowed", ast.Lambda: "lambda is not allowed",
    ast.IfExp: "if/else is not allowed", ast.NamedExpr: ":= is not allowed",
}


class _Absent(Exception):
    """A referenced parameter is missing from the configuration: the rule does not match."""


def _fmt(value: Any) -> str:
    """A value as an expression writes it: strings quoted, nothing cut."""
    return fmt(value, quote=True, limit=None)


def _same(a: Any, b: Any) -> bool:
    """Equality that keeps booleans apart from numbers, as everywhere in a space."""
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def _constant(value: Any) -> Callable[[Mapping[str, Any]], Any]:
    """A node function that ignores the configuration and gives ``value``."""
    return lambda config: value


def _ordered(fn: Callable[[float, float], bool]) -> Callable[[Any, Any], bool]:
    """An order test (``<``, ``<=``...) on two numbers."""
    return lambda x, y: fn(float(x), float(y))


def _equal(want: bool) -> Callable[[Any, Any], bool]:
    """``==`` (``want`` True) or ``!=`` (False), booleans kept apart from numbers."""
    return lambda x, y: _same(x, y) == want


def _kind_of_value(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "num"
    return "str" if isinstance(v, str) else "any"


def _kind_of_param(param: Any) -> str:
    """``num``, ``str``, ``bool`` or ``any`` (a choice of mixed values, a fixed list)."""
    if getattr(param, "numeric", False):
        return "num"
    values = getattr(param, "values", None)
    if isinstance(values, tuple):  # a choice
        kinds = {_kind_of_value(v) for v in values}
        return kinds.pop() if len(kinds) == 1 else "any"
    if hasattr(param, "value"):  # a fixed value
        return _kind_of_value(param.value)
    return "any"


_KIND_WORDS = {"num": "a number", "str": "a string", "bool": "a boolean", "any": "a mixed value"}
_PLURAL = {"num": "numbers", "str": "strings", "bool": "booleans"}
_SYMBOLS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


# ------------------------------------------------------------------------------ expressions
@dataclass(frozen=True)
class _Node:
    """A compiled expression node: its static kind and a function of the configuration."""

    kind: str
    run: Callable[[Mapping[str, Any]], Any]
    text: str


class _Compiler:
    """Turn a whitelisted :mod:`ast` tree into closures, checking names and kinds."""

    def __init__(self, params: Mapping[str, Any], where: str) -> None:
        self.params = params
        self.where = where
        self.names: set[str] = set()

    def fail(self, what: str) -> SpaceError:
        return SpaceError(f"{self.where}: {what}")

    def compile(self, text: str) -> _Node:
        if len(text) > MAX_EXPR_LENGTH:
            raise self.fail(f"longer than {MAX_EXPR_LENGTH} characters")
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise self.fail(f"invalid expression {text!r} ({exc.msg})") from None
        except (RecursionError, MemoryError, ValueError):
            raise self.fail("the expression is nested too deeply or is not text") from None
        try:
            node = self.node(tree.body)
        except RecursionError:
            raise self.fail("the expression is nested too deeply") from None
        if node.kind not in ("bool", "any"):
            raise self.fail(f"must be a condition such as \"a * b > 10\" "
                            f"(got {text!r}, {_KIND_WORDS[node.kind]})")
        return node

    def need(self, node: _Node, kind: str, what: str) -> None:
        if node.kind not in (kind, "any"):
            raise self.fail(f"{what} needs {_PLURAL[kind]} (got {node.text}, "
                            f"{_KIND_WORDS[node.kind]})")

    def node(self, n: ast.AST) -> _Node:
        method = getattr(self, f"_{type(n).__name__}", None)
        if method is None:
            what = next((w for t, w in _REFUSED.items() if isinstance(n, t)),
                        f"{type(n).__name__} is not allowed")
            raise self.fail(f"{what} ({_ALLOWED})")
        return method(n)

    def _Name(self, n: ast.Name) -> _Node:
        name = n.id
        if name in ("true", "false") and name not in self.params:
            value = name == "true"
            return _Node("bool", _constant(value), name)
        if name not in self.params:
            raise self.fail(f"unknown parameter {name!r}")
        self.names.add(name)

        def get(config: Mapping[str, Any], name: str = name) -> Any:
            if name not in config:
                raise _Absent
            return config[name]

        return _Node(_kind_of_param(self.params[name]), get, name)

    def _Constant(self, n: ast.Constant) -> _Node:
        v = n.value
        kind = _kind_of_value(v)
        if kind == "any" or (isinstance(v, (int, float)) and not math.isfinite(float(v))):
            raise self.fail(f"{v!r} is not allowed ({_ALLOWED})")
        return _Node(kind, _constant(v), _fmt(v))

    def _UnaryOp(self, n: ast.UnaryOp) -> _Node:
        inner = self.node(n.operand)
        if isinstance(n.op, ast.Not):
            self.need(inner, "bool", "not")
            return _Node("bool", lambda c: not inner.run(c), f"not {inner.text}")
        if isinstance(n.op, (ast.USub, ast.UAdd)):
            self.need(inner, "num", "a sign")
            sign = -1.0 if isinstance(n.op, ast.USub) else 1.0
            symbol = "-" if sign < 0 else "+"
            return _Node("num", lambda c: sign * float(inner.run(c)), f"{symbol}{inner.text}")
        raise self.fail(f"{type(n.op).__name__} is not allowed ({_ALLOWED})")

    def _BinOp(self, n: ast.BinOp) -> _Node:
        if type(n.op) not in _BINOPS:
            raise self.fail(f"{type(n.op).__name__} is not allowed ({_ALLOWED})")
        symbol, fn = _BINOPS[type(n.op)]
        left, right = self.node(n.left), self.node(n.right)
        for side in (left, right):
            self.need(side, "num", symbol)
        # Floats only: 10 ** 10 ** 10 overflows at once instead of building a huge integer.
        return _Node("num", lambda c: fn(float(left.run(c)), float(right.run(c))),
                     f"{left.text} {symbol} {right.text}")

    def _BoolOp(self, n: ast.BoolOp) -> _Node:
        parts = [self.node(v) for v in n.values]
        word = "and" if isinstance(n.op, ast.And) else "or"
        for p in parts:
            self.need(p, "bool", word)
        combine = all if word == "and" else any
        return _Node("bool", lambda c: combine(p.run(c) for p in parts),
                     f" {word} ".join(p.text for p in parts))

    def _Compare(self, n: ast.Compare) -> _Node:
        nodes = [self.node(n.left), *(self.node(c) for c in n.comparators)]
        tests: list[Callable[[Any, Any], bool]] = []
        for op, a, b in zip(n.ops, nodes, nodes[1:]):
            if type(op) in _ORDER:
                self.need(a, "num", "a comparison")
                self.need(b, "num", "a comparison")
                tests.append(_ordered(_ORDER[type(op)]))
            elif type(op) in _EQUAL:
                tests.append(_equal(_EQUAL[type(op)]))
            else:
                raise self.fail(f"{type(op).__name__} is not allowed ({_ALLOWED})")

        def run(config: Mapping[str, Any]) -> bool:
            values = [node.run(config) for node in nodes]
            return all(t(x, y) for t, x, y in zip(tests, values, values[1:]))

        text = nodes[0].text + "".join(f" {_SYMBOLS[type(op)]} {node.text}"
                                       for op, node in zip(n.ops, nodes[1:]))
        return _Node("bool", run, text)

    def _Expression(self, n: ast.Expression) -> _Node:
        return self.node(n.body)


# ------------------------------------------------------------------------------ the rules
@dataclass(frozen=True)
class ForbidRule:
    """One ``[[forbid]]`` table: ``when`` (all keys match) and/or ``expr`` (true)."""

    when: dict[str, list[Any]] | None = None
    expr: str | None = None
    _test: Callable[[Mapping[str, Any]], bool] | None = field(default=None, repr=False,
                                                               compare=False)

    def matches(self, config: Mapping[str, Any]) -> bool:
        """Whether this rule forbids ``config``."""
        if self.when:
            for key, allowed in self.when.items():
                if key not in config or not any(_same(config[key], v) for v in allowed):
                    return False
        if self._test is not None:
            try:
                return bool(self._test(config))
            except (_Absent, ArithmeticError, TypeError, ValueError):
                return False
        return True

    def to_dict(self) -> dict[str, Any]:
        """The TOML table form (``when`` values as written: a scalar or a list)."""
        d: dict[str, Any] = {}
        if self.when:
            d["when"] = {k: v[0] if len(v) == 1 else list(v) for k, v in self.when.items()}
        if self.expr is not None:
            d["expr"] = self.expr
        return d


@dataclass(frozen=True)
class Forbid:
    """All the rules of a space; falsy when there are none."""

    rules: tuple[ForbidRule, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.rules)

    def is_forbidden(self, config: Mapping[str, Any]) -> bool:
        """Whether any rule matches ``config`` (a configuration as ``Space.from_unit`` gives)."""
        return any(rule.matches(config) for rule in self.rules)

    def to_list(self) -> list[dict[str, Any]]:
        """The ``[[forbid]]`` tables, for ``Space.to_dict``."""
        return [rule.to_dict() for rule in self.rules]


def _parse_when(when: Any, params: Mapping[str, Any], where: str) -> dict[str, list[Any]]:
    if not isinstance(when, Mapping) or not when:
        raise SpaceError(f"{where}: must be a non-empty table such as "
                         f'{{ optimizer = "sgd" }} (got {_fmt(when)})')
    out: dict[str, list[Any]] = {}
    for key, value in when.items():
        if key not in params:
            raise SpaceError(f"{where}: unknown parameter {key!r}")
        values = value if isinstance(value, list) else [value]
        if not values:
            raise SpaceError(f"{where}.{key}: must be a value or a non-empty list of values")
        param = params[key]
        for v in values:
            if isinstance(v, (dict, list)) or not param.contains(v):
                raise SpaceError(f"{where}.{key}: {_fmt(v)} is not a value of {key}")
        out[key] = list(values)
    return out


def parse_forbid(tables: Any, params: Mapping[str, Any], *, source: str | None = None) -> Forbid:
    """Check the ``forbid`` array of tables against the space's ``params``.

    Parameters
    ----------
    tables:
        The parsed ``[[forbid]]`` value (a list of tables), or None for none.
    params:
        ``{name: param}`` of the space (the rules may name any of them, fixed ones included).
    source:
        The file name to start messages with; leave it None when the caller (``Space.from_dict``)
        adds it, as for every other field.
    """
    try:
        return _parse(tables, params)
    except SpaceError as exc:
        if source is None:
            raise
        raise SpaceError(f"{source}: {exc}") from exc


def _parse(tables: Any, params: Mapping[str, Any]) -> Forbid:
    if tables is None:
        return Forbid()
    if not isinstance(tables, list) or not all(isinstance(t, Mapping) for t in tables):
        raise SpaceError("forbid: must be an array of tables ([[forbid]] with when = {...} "
                         "or expr = \"...\")")
    rules = []
    for i, table in enumerate(tables):
        where = f"forbid[{i}]"
        unknown = [k for k in table if k not in _KEYS]
        if unknown:
            raise SpaceError(f"{where}: unknown key {unknown[0]!r} (expected when, expr)")
        if not table:
            raise SpaceError(f"{where}: needs when = {{...}} or expr = \"...\"")
        when = _parse_when(table["when"], params, f"{where}.when") if "when" in table else None
        test = None
        expr = table.get("expr")
        if "expr" in table:
            if not isinstance(expr, str) or not expr.strip():
                raise SpaceError(f"{where}.expr: must be a non-empty string (got {_fmt(expr)})")
            test = _Compiler(params, f"{where}.expr").compile(expr).run
        rules.append(ForbidRule(when=when, expr=expr, _test=test))
    return Forbid(tuple(rules))


def forbid_names(expr: str) -> set[str]:
    """The parameter names an (already checked) expression refers to; ``true``/``false``
    count as the constants they are when no parameter has that name."""
    tree = ast.parse(expr.strip(), mode="eval")
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - {"true", "false"}


def forbidden_share(space: Any, forbid: Forbid | None = None, *, n: int = 10_000,
                    seed: int = 0) -> float:
    """Estimated share of the space that is forbidden: ``n`` uniform unit points, mapped.

    ``forbid`` defaults to ``space.forbid``. 1.0 means nothing allowed was found (``validate``
    refuses such a space); the estimate's standard error is at most ``0.5 / sqrt(n)``.
    """
    import numpy as np

    forbid = forbid if forbid is not None else getattr(space, "forbid", None)
    if not forbid:
        return 0.0
    points = np.random.default_rng(seed).random((n, space.dim))
    hits = sum(forbid.is_forbidden(space.from_unit(u)) for u in points.tolist())
    return hits / n

