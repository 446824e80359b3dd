"""Which trials a report shows and in what order: best first (ties broken by the study's tie
breaker, see :mod:`hpsearch.ranking`) or by a ``--sort`` key in its own sense, of one round and
some states, the first ``top`` of them. Lists for the terminal, iterators for the exports (a
100,000-trial csv streams from the database in batches)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from hpsearch.errors import ConfigError, StudyError
from hpsearch.ranking import SortKey, TieBreaker, parse_sort, tie_breaker
from hpsearch.report.front import front_order, study_objectives

if TYPE_CHECKING:
    from hpsearch.storage import Storage, StudyRecord, TrialRecord

__all__ = [
    "TrialSelection", "select_trials", "iter_selection", "iter_selection_rows", "resolve_sort",
    "study_tie_breaker", "study_param_names", "get_best", "tied_best", "check_columns", "plot_selection",
    "PLOT_MAX_POINTS",
]

#: How many recent trials are read to learn the metric names a study records.
METRIC_SAMPLE = 200
#: ``report --plot`` without ``--top`` draws at most about this many trials (the best quarter
#: and an even sample of the rest): a 100,000-trial study plots in seconds, not minutes.
PLOT_MAX_POINTS = 2000


@dataclass
class TrialSelection:
    """What ``hpsearch report`` shows: the study, its chosen trials, the state counts of the
    study (or of the round) for the title, how many trials matched (``total``: more than
    ``len(trials)`` when ``top`` cut them), the order (``sort``: None for best first), the
    tie breaker of best-first orders and each round's sampler (``samplers``: round number ->
    name; what a trial's ``proposed_by`` says unless a model sampler's start-up or pick, or a
    sampler changed on resume, proposed it)."""

    study: StudyRecord
    trials: list[TrialRecord]
    counts: dict[str, int] = field(default_factory=dict)
    round: int | None = None
    total: int | None = None
    sort: SortKey | None = None
    tie: TieBreaker | None = None
    params: list[str] = field(default_factory=list)
    samplers: dict[int, str] = field(default_factory=dict)
    #: Several objectives or constraints: the study's ranked :class:`~hpsearch.report.front.Front`
    #: (the rows are then in front order: rank, then the first objective).
    front: Any = None
    #: The study's configurations given up (their last trial's number and error: killed by
    #: their infrastructure ``1 + [study] max_retries`` times), said below the table.
    given_up: list[tuple[int, str]] = field(default_factory=list)

    def proposers_differ(self) -> bool:
        """Whether a trial of :attr:`trials` was proposed by something other than its round's
        sampler (a model sampler's Sobol start-up, ``auto``'s pick, a sampler changed on
        resume): then ``proposed_by`` tells something the study's sampler does not."""
        default = self.study.sampler
        return any(t.proposed_by is not None
                   and t.proposed_by != self.samplers.get(t.round, default)
                   for t in self.trials)

    @property
    def more(self) -> int:
        """Trials that matched but are not in :attr:`trials`."""
        return max(0, (self.total or 0) - len(self.trials))

    def order_text(self) -> str:
        """How the rows are ordered, for a header: ``best first (ties: val_loss ascending)``."""
        if self.sort is not None:
            return self.sort.describe()
        if self.front is not None:
            return (f"feasible fronts first (★: on the Pareto front), then "
                    f"{self.study.direction} {self.study.metric}")
        text = f"best first ({self.study.direction} {self.study.metric}"
        return text + (f"; ties by {self.tie.describe()})" if self.tie else ")")


def study_tie_breaker(study: StudyRecord) -> TieBreaker | None:
    """The study's tie breaker: ``[study] tie_breaker`` of its stored space, else ``val_loss``
    ascending for the built-in trainer."""
    return tie_breaker(study.space, setting=getattr(study, "tie_breaker", None))


def study_param_names(storage: Storage, study: StudyRecord) -> list[str]:
    """Every parameter of the study in declaration order: the file's, then any a refine round
    or an edited space added (a trial's params always come from one of these spaces)."""
    names = list(study.space.get("params", {}))
    for r in storage.rounds(study.id):
        names += [n for n in r.space.get("params", {}) if n not in names]
    return names


def _metric_names(storage: Storage, study: StudyRecord) -> list[str]:
    seen: dict[str, None] = {}
    best = storage.best(study)
    recent = storage.iter_trials(study, sort="number", descending=True, limit=METRIC_SAMPLE)
    for t in ([best] if best else []) + list(recent):
        seen.update(dict.fromkeys(t.metrics or {}))
    return list(seen)


def resolve_sort(storage: Storage, study: StudyRecord, text: str, *,
                 descending: bool | None = None) -> SortKey:
    """A ``--sort`` key read against what the study records.

    Raises
    ------
    ConfigError
        An unknown key (the message lists the known ones), or ``-key`` with ``--asc``.
    """
    params = study_param_names(storage, study)
    try:
        return parse_sort(text, metric=study.metric, direction=study.direction,
                          metrics=_metric_names(storage, study), params=params,
                          descending=descending)
    except KeyError as exc:
        known = ", ".join(exc.args[0])
        raise ConfigError(f"--sort {text}: study {study.name!r} has no such metric or "
                          f"parameter (known: {known})") from None
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _numeric_param(study: StudyRecord, name: str) -> bool:
    spec = study.space.get("params", {}).get(name)
    return not (isinstance(spec, dict) and spec.get("type") == "choice")


def _query(study: StudyRecord, sort: SortKey | None, tie: TieBreaker | None) -> dict[str, Any]:
    if sort is None or sort.kind == "value":
        desc = study.maximize if sort is None else sort.descending
        return dict(sort="value", descending=desc,
                    tie=None if tie is None else (tie.metric, tie.descending))
    if sort.kind in ("metric", "param"):
        return dict(sort=f"{sort.kind}:{sort.name}", descending=sort.descending,
                    numeric_param=_numeric_param(study, sort.name))
    return dict(sort=sort.kind, descending=sort.descending)


def iter_selection(storage: Storage, study: StudyRecord, *, round_: int | None = None,
                   states: Sequence[str] | None = None, top: int | None = None,
                   sort: SortKey | None = None) -> Iterator[TrialRecord]:
    """The selected trials one at a time, straight from the database (constant memory)."""
    tie = study_tie_breaker(study) if sort is None or sort.kind == "value" else None
    return storage.iter_trials(study, round_=round_, states=list(states) if states else None,
                               limit=top, **_query(study, sort, tie))


def iter_selection_rows(storage: Storage, study: StudyRecord, fields: Sequence[str], *,
                        round_: int | None = None, states: Sequence[str] | None = None,
                        top: int | None = None, sort: SortKey | None = None) -> Iterator[tuple]:
    """:func:`iter_selection` as plain tuples of the trial columns ``fields`` (JSON columns as
    text: see ``Storage.iter_rows``), for the exports of big studies."""
    tie = study_tie_breaker(study) if sort is None or sort.kind == "value" else None
    return storage.iter_rows(study, fields, round_=round_, states=list(states) if states else None,
                             limit=top, **_query(study, sort, tie))


def select_trials(
    storage: Storage, name: str, *, round_: int | None = None,
    states: Sequence[str] | None = None, top: int | None = None, sort: str | SortKey | None = None,
    descending: bool | None = None,
) -> TrialSelection:
    """The trials of study ``name``: best first (or ordered by ``sort``, a key of
    :func:`resolve_sort`), of one round and some states only, the first ``top`` of them.

    Raises
    ------
    StudyError
        Unknown study, or a round it does not have (an error, not an empty table).
    ConfigError
        An unknown ``sort`` key.
    """
    study = storage.get_study(name)
    if round_ is not None:
        storage.get_round(study.id, round_)
    if isinstance(sort, str):
        sort = resolve_sort(storage, study, sort, descending=descending)
    states = list(states) if states else None
    front = None
    objectives = study_objectives(study)
    if sort is None and (objectives.multi or objectives.constraints):
        trials, front = front_order(storage, study, round_=round_, states=states, top=top)
    else:
        trials = list(iter_selection(storage, study, round_=round_, states=states, top=top,
                                     sort=sort))
    total = storage.count_trials(study, round_=round_, states=states)
    tie = study_tie_breaker(study) if front is None and (sort is None or sort.kind == "value") \
        else None
    samplers = {r.number: r.sampler for r in storage.rounds(study.id)}
    return TrialSelection(study, trials, storage.counts(study, round_=round_), round_,
                          total=total, sort=sort, tie=tie, params=study_param_names(storage, study),
                          samplers=samplers, front=front,
                          given_up=[(t.number, t.error or "") for t in storage.given_up(study)])


def get_best(storage: Storage, name: str) -> tuple[StudyRecord, TrialRecord]:
    """Study ``name`` and its best completed trial: ties on the value go to the study's tie
    breaker (see :func:`study_tie_breaker`), then to the lowest number. StudyError when it has
    no completed trial."""
    study = storage.get_study(name)
    best = storage.best(study)
    if best is None:
        raise StudyError(f"study {name!r} has no completed trial yet")
    return study, tied_best(storage, study, best.value) or best


def tied_best(storage: Storage, study: StudyRecord, value: float | None) -> TrialRecord | None:
    """Among the complete trials whose value is ``value`` (the best), the one the study's tie
    breaker prefers (see :func:`study_tie_breaker`); None when fewer than two share it or the
    study has no tie breaker (then the storage's best, the lowest number, stands)."""
    tie = study_tie_breaker(study)
    if tie is None or value is None:
        return None
    # The first two in SQL's order (the tie breaker, then the number): bounded however many tie.
    tied = list(storage.iter_trials(study, states=["complete"], value=value, sort="value",
                                    tie=(tie.metric, tie.descending), limit=2))
    return tied[0] if len(tied) > 1 else None



def plot_selection(storage: Storage, name: str, *, round_: int | None = None,
                   states: Sequence[str] | None = None, top: int | None = None,
                   max_points: int = PLOT_MAX_POINTS) -> tuple[StudyRecord, list[TrialRecord], Any]:
    """What ``report --plot`` draws: the study, its selected trials (the best ``top``; without
    ``top``, all of them up to ``max_points``, else the best quarter of that and an even sample
    of the rest, every k-th by number) and the history of every trial of the study, gathered
    in one streamed pass (a :class:`~hpsearch.report.html_data.StudyStats`: the running best,
    where each round starts).

    Raises StudyError for an unknown study or round."""
    from hpsearch.report.html_data import STAT_FIELDS, StudyStats

    study = storage.get_study(name)
    if round_ is not None:
        storage.get_round(study.id, round_)
    states = list(states) if states else None
    n = storage.count_trials(study, round_=round_, states=states)
    if top is not None or n <= max_points:
        trials = list(iter_selection(storage, study, round_=round_, states=states, top=top))
    else:
        keep = {t.number: t for t in iter_selection(storage, study, round_=round_, states=states,
                                                    top=max_points // 4)}
        every = max(2, -(-n // (max_points - max_points // 4)))
        for t in storage.iter_trials(study, round_=round_, states=states, every=every):
            keep.setdefault(t.number, t)
        trials = sorted(keep.values(), key=lambda t: t.number)
    history = StudyStats.collect(storage.iter_rows(study, STAT_FIELDS), maximize=study.maximize)
    return study, trials, history


def check_columns(selection: TrialSelection, columns: Sequence[str]) -> None:
    """Refuse a ``--columns`` name that is no column, parameter or metric of the selection
    (ConfigError, listing the known ones)."""
    # proposed_by: a column of every trial (empty for trials stored before it was recorded)
    known = ["number", "round", "state", "value", "duration", "proposed_by", *selection.params]
    for t in selection.trials:
        known += [k for k in (t.metrics or {}) if k not in known]
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise ConfigError(f"--columns: unknown column{'s' if len(unknown) > 1 else ''} "
                          f"{', '.join(unknown)} (known: {', '.join(known)})")
