"""Conditions (``when``): their normal form, their checks, and the order they impose.

``when = { optimizer = "sgd" }`` is stored as ``{"optimizer": ["sgd"]}``: a parameter is active
when every key's value is among its allowed values and that key is active itself. Conditions
may chain; a cycle, a reference to an unknown parameter or to a value the parent cannot take is
a :class:`~hpsearch.errors.SpaceError`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from hpsearch.errors import SpaceError
from hpsearch.space.params import Choice, Fixed, Param
from hpsearch.space.values import fmt, is_finite_plain

__all__ = ["normalise_when", "condition_value_ok", "order_params", "prune_conditions"]


def normalise_when(name: str, when: Any) -> dict[str, list[Any]]:
    """``{key: value-or-list}`` from a file as ``{key: [values]}``, checked for plain values."""
    if not isinstance(when, Mapping) or not when:
        raise SpaceError(f"params.{name}: when must be a non-empty table such as "
                         f'{{ optimizer = "sgd" }} (got {fmt(when)})')
    out: dict[str, list[Any]] = {}
    for key, value in when.items():
        values = value if isinstance(value, list) else [value]
        if not values or not all(is_finite_plain(v) for v in values):
            raise SpaceError(f"params.{name}: when.{key} must be a value or a non-empty list "
                             f"of values (got {fmt(value)})")
        out[key] = list(values)
    return out


def condition_value_ok(ref: Param, value: Any) -> bool:
    """Whether a condition on ``ref`` may ask for ``value``."""
    # A fixed parent may hold any value: `when = { batch_norm = true }` with batch_norm = false
    # is a deliberate switch (the parameter is then never active), not a typo.
    return isinstance(ref, Fixed) or ref.contains(value)


def order_params(params: Mapping[str, Param]) -> dict[str, Param]:
    """Check every ``when`` and return the params with each one after those it refers to."""
    for name, param in params.items():
        for key, allowed in (param.when or {}).items():
            if key == name:
                raise SpaceError(f"params.{name}: when refers to the parameter itself")
            if key not in params:
                raise SpaceError(f"params.{name}: when refers to unknown parameter {key!r}")
            for v in allowed:
                if not condition_value_ok(params[key], v):
                    ref = params[key]
                    among = fmt(list(ref.values)) if isinstance(ref, Choice) else ref.describe()["range"]
                    raise SpaceError(f"params.{name}: when.{key} = {fmt(v)} is not a value of "
                                     f"{key} ({among})")
    ordered: dict[str, Param] = {}
    # Depth-first with an explicit stack (a chain of thousands of conditions must not hit
    # Python's recursion limit): each entry is a name and an iterator over its parents.
    for root in params:
        if root in ordered:
            continue
        path: list[str] = [root]
        on_path = {root}
        parents = [iter(params[root].when or {})]
        while path:
            parent = next(parents[-1], None)
            if parent is None:
                done = path.pop()
                on_path.discard(done)
                parents.pop()
                ordered[done] = params[done]
            elif parent in on_path:
                cycle = " -> ".join([*path[path.index(parent):], parent])
                raise SpaceError(f"params.{parent}: conditions form a cycle ({cycle})")
            elif parent not in ordered:
                path.append(parent)
                on_path.add(parent)
                parents.append(iter(params[parent].when or {}))
    return ordered


def prune_conditions(params: Mapping[str, Param]) -> dict[str, Param]:
    """Drop condition values a parent no longer offers; drop a parameter whose condition can
    then never hold (and, repeatedly, anything conditioned on it)."""
    merged = dict(params)
    changed = True
    while changed:
        changed = False
        for name, param in list(merged.items()):
            if not param.when:
                continue
            when: dict[str, list[Any]] = {}
            for key, allowed in param.when.items():
                ref = merged.get(key)
                when[key] = [] if ref is None else [v for v in allowed if condition_value_ok(ref, v)]
            if any(not v for v in when.values()):
                del merged[name]
                changed = True
            elif when != param.when:
                merged[name] = dataclasses.replace(param, when=when)
                changed = True
    return merged
