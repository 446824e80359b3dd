"""The rounds of a study side by side (``hpsearch rounds``), and a round as a space file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hpsearch.refine import param_bounds, unit_width
from hpsearch.space import Space

if TYPE_CHECKING:
    from hpsearch.storage import RoundRecord, Storage, StudyRecord

__all__ = ["RoundsOverview", "rounds_overview", "round_space_file", "round_carried"]


@dataclass
class RoundsOverview:
    """Each round's bounds beside the others: what ``hpsearch rounds`` prints.

    ``rounds`` holds one dict per round (number, parent, sampler, target, counts, best);
    ``ranges[param][i]`` is the text of round i's range (``None``: not in that round's space)
    and ``widths[param][i]`` its width in the original unit coordinates.
    """

    study: str
    metric: str
    direction: str
    rounds: list[dict[str, Any]] = field(default_factory=list)
    ranges: dict[str, list[str | None]] = field(default_factory=dict)
    widths: dict[str, list[float | None]] = field(default_factory=dict)
    bounds: dict[str, list[Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "study": self.study, "metric": self.metric, "direction": self.direction,
            "rounds": [
                {**r, "params": {name: {"range": self.bounds[name][i],
                                        "unit_width": self.widths[name][i]}
                                 for name in self.ranges if self.ranges[name][i] is not None}}
                for i, r in enumerate(self.rounds)
            ],
        }


def rounds_overview(storage: Storage, study_name: str) -> RoundsOverview:
    """Every round of ``study_name`` with its bounds, counts and best trial; where it came from
    (``kind``: file, refine, evolve), an evolved round's ``changes`` (one line per parameter)
    and ``carried``: how many earlier trials its model learns from (None: not a model sampler
    or nothing to carry; see :mod:`hpsearch.run.history`)."""
    study = storage.get_study(study_name)
    original = Space.from_dict(study.space, source=study.source or "<stored>")
    out = RoundsOverview(study=study.name, metric=study.metric, direction=study.direction)
    spaces = []
    for r in storage.rounds(study.id):
        counts = storage.counts(study, round_=r.number)
        best = storage.best(study, round_=r.number)
        space = Space.from_dict(r.space, source=study.source or "<stored>")
        rule = r.rule or {}
        out.rounds.append({
            "round": r.number, "parent": r.parent, "sampler": r.sampler, "target": r.target,
            "trials": sum(counts.values()), "complete": counts.get("complete", 0),
            "best_value": None if best is None else best.value,
            "best_trial": None if best is None else best.number,
            "top": rule.get("top"), "margin": rule.get("margin"),
            "kind": rule.get("kind", "file" if r.number == 1 else "refine"),
            "changes": [f"{c['name']}: {c['text']}" for c in rule.get("changes", [])],
            "carried": _carried(storage, study, r, space),
        })
        spaces.append(space)
    names = list(original.params)
    for s in spaces:  # parameters an evolved study has dropped since keep their rows
        names += [n for n in s.params if n not in names]
    for name in names:
        orig = original.params.get(name)
        if orig is not None and not orig.searchable and all(
                name not in s.params or not s.params[name].searchable for s in spaces):
            continue
        ranges: list[str | None] = []
        widths: list[float | None] = []
        bounds: list[Any] = []
        for s in spaces:
            p = s.params.get(name)
            ranges.append(None if p is None else p.describe()["range"])
            widths.append(None if p is None or orig is None else _width(p, orig))
            bounds.append(None if p is None else param_bounds(p))
        out.ranges[name], out.widths[name], out.bounds[name] = ranges, widths, bounds
    return out


def _width(param: Any, orig: Any) -> float | None:
    """The round's width in the file's unit coordinates; None where the two cannot be compared
    (an evolved study changed the parameter's type)."""
    if param.kind != orig.kind:
        return None
    try:
        return unit_width(param, orig)
    except (TypeError, ValueError):
        return None


def round_carried(storage: Storage, study: StudyRecord, round_: RoundRecord) -> int | None:
    """How many earlier trials round ``round_``'s model learns from (None: nothing carried or
    not a model sampler): the ``carried`` of :func:`rounds_overview` for one round."""
    return _carried(storage, study, round_,
                    Space.from_dict(round_.space, source=study.source or "<stored>"))


def _carried(storage: Storage, study: StudyRecord, round_: RoundRecord, space: Space) -> int | None:
    """How many earlier trials the round's model learns from (None: nothing carried)."""
    from hpsearch.errors import StudyError
    from hpsearch.run.history import MODEL_SAMPLERS, is_file_round, round_memory

    if round_.sampler not in MODEL_SAMPLERS or not is_file_round(round_):
        return None
    try:
        memory = round_memory(storage, study, round_, space, round_.sampler)
    except StudyError:  # a warm-start study deleted since
        return None
    if memory.earlier is None and memory.warm is None:
        return None
    return len(memory.prior)


def round_space_file(storage: Storage, study_name: str, round_: int | None = None
                     ) -> tuple[StudyRecord, RoundRecord, dict[str, Any]]:
    """A round's narrowed space (default: the latest round's) as a space-file dict, runnable as
    a study of its own (named ``STUDY-roundN``, with the round's sampler, target and seed)."""
    study = storage.get_study(study_name)
    chosen = storage.get_round(study.id, round_) if round_ else storage.latest_round(study.id)
    space = dict(chosen.space)
    space["study"] = dict(space.get("study", {}), name=f"{study.name}-round{chosen.number}",
                          sampler=chosen.sampler, trials=chosen.target, seed=chosen.seed)
    space["objective"] = study.space.get("objective", {})
    space["trainer"] = study.space.get("trainer", {})
    return study, chosen, space
