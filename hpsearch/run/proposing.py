"""How the claim asks the round's sampler for a new trial: :class:`SamplerProposer`.

The claim (:meth:`Storage.claim <hpsearch.storage.Storage.claim>`) calls a
:class:`~hpsearch.storage.Proposer` with the sample index and, for a sampler that
``uses_history`` (tpe, gp, cmaes, auto), the round's finished trials and the params of its
running ones (other workers', other processes'), read inside the claim's transaction after the
study lock. The proposal is a pure function of the round's seed, the index and that history,
so a restarted run continues from the database alone, and two workers never hold the same
history and index: the one that claims second sees the first one's trial as pending (constant
liar) and has another index. Index samplers (random, Sobol, grid) need the index alone.

A model's fit is done *before* the claim, outside the study lock, and re-checked under it
(:meth:`SamplerProposer.prepare`): a GP fit at a thousand trials takes seconds (figures in
benchmarks/README.md), and on SQLite the claim's lock is the database's write lock, so a fit
under it would stall every other worker's step writes, heartbeats, results and pruning
decisions for that long. Under the lock the claim only compares the history it reads with the
one the fit used: the same history and the same index give the proposal computed outside;
anything else (another worker claimed or finished meanwhile) is fitted again under the lock,
exactly as if nothing had been prepared. So the proposal stays a pure function of
(seed, index, history) either way.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from hpsearch.samplers import Sampler
from hpsearch.storage import Proposal, Proposer, RoundHistory, RoundRecord, Storage, StudyRecord

log = logging.getLogger(__name__)

__all__ = ["SamplerProposer", "ProposeTimer", "history_key"]


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


def history_key(history: RoundHistory) -> tuple[Any, ...]:
    """What a proposal depends on in a ``RoundHistory``, as a comparable value: the finished
    trials by (number, state, value, constraint verdict) and the pending params. A finished
    trial's params and objective values are those of its number for good (a trial is written
    once when it finishes), so they need no comparing; a pending trial is known only by its
    params."""
    def dump(params: Any) -> str:
        return json.dumps(params, sort_keys=True, default=str)

    return (tuple((t.number, t.state, t.value, t.feasible) for t in history.finished),
            tuple(dump(p) for p in history.pending))


class SamplerProposer(Proposer):
    """The round's sampler as the claim's :class:`~hpsearch.storage.Proposer`.

    For a model sampler, :meth:`prepare` reads the round's history and its next sample index
    without any lock and fits; the claim then calls the proposer under the lock, which returns
    the prepared proposal if the index and the history it reads are those the fit used, and
    fits again otherwise (``hits``/``misses`` count both cases). Without ``storage`` (or for an
    index sampler) nothing is prepared: every proposal is made when the claim asks.
    """

    def __init__(self, sampler: Sampler, storage: Storage | None = None,
                 study: StudyRecord | None = None, round_: RoundRecord | None = None,
                 timer: ProposeTimer | None = None) -> None:
        self.sampler = sampler
        self.uses_history = sampler.uses_history
        self.storage, self.study, self.round_ = storage, study, round_
        self.timer = timer
        self.prepared: tuple[int, tuple[Any, ...], Proposal] | None = None
        self.hits = self.misses = 0

    def prepare(self, limit: int | None = None) -> None:
        """Fit for the round's next index as the database stands now (no lock held)."""
        self.prepared = None
        if not self.uses_history or self.storage is None or self.study is None \
                or self.round_ is None:
            return
        try:
            index = self.storage.get_round(self.study.id, self.round_.number).n_claimed
            if limit is not None and index >= limit:
                return  # the round is full: the claim draws nothing
            history = self.storage.round_history(self.study.id, self.round_.number)
        except Exception as exc:  # noqa: BLE001 - the claim fits under the lock instead
            log.debug("no proposal prepared: %s", exc)
            return
        self.prepared = (index, history_key(history), self.fit(index, history))

    def fit(self, index: int, history: RoundHistory | None) -> Proposal:
        """The sampler's proposal, timed."""
        t0 = time.perf_counter()
        proposal = self.sampler.proposal(index, history)
        took = time.perf_counter() - t0
        if self.timer is not None:
            self.timer.add(took)
        if history is not None:
            log.debug("proposal %d by %s in %.3f s (%d finished, %d pending)", index,
                      proposal.method, took, len(history.finished), len(history.pending))
        return proposal

    def __call__(self, index: int, history: RoundHistory | None) -> Proposal:
        prepared, self.prepared = self.prepared, None
        if (prepared is not None and history is not None and prepared[0] == index
                and prepared[1] == history_key(history)):
            self.hits += 1
            return prepared[2]
        if self.uses_history:
            self.misses += 1
        return self.fit(index, history)
