"""What changed between two spaces, parameter by parameter (``run --evolve``, ``validate``).

:func:`diff_spaces` compares a study's stored space with a file's and returns a
:class:`SpaceDiff`: one :class:`ParamChange` per parameter that differs, each with a kind and
one line of text::

    added       a parameter the old space did not have
    removed     a parameter the new space does not have
    fixed       a fixed value changed, or a parameter became fixed or searched
    type        the type changed (int -> choice, uniform -> log_uniform: the scale)
    range       a numeric range widened, narrowed or moved (and its step)
    choices     values of a choice added or dropped
    condition   its ``when`` changed
    grid        its explicit grid or grid_points changed (only the grid sampler reads them)

and ``refused``: what no evolution can bridge (the metric, the direction, the objective's
kind), because old values would measure something else. The diff is pure: no storage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hpsearch.names import DEFAULT_OBJECTIVE_KIND
from hpsearch.space.params import Choice, Fixed, Param
from hpsearch.space.values import fmt, same_value

if TYPE_CHECKING:
    from hpsearch.space.model import Space

__all__ = ["ParamChange", "SpaceDiff", "diff_spaces", "param_text"]


@dataclass(frozen=True)
class ParamChange:
    """One parameter's change: ``kind`` (see the module docstring), ``old``/``new`` as their
    ``to_dict()`` forms (None where absent), ``text`` one line for people."""

    name: str
    kind: str
    text: str
    old: Any = None
    new: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "text": self.text, "old": self.old,
                "new": self.new}


@dataclass
class SpaceDiff:
    """The parameters that changed (in the new space's order, removed ones last) and the
    changes no evolution may make (``refused``)."""

    params: list[ParamChange] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.params or self.refused)

    def lines(self) -> list[str]:
        """One line per changed parameter: ``name: what``."""
        return [f"{c.name}: {c.text}" for c in self.params]

    def to_list(self) -> list[dict[str, Any]]:
        return [c.to_dict() for c in self.params]


def param_text(param: Param) -> str:
    """``log_uniform [0.0001, 0.1]``, ``choice relu | tanh``, ``fixed 0.5``, with its condition."""
    d = param.describe()
    text = f"{d['type']} {d['range']}"
    if d["condition"]:
        text += f" when {d['condition']}"
    return text


def diff_spaces(old: Space, new: Space) -> SpaceDiff:
    """What changed from ``old`` to ``new`` (see the module docstring)."""
    out = SpaceDiff()
    for key in ("metric", "direction"):
        a, b = getattr(old.study, key), getattr(new.study, key)
        if a != b:
            out.refused.append(f"study.{key} changed from {a!r} to {b!r}")
    old_kind = old.objective.get("kind", DEFAULT_OBJECTIVE_KIND)
    new_kind = new.objective.get("kind", DEFAULT_OBJECTIVE_KIND)
    if old_kind != new_kind:
        out.refused.append(f"objective.kind changed from {old_kind!r} to {new_kind!r}")
    for name, p in new.params.items():
        q = old.params.get(name)
        if q is None:
            out.params.append(ParamChange(name, "added", f"added ({param_text(p)})",
                                          None, _dump(p)))
        elif q.to_dict() != p.to_dict():
            kind, text = _describe(q, p)
            out.params.append(ParamChange(name, kind, text, _dump(q), _dump(p)))
    for name, q in old.params.items():
        if name not in new.params:
            out.params.append(ParamChange(name, "removed", f"removed (was {param_text(q)})",
                                          _dump(q), None))
    return out


def _dump(p: Param) -> Any:
    return p.to_dict()


def _describe(old: Param, new: Param) -> tuple[str, str]:
    """The kind and text of a parameter present in both spaces whose definition differs."""
    parts: list[str] = []
    kind = ""
    if isinstance(old, Fixed) or isinstance(new, Fixed):
        if isinstance(old, Fixed) and isinstance(new, Fixed):
            if not same_value(old.value, new.value):
                parts.append(f"fixed value {fmt(old.value)} -> {fmt(new.value)}")
        elif isinstance(new, Fixed):
            parts.append(f"now fixed at {fmt(new.value)} (was {param_text(old)})")
        else:
            parts.append(f"now searched: {param_text(new)} (was fixed at "
                         f"{fmt(getattr(old, 'value', None))})")
        kind = "fixed"
    elif old.kind != new.kind:
        kind = "type"
        parts.append(f"{param_text(old)} -> {param_text(new)}")
    elif isinstance(old, Choice) and isinstance(new, Choice):
        added = [v for v in new.values if not any(same_value(v, w) for w in old.values)]
        dropped = [v for v in old.values if not any(same_value(v, w) for w in new.values)]
        if added:
            parts.append(f"choices added {fmt(added)}")
        if dropped:
            parts.append(f"choices dropped {fmt(dropped)}")
        if not added and not dropped and list(old.values) != list(new.values):
            parts.append(f"choices reordered {fmt(list(new.values))}")
        kind = "choices" if parts else ""
    elif old.numeric and new.numeric:
        ranged = _range_text(old, new)
        if ranged:
            parts.append(ranged)
            kind = "range"
        if getattr(old, "log", None) != getattr(new, "log", None):
            parts.append(f"log scale {'on' if getattr(new, 'log', False) else 'off'}")
            kind = kind or "type"
    if (old.when or None) != (new.when or None):
        parts.append(f"condition {old.condition_text() or 'none'} -> "
                     f"{new.condition_text() or 'none'}")
        kind = kind or "condition"
    if old.grid != new.grid or getattr(old, "grid_points", None) != getattr(new, "grid_points", None):
        parts.append("grid changed")
        kind = kind or "grid"
    if not parts:  # any other difference of the stored form
        parts.append(f"{param_text(old)} -> {param_text(new)}")
        kind = kind or "type"
    return kind, "; ".join(parts)


def _range_text(old: Any, new: Any) -> str:
    """``widened [0.001, 0.1] -> [0.001, 1]`` (narrowed, moved), with a step change."""
    lo0, hi0, lo1, hi1 = old.low, old.high, new.low, new.high
    out = ""
    if (lo0, hi0) != (lo1, hi1):
        if lo1 <= lo0 and hi1 >= hi0:
            how = "widened"
        elif lo1 >= lo0 and hi1 <= hi0:
            how = "narrowed"
        else:
            how = "moved"
        out = f"{how} [{fmt(lo0)}, {fmt(hi0)}] -> [{fmt(lo1)}, {fmt(hi1)}]"
    if old.step != new.step:
        step = f"step {fmt(old.step)} -> {fmt(new.step)}"
        out = f"{out}; {step}" if out else step
    return out
