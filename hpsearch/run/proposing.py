"""How the claim loop asks a sampler for the next configuration.

Index samplers (random, Sobol, grid) are pure functions of the sample index: ``propose(index)``
(the trial's ``proposed_by`` is the sampler's name).
Model samplers (``uses_history``: tpe, gp, cmaes, auto) also read the round's finished trials
and the params of its running ones (other workers', other processes'): the storage loads both
inside the claim's transaction, after the study lock (``claim(..., with_history=True)``), and
calls ``propose(index, history)``. The proposal is a pure function of the round's seed, the
index and that history, so a restarted run continues from the database alone, and two workers
never hold the same history and index: the one that claims second sees the first one's trial
as pending (constant liar) and has another index.

The fit is done *before* the claim, outside the study lock, and re-checked under it
(:class:`PreparedProposer`): a GP fit takes 0.3-1.2 s at 100 trials and ~18 s at 1,000
(benchmarks/bench_samplers_cost.py), and on SQLite the claim's lock is the database's write
lock, so a fit under it would stall every other worker's step writes, heartbeats, results and
pruning decisions for that long. Under the lock the claim only compares the history it reads
with the one the fit used: the same history and the same index give the proposal computed
outside; anything else (another worker claimed or finished meanwhile) is fitted again under
the lock, exactly as if nothing had been prepared. So the proposal stays a pure function of
(seed, index, history) either way.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Callable

from hpsearch.errors import StudyError

log = logging.getLogger(__name__)

__all__ = ["uses_history", "index_proposer", "history_proposer", "ProposeTimer",
           "PreparedProposer", "history_key"]


def uses_history(sampler: Any) -> bool:
    """Whether ``sampler`` learns from the round's trials (a model sampler)."""
    return bool(getattr(sampler, "uses_history", False))


class ProposeTimer:
    """The time spent in proposals (for the run log and the cost benchmark)."""

    def __init__(self) -> None:
        self.calls = 0
        self.seconds = 0.0
        self.last = 0.0

    def add(self, seconds: float) -> None:
        self.calls += 1
        self.seconds += seconds
        self.last = seconds


def index_proposer(smp: Any) -> Callable[[int], tuple[dict[str, Any], str]]:
    """``propose(index) -> (params, proposed_by)`` of an index sampler: ``proposed_by`` is the
    sampler's name (``random``, ``sobol``, ``grid``), stored with the trial as a model
    sampler's pick is, so every trial says what proposed it."""
    name = smp.name

    def propose(index: int) -> tuple[dict[str, Any], str]:
        config = smp.propose(index)
        if config is None:  # cannot happen below ``limit``; guards a grid that shrank
            raise StudyError(f"the {name} sampler has no point {index}")
        return config, name

    return propose


def history_proposer(smp: Any, timer: ProposeTimer | None = None
                     ) -> Callable[[int, Any], tuple[dict[str, Any], str]]:
    """``propose(index, history) -> (params, method)`` of a model sampler, for
    ``Storage.claim(..., with_history=True)``. ``history`` is the storage's ``RoundHistory``:
    ``finished`` (number, params, value, state; by number) and ``pending`` (params of the
    round's running trials).

    Called as is, the fit happens under the claim's lock; :class:`PreparedProposer` fits
    before the claim and lets the claim reuse it.
    """
    from hpsearch.samplers.model import Finished

    def propose(index: int, history: Any) -> tuple[dict[str, Any], str]:
        t0 = time.perf_counter()
        finished = [Finished(params=t.params, value=t.value, state=t.state, values=t.values,
                             feasible=t.feasible) for t in history.finished]
        proposal = smp.propose(finished, list(history.pending), index=index)
        took = time.perf_counter() - t0
        if timer is not None:
            timer.add(took)
        log.debug("proposal %d by %s in %.3f s (%d finished, %d pending)", index,
                  proposal.method, took, len(finished), len(history.pending))
        return proposal.params, proposal.method

    return propose


def history_key(history: Any) -> tuple:
    """What a proposal depends on in a ``RoundHistory``: finished trials (number, state, value,
    params) and the pending params, as a comparable value."""
    def dump(params: Any) -> str:
        return json.dumps(params, sort_keys=True, default=str)

    return (tuple((t.number, t.state, t.value, dump(t.values), t.feasible, dump(t.params))
                  for t in history.finished),
            tuple(dump(p) for p in history.pending))


class PreparedProposer:
    """A model sampler's ``propose(index, history)`` whose fit is done before the claim.

    :meth:`prepare` reads the round's history and its next sample index without any lock and
    fits; the claim (``with_history=True``) then calls the proposer under the lock, which
    returns the prepared proposal if the index and the history it reads are those the fit used,
    and fits again otherwise. ``hits``/``misses`` count both cases.
    """

    def __init__(self, smp: Any, storage: Any, study: Any, round_: Any,
                 timer: ProposeTimer | None = None) -> None:
        self.fit = history_proposer(smp, timer)
        self.storage, self.study, self.round_ = storage, study, round_
        self.prepared: tuple[int, tuple, tuple[dict[str, Any], str]] | None = None
        self.hits = self.misses = 0

    def prepare(self, limit: int | None = None) -> None:
        """Fit for the round's next index as the database stands now (no lock held)."""
        from hpsearch.storage.history import round_history

        self.prepared = None
        try:
            index = self.storage.get_round(self.study.id, self.round_.number).n_claimed
            if limit is not None and index >= limit:
                return  # the round is full: the claim draws nothing
            with self.storage.engine.connect() as conn:
                history = round_history(conn, self.study.id, self.round_.number)
        except Exception as exc:  # noqa: BLE001 - the claim fits under the lock instead
            log.debug("no proposal prepared: %s", exc)
            return
        self.prepared = (index, history_key(history), self.fit(index, history))

    def __call__(self, index: int, history: Any) -> tuple[dict[str, Any], str]:
        prepared, self.prepared = self.prepared, None
        if prepared is not None and prepared[0] == index and prepared[1] == history_key(history):
            self.hits += 1
            return prepared[2]
        self.misses += 1
        return self.fit(index, history)
