"""The answer of a study with several objectives: its feasible Pareto front.

A trial is on the front when it is complete, feasible (it broke no ``[[constraint]]``) and no
other such trial is at least as good in every objective and better in one. Fronts are ranked
(0: the front, 1: the front of what remains, ...; :mod:`hpsearch.pareto`)::

    front = study_front(storage, "digits-tradeoff")
    for t in front.members: ...            # rank 0, best first in the first objective
    pick = front.pick("inference_ms")      # the member best in one metric

A single-objective study has a front too: its best trials (equal values). Trials stored before
schema 3 read their objective values from their metrics (``value`` for the first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from hpsearch.errors import ConfigError, StudyError
from hpsearch.space.objectives import rank_trials, trial_vector

if TYPE_CHECKING:
    from hpsearch.space.objectives import Objectives
    from hpsearch.storage import Storage, StudyRecord, TrialRecord

__all__ = ["Front", "study_front", "front_of_trials", "trial_vector", "rank_trials", "study_objectives",
           "front_order", "trial_values_of", "feasible_of"]


def study_objectives(study: StudyRecord) -> Objectives:
    """The objectives and constraints of a stored study."""
    from hpsearch.space.objectives import objectives_of

    return objectives_of(study.space)


@dataclass
class Front:
    """A study's ranked feasible trials: :attr:`trials` (front rank, then the first objective,
    best first), :attr:`ranks` (trial number -> rank) and how many complete trials were
    infeasible."""

    study: StudyRecord
    objectives: Objectives
    trials: list[TrialRecord] = field(default_factory=list)
    ranks: dict[int, int] = field(default_factory=dict)
    n_infeasible: int = 0

    @property
    def members(self) -> list[TrialRecord]:
        """The Pareto front (rank 0)."""
        return [t for t in self.trials if self.ranks[t.number] == 0]

    def first(self, k: int) -> list[TrialRecord]:
        """The trials of the first ``k`` fronts."""
        return [t for t in self.trials if self.ranks[t.number] < k]

    def pick(self, metric: str) -> TrialRecord:
        """The front member best in ``metric`` (an objective: in its direction; ties by the
        other objectives' order, then number).

        Raises ConfigError when ``metric`` is not an objective, StudyError when the front is
        empty."""
        metrics = self.objectives.metrics
        if metric not in metrics:
            raise ConfigError(f"--pick {metric}: not an objective of study {self.study.name!r} "
                              f"(objectives: {', '.join(metrics)})")
        members = self.members
        if not members:
            raise StudyError(f"study {self.study.name!r} has no complete feasible trial yet")
        j = metrics.index(metric)
        sign = -1.0 if self.objectives.maximize[j] else 1.0
        return min(members, key=lambda t: (sign * (trial_vector(t, metrics) or [0.0] * len(metrics))[j],
                                           t.number))


def study_front(storage: Storage, name: str, *, round_: int | None = None) -> Front:
    """Study ``name``'s complete trials ranked into Pareto fronts (of one round with
    ``round_``); infeasible trials are counted, never ranked.

    Raises StudyError for an unknown study or round."""
    study = storage.get_study(name)
    if round_ is not None:
        storage.get_round(study.id, round_)
    return front_of_trials(study, storage.iter_trials(study, round_=round_,
                                                      states=["complete"]))


def front_of_trials(study: StudyRecord, trials: Iterable[TrialRecord]) -> Front:
    """The :class:`Front` of ``trials`` (those complete) of ``study``, with no storage."""
    objectives = study_objectives(study)
    complete = [t for t in trials if t.state == "complete"]
    ranked, ranks = rank_trials(complete, objectives)
    return Front(study, objectives, ranked, ranks,
                 n_infeasible=sum(1 for t in complete if t.feasible is False))


def front_order(storage: Storage, study: StudyRecord, *, round_: int | None = None,
                states: Sequence[str] | None = None, top: int | None = None
                ) -> tuple[list[TrialRecord], Front]:
    """A multi-objective study's trials best first: the ranked feasible trials (front rank,
    then the first objective), then the rest (infeasible, pruned, failed, running) by number;
    of one round and some states, the first ``top``. With the study's whole :class:`Front`
    (``pareto`` means on the study's front, whatever round is shown)."""
    front = study_front(storage, study.name)
    ranked = [t for t in front.trials if round_ is None or t.round == round_]
    if states:
        ranked = [t for t in ranked if t.state in states]
    seen = {t.number for t in ranked}
    out = ranked[:top] if top is not None else ranked
    if top is None or len(out) < top:
        rest = storage.iter_trials(study, round_=round_, states=list(states) if states else None)
        for t in rest:
            if t.number in seen:
                continue
            out.append(t)
            if top is not None and len(out) >= top:
                break
    return out, front


def trial_values_of(t: TrialRecord, metrics: Sequence[str]) -> dict[str, Any]:
    """Every objective's value of a trial (metric -> value; None where it has none)."""
    out: dict[str, Any] = {}
    for i, m in enumerate(metrics):
        if t.values and m in t.values:
            out[m] = t.values[m]
        elif i == 0:
            out[m] = t.value
        else:
            out[m] = (t.metrics or {}).get(m)
    return out


def feasible_of(t: TrialRecord) -> bool | None:
    """A complete trial's verdict (one stored before constraints were checked: True); None
    for a trial that is not complete."""
    if t.state != "complete":
        return None
    return t.feasible is not False
