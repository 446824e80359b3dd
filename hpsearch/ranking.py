"""The order of trials: which way a metric is better, how ``--sort`` keys read, how ties break.

Shared by the reports (``report``, ``best``) and ``refine`` (its top set), so it depends on
nothing but the names. A metric's own *sense* comes from its name: a loss or an error is
better low (ascending), an accuracy, AUC, F1, precision or recall is better high (descending).
The study's own metric follows the study's direction. Anything else is sorted descending unless
the user says otherwise (``--asc``/``--desc``, or ``-name`` for descending and ``+name`` for
ascending).

Ties on the study's value are broken by a second metric: ``[study] tie_breaker`` (``"val_loss"``,
``"-val_loss"``...), by default the objective's own (``Objective.default_tie_breaker``, read
from :data:`hpsearch.names.DEFAULT_TIE_BREAKERS`: the validation loss for the built-in
trainer, which always records it); then by trial number.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Protocol, Sequence

from hpsearch.names import DEFAULT_OBJECTIVE_KIND, DEFAULT_TIE_BREAKERS

__all__ = [
    "LOWER_IS_BETTER", "HIGHER_IS_BETTER", "metric_sense", "SortKey", "parse_sort", "TieBreaker",
    "tie_breaker", "rank_key", "rank", "tied_with_others",
]

#: Name parts of metrics that are better low / high (matched on ``_``/``-``/``.`` separated parts).
LOWER_IS_BETTER = frozenset({"loss", "error", "err", "mse", "mae", "rmse", "nll", "perplexity"})
HIGHER_IS_BETTER = frozenset({"accuracy", "acc", "auc", "f1", "precision", "recall"})

#: Sort keys that are columns of every trial, not metrics or parameters (ascending by default).
COLUMN_KEYS = ("number", "duration", "round", "proposed_by")


class _Trial(Protocol):
    @property
    def number(self) -> int: ...
    @property
    def value(self) -> float | None: ...
    @property
    def metrics(self) -> Mapping[str, Any] | None: ...


def metric_sense(name: str) -> bool | None:
    """True when higher is better (sorted descending), False when lower is, None: unknown."""
    parts = set(re.split(r"[_\-.\s]+", name.lower()))
    if parts & LOWER_IS_BETTER:
        return False
    if parts & HIGHER_IS_BETTER:
        return True
    return None


@dataclass(frozen=True)
class SortKey:
    """What ``report --sort`` orders by: ``kind`` is ``value``, ``metric``, ``param`` or one of
    :data:`COLUMN_KEYS`; ``why`` says in words where the order came from (for the header)."""

    name: str
    kind: str
    descending: bool
    why: str

    def describe(self) -> str:
        """``sorted by val_loss ascending (a loss: lower is better)``."""
        way = "descending" if self.descending else "ascending"
        return f"sorted by {self.name} {way} ({self.why})"


def parse_sort(text: str, *, metric: str, direction: str, metrics: Iterable[str] = (),
               params: Iterable[str] = (), descending: bool | None = None) -> SortKey:
    """Read a ``--sort`` key against what the study holds.

    ``metric``/``direction``: the study's; ``metrics``: metric names its trials record;
    ``params``: its parameter names; ``descending``: ``--desc`` (True) / ``--asc`` (False).
    Raises ``KeyError`` with the sorted list of known keys as its argument for an unknown key.
    """
    sign = None
    name = text.strip()
    if name[:1] in "+-" and len(name) > 1:
        sign, name = name[0], name[1:]
    if sign is not None and descending is not None and (sign == "-") != descending:
        raise ValueError(f"--sort {text} contradicts --{'desc' if descending else 'asc'}")
    explicit = descending if sign is None else sign == "-"
    metrics, params = list(metrics), list(params)
    if name == "value" or name == metric:
        kind, default, why = "value", direction == "maximize", f"the study's {direction} {metric}"
    elif name in metrics:
        sense = metric_sense(name)
        kind = "metric"
        if sense is None:
            default, why = True, "unknown metric: descending unless --asc"
        else:
            default = sense
            why = "higher is better" if sense else "lower is better"
    elif name in COLUMN_KEYS:
        kind, default, why = name, False, "a trial column"
    elif name in params:
        kind, default, why = "param", False, "a parameter"
    else:
        known = sorted({"value", metric, *metrics, *COLUMN_KEYS, *params})
        raise KeyError(known)
    if explicit is not None:
        return SortKey(name, kind, explicit, "as asked")
    return SortKey(name, kind, default, why)


@dataclass(frozen=True)
class TieBreaker:
    """A metric that orders trials of equal value (``descending``: higher is better)."""

    metric: str
    descending: bool

    def describe(self) -> str:
        return f"{self.metric} {'descending' if self.descending else 'ascending'}"


def tie_breaker(space: Mapping[str, Any] | None, *, setting: str | None = None) -> TieBreaker | None:
    """The tie breaker of a study from its stored space dict: ``[study] tie_breaker`` (or
    ``setting``, e.g. ``StudyConfig.tie_breaker``); else the objective kind's default
    (:data:`~hpsearch.names.DEFAULT_TIE_BREAKERS`); else None (ties by trial number only).
    ``"none"`` or ``""`` turns it off."""
    space = space or {}
    text = setting if setting is not None else space.get("study", {}).get("tie_breaker")
    if text is None:
        kind = space.get("objective", {}).get("kind", DEFAULT_OBJECTIVE_KIND)
        text = DEFAULT_TIE_BREAKERS.get(kind)
        if text is None:
            return None
    text = str(text).strip()
    if text in ("", "none"):
        return None
    if text[0] in "+-" and len(text) > 1:
        return TieBreaker(text[1:], text[0] == "-")
    sense = metric_sense(text)
    return TieBreaker(text, True if sense is None else sense)


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v):
        return None
    return float(v)


def rank_key(t: _Trial, *, maximize: bool, tie: TieBreaker | None) -> tuple:
    """Sort key: trials with a value first, best value first, then the tie breaker (trials
    without it after those with it), then the trial number."""
    v = _num(t.value)
    if v is None:
        return (1, 0.0, 1, 0.0, t.number)
    tie_part = (1, 0.0)
    if tie is not None:
        tv = _num((t.metrics or {}).get(tie.metric))
        if tv is not None:
            tie_part = (0, -tv if tie.descending else tv)
    return (0, -v if maximize else v, *tie_part, t.number)


def rank(trials: Iterable[_Trial], *, maximize: bool, tie: TieBreaker | None) -> list:
    """``trials`` best first (see :func:`rank_key`)."""
    return sorted(trials, key=lambda t: rank_key(t, maximize=maximize, tie=tie))


def tied_with_others(top: Sequence[_Trial], others: Iterable[_Trial]) -> int:
    """How many trials of ``top`` share their value with another trial (of ``top`` or
    ``others``): a top set that is mostly ties was chosen by the tie breaker, not the metric."""
    values: dict[float, int] = {}
    for t in (*top, *others):
        v = _num(t.value)
        if v is not None:
            values[v] = values.get(v, 0) + 1
    tied = 0
    for t in top:
        v = _num(t.value)
        if v is not None and values[v] > 1:
            tied += 1
    return tied
