"""Model-based samplers: proposals from the finished trials of a round, the database's alone.

The trials live in hpsearch's storage; a model sampler only proposes. The run loop reads the
round's trials and calls::

    proposal = sampler.propose(history, pending, index=sample_index)
    proposal.params    # the configuration to run
    proposal.method    # what proposed it: "sobol" (start-up), "tpe", "gp", "cmaes", "random"
                       # (no allowed point from the model), for the run log and `report`

``history`` are the round's finished trials (:class:`Finished`: params, value, state, in trial
number order) and ``pending`` the params of its running trials (other workers, other processes).
The result depends on nothing else: the same seed, index and trials give the same proposal on
any machine, so a restarted ``run`` continues from the database alone and four workers claiming
indices 40..43 at once get four different points (their pending points differ, and each index
has its own random stream).

Start-up: the first ``n_startup`` indices of a round (and any proposal before a trial has
completed) come from the Sobol sampler at the same index, as a ``sobol`` study would have run.

Forbidden combinations (``space.forbid``): a proposal that a ``[[forbid]]`` rule matches is
told to the model as the worst value seen and the model is asked again, up to ``max_retries``
times; then a random allowed point is taken (``method = "random"``). Forbidden points are never
stored, so they influence that one proposal only.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from hpsearch.errors import SpaceError
from hpsearch.samplers.base import Proposal, Sampler, redraw
from hpsearch.storage.records import RoundHistory

__all__ = ["Finished", "Proposal", "ModelSampler", "OptunaModelSampler", "DEFAULT_STARTUP",
           "MAX_RETRIES", "content_key", "derived_seed", "allowed_random"]

DEFAULT_STARTUP = 10
"""Start-up trials per round before the model (Optuna's TPE and GP use 10 too)."""
MAX_RETRIES = 20
"""Re-asks of the model after a forbidden proposal before a random allowed point is taken."""


@dataclass(frozen=True)
class Finished:
    """A finished trial as the model sees it. ``state``: complete, pruned or failed."""

    params: Mapping[str, Any]
    value: float | None
    state: str = "complete"
    #: Several objectives: every objective's value (metric -> value) and the constraint
    #: verdict (False: broke one); read by :mod:`hpsearch.samplers.multi` only.
    values: Mapping[str, Any] | None = None
    feasible: bool | None = None
    #: How long the trial ran (stored started_at/finished_at); None where unknown.
    seconds: float | None = None
    #: What proposed it ("sobol", "tpe", "gp", ...); None where unknown.
    proposed_by: str | None = None

    @property
    def usable(self) -> bool:
        """A completed trial with a finite value (what a model learns from)."""
        return (self.state == "complete" and self.value is not None
                and math.isfinite(self.value))


def history_of(history: Any, seen: dict[int, tuple[Any, Finished]] | None = None,
               ) -> tuple[list[Finished], list[Mapping[str, Any]]]:
    """A claim's ``RoundHistory`` (or None) as the finished trials and pending params a model
    reads. ``seen``, a dict the caller keeps between proposals, makes the view of a storage
    record the same object as long as the record is (SQLite's history hands out the same
    records claim after claim), so a model can tell an unchanged trial by identity; it is left
    holding this history's records only."""
    if history is None:
        return [], []
    finished = []
    views: dict[int, tuple[Any, Finished]] = {}
    for t in history.finished:
        view = seen.get(id(t)) if seen else None
        if view is None or view[0] is not t:  # the record is kept with it: its id stays its own
            view = (t, Finished(params=t.params, value=t.value, state=t.state, values=t.values,
                                feasible=t.feasible, seconds=t.seconds,
                                proposed_by=t.proposed_by))
        views[id(t)] = view
        finished.append(view[1])
    if seen is not None:
        seen.clear()
        seen.update(views)
    return finished, list(history.pending)


def content_key(params: Mapping[str, Any]) -> tuple[Any, ...]:
    """A comparable key of a configuration that keeps ``1``, ``1.0`` and ``True`` apart (they
    are equal in Python, not in a space)."""
    return tuple(params.items()), tuple(map(type, params.values()))  # C loops: a hot path


def derived_seed(seed: int, index: int, *extra: int) -> int:
    """A 32-bit seed from ``(seed, index, ...)`` (numpy's SeedSequence: stable everywhere)."""
    import numpy as np

    return int(np.random.SeedSequence([seed, index, *extra]).generate_state(1)[0])


def allowed_random(space: Any, forbid: Any, *, seed: int, index: int) -> dict[str, Any]:
    """A uniform random configuration that ``forbid`` allows (draws keyed by seed and index)."""
    import numpy as np

    if not forbid:
        return space.from_unit(np.random.default_rng([seed, index, 7]).random(space.dim).tolist())
    return space.from_unit(redraw(space, np.random.default_rng([seed, index, 7])))


class ModelSampler(Sampler):
    """Base of the samplers that learn from the round's finished trials.

    Parameters
    ----------
    space:
        The round's space (its ``forbid`` rules, if any, are respected).
    seed:
        The round's seed, a non-negative integer.
    n_startup:
        Sobol trials at the start of each round before the model is used.
    max_retries:
        Model re-asks after a forbidden proposal before a random allowed point.
    """

    uses_history: ClassVar[bool] = True
    #: Whether the class itself serves several objectives and constraints (cmaes ranks its
    #: generations); the others are swapped for :mod:`hpsearch.samplers.multi`'s.
    ranks_objectives: ClassVar[bool] = False

    def __init__(self, space: Any, *, seed: int, n_startup: int = DEFAULT_STARTUP,
                 max_retries: int = MAX_RETRIES) -> None:
        super().__init__(space, seed=seed)
        if not isinstance(n_startup, int) or isinstance(n_startup, bool) or n_startup < 0:
            raise SpaceError(f"n_startup must be a non-negative integer (got {n_startup!r})")
        self.n_startup = n_startup
        self.max_retries = max_retries
        self.forbid = getattr(space, "forbid", None)
        self._startup: Any = None
        self._views: dict[int, tuple[Any, Finished]] = {}  # history_of's, between proposals

    def propose(self, history: Sequence[Finished], pending: Sequence[Mapping[str, Any]] = (),
                *, index: int) -> Proposal:
        """The configuration for the round's sample ``index``, given its finished trials
        (in number order) and the params of its running trials."""
        if index < 0:
            raise ValueError(f"index must be >= 0 (got {index})")
        if self.space.dim == 0:
            return Proposal(self.space.from_unit([]), "fixed")
        if index < self.n_startup or not any(t.usable for t in history):
            return self._startup_point(index)
        config = self.propose_model(list(history), list(pending), index)
        if config is None:
            return Proposal(allowed_random(self.space, self.forbid, seed=self.seed, index=index),
                            "random")
        return Proposal(config, self.method_for(history))

    def proposal(self, index: int, history: RoundHistory | None = None) -> Proposal:
        """:meth:`propose` with the round's history as the claim reads it."""
        finished, pending = history_of(history, self._views)
        return self.propose(finished, pending, index=index)

    def method_for(self, history: Sequence[Finished]) -> str:
        """The name reported for a model proposal (``auto`` reports its pick)."""
        return self.name

    def _startup_point(self, index: int) -> Proposal:
        if self._startup is None:
            from hpsearch.samplers import SobolSampler

            self._startup = SobolSampler(self.space, seed=self.seed)
        config = self._startup.propose(index)
        if self.forbid and self.forbid.is_forbidden(config):
            return Proposal(allowed_random(self.space, self.forbid, seed=self.seed, index=index),
                            "random")
        return Proposal(config, "sobol")

    @abstractmethod
    def propose_model(self, history: list[Finished], pending: list[Mapping[str, Any]],
                 index: int) -> dict[str, Any] | None:
        """The model's allowed configuration, or None to fall back to a random allowed one."""

    def _maximize(self) -> bool:
        return self.space.study.direction == "maximize"

    def _worst(self, history: Sequence[Finished]) -> float:
        values = [t.value for t in history if t.usable and t.value is not None]
        return min(values) if self._maximize() else max(values)


class OptunaModelSampler(ModelSampler):
    """A model sampler backed by an Optuna sampler on an in-memory study built per proposal.

    The study holds the round's finished trials (complete with their value, pruned, failed)
    and its running ones as RUNNING trials: Optuna's constant liar (TPE) and pending-point
    handling (GP) then steer away from them. ``study.ask()`` with the Optuna sampler seeded
    from ``(seed, index)`` gives the proposal; the study is thrown away.

    Building the study is cheap at any size: each finished trial is converted once (cached by
    its position and content) into a :class:`~hpsearch.samplers.shared.SharedTrial`, which
    Optuna's in-memory storage holds without its per-trial deep copy (the copy was 80 % of a
    proposal at 10,000 trials; GP's values change with every new trial, so GP converts again),
    and the converted trials go into the study at once
    (:func:`~hpsearch.samplers.shared.add_trials`), not one storage call each.
    Rebuilding per proposal, rather than keeping one study and appending to it, is what keeps
    "same seed, same history, same proposal" true when trials finish out of number order and
    running trials come and go. One sampler object serves one worker (not thread-safe).
    """

    def __init__(self, space: Any, **kwargs: Any) -> None:
        super().__init__(space, **kwargs)
        self._coords: Any = None
        self._frozen: dict[tuple[Any, ...], Any] = {}
        self._last: list[tuple[Finished, Any]] = []

    @abstractmethod
    def _optuna_sampler(self, seed: int) -> Any:
        """The Optuna sampler (start-up off: ``n_startup`` is ours) seeded with ``seed``."""

    def _study(self, history: list[Finished], pending: list[Mapping[str, Any]], seed: int) -> Any:
        import optuna

        from hpsearch.samplers.shared import add_trials

        if self._coords is None:
            from hpsearch.samplers.coords import Coordinates

            self._coords = Coordinates(self.space)
        storage = optuna.storages.InMemoryStorage()
        study = optuna.create_study(direction="maximize" if self._maximize() else "minimize",
                                    storage=storage,
                                    sampler=self._optuna_sampler(seed))
        study_id = storage.get_study_id_from_name(study.study_name)
        frozen: dict[tuple[Any, ...], Any] = {}
        last, converted = self._last, []
        for i, h in enumerate(history):
            # The same object at the same position as in the last proposal: its conversion
            # (Finished objects are not changed; history_of keeps a record's view the same).
            if i < len(last) and last[i][0] is h:
                converted.append(last[i][1])
            else:
                converted.append(self._frozen_trial(i, h, frozen))
        # What study.add_trials does, less its per-trial validation (done once, when the
        # trial was converted by create_trial) and its copy (see SharedTrial), at once.
        add_trials(storage, study_id, [t for t in converted if t is not None])
        self._frozen = frozen  # only the current history's trials stay cached
        self._last = list(zip(history, converted))
        study.add_trials([t for t in (self._running_trial(p) for p in pending) if t])
        return study

    def _frozen_trial(self, i: int, trial: Finished, frozen: dict[tuple[Any, ...], Any]) -> Any:
        # Finished trials never change: their FrozenTrial is cached by position and content
        # (compared, not hashed, so two trials never share an entry), and a long round costs
        # one conversion per new trial, not one per trial per proposal.
        key = (i, trial.state, trial.value, content_key(trial.params))
        converted = self._frozen[key] if key in self._frozen else self._convert(trial)
        frozen[key] = converted
        return converted

    def _convert(self, trial: Finished) -> Any:
        from optuna.trial import TrialState, create_trial

        mapped = self._coords.optuna_params(trial.params)
        if mapped is None:
            return None
        params, dists = mapped
        if trial.usable:
            made = create_trial(state=TrialState.COMPLETE, value=float(trial.value or 0.0),
                                params=params, distributions=dists)
        elif trial.state == "pruned" and trial.value is not None and math.isfinite(trial.value):
            made = create_trial(state=TrialState.PRUNED, params=params, distributions=dists,
                                intermediate_values={0: float(trial.value)})
        else:
            state = TrialState.PRUNED if trial.state == "pruned" else TrialState.FAIL
            made = create_trial(state=state, params=params, distributions=dists)
        from hpsearch.samplers.shared import shared

        return shared(made)

    def _running_trial(self, config: Mapping[str, Any]) -> Any:
        from optuna.trial import TrialState, create_trial

        mapped = self._coords.optuna_params(config)
        if mapped is None:
            return None
        params, dists = mapped
        return create_trial(state=TrialState.RUNNING, params=params, distributions=dists)

    def propose_model(self, history: list[Finished], pending: list[Mapping[str, Any]],
                 index: int) -> dict[str, Any] | None:
        import warnings

        import optuna

        # Optuna's log lines ("A new study created", GP's "optimization of kernel parameters
        # failed ... default initial kernel parameters will be used") are its internals, not
        # the run's: only errors pass during a proposal; the caller's level is restored.
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        try:
            study = self._study(history, pending, derived_seed(self.seed, index))
            worst = self._worst(history)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ExperimentalWarning, independent sampling
                for _ in range(self.max_retries + 1):
                    trial = study.ask()
                    config = self._coords.suggest(trial)
                    if not self.forbid or not self.forbid.is_forbidden(config):
                        return config
                    study.tell(trial, worst)
            return None
        finally:
            optuna.logging.set_verbosity(verbosity)

