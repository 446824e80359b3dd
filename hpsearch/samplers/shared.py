"""A finished trial that Optuna's in-memory storage may hold without copying it.

``InMemoryStorage.create_new_trial`` deep-copies the trial it is given. The model samplers
(:class:`hpsearch.samplers.model.OptunaModelSampler`) rebuild a study from the round's finished
trials for every proposal; the copy was 80 % of a TPE proposal at 10,000 trials. A finished
trial is never changed by a sampler (Optuna's TPE and GP write only to the trial being asked;
the storage sets ``number`` and ``_trial_id``, the same each time for the same history), so a
:class:`SharedTrial` is its own deep copy. ``tests/samplers`` checks that cached trials come out
of a proposal unchanged. Imports Optuna: import this module only where a model runs.

:func:`add_trials` puts a round's converted trials into a new in-memory study at once, in the
state ``create_new_trial`` one by one leaves (numbers, trial ids, the best trial), without its
per-trial lock, copy and best-trial update: a study rebuilt per proposal costs a list and a
dict, not a Python call per trial. ``tests/samplers/test_shared.py`` compares both states.

:class:`GroupedSpace` is Optuna's group decomposition of a conditional space (TPE's
``group=True``) computed from each distinct set of parameters once instead of from every
trial: Optuna's refines its groups with every complete or pruned trial of the study, every
proposal, and a repeated set changes nothing (the groups only ever split, so a set seen before
is already a union of groups). The same groups in the same order, compared in
``tests/samplers/test_shared.py``. At 500 trials of a conditional space (four groups) Optuna's
took 2.6 ms of CPU a proposal, this one 0.16 ms.

:class:`GroupedTPE` is Optuna's multivariate, grouped TPE that draws a group only when the
trial asks for one of its parameters. Optuna's ``sample_relative`` draws every group of the
space for every trial, though a trial of a conditional space uses only its branch's groups: on
a space with three optimizers and their own parameters, four groups drawn where two are used.
Each group is drawn as Optuna draws it (``_sample_relative`` on that group, from the same
trials), so a proposal comes from the same model; the random stream then goes to the groups
the trial uses, so a conditional space's proposals are not Optuna's own draws (a space of one
group: the same). Its in-memory study is the proposal's own, so the relative parameters are
not copied into the trial's system attributes for other processes (Optuna's constant liar does
that for a shared storage; the running trials of hpsearch's study carry their parameters).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from optuna.samplers import RandomSampler, TPESampler
from optuna.samplers._lazy_random_state import LazyRandomState
from optuna.search_space.group_decomposed import _GroupDecomposedSearchSpace, _SearchSpaceGroup
from optuna.storages import InMemoryStorage
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

__all__ = ["SharedTrial", "GroupedSpace", "GroupedTPE", "add_trials", "grouped", "shared"]


class SharedTrial(FrozenTrial):
    """A :class:`FrozenTrial` whose deep copy is itself."""

    def __deepcopy__(self, memo: dict[int, Any]) -> "SharedTrial":
        return self


def shared(trial: FrozenTrial) -> SharedTrial:
    """``trial`` as a :class:`SharedTrial` (the same object, its class changed)."""
    trial.__class__ = SharedTrial
    return cast(SharedTrial, trial)


def add_trials(storage: Any, study_id: int, trials: Sequence[SharedTrial]) -> None:
    """Add ``trials`` (shared, finished) to the empty study ``study_id`` of ``storage`` in
    order, as ``storage.create_new_trial(study_id, template_trial=t)`` for each would: the same
    numbers, trial ids and best trial. Falls back to that loop where the storage is not the
    in-memory one this was written against (its ``_studies`` and trial-id map) or the study
    already holds trials."""
    info = getattr(storage, "_studies", {}).get(study_id) if type(storage) is InMemoryStorage \
        else None
    ids = getattr(storage, "_trial_id_to_study_id_and_number", None)
    last = getattr(storage, "_max_trial_id", None)
    if info is None or info.trials or info.best_trial_id is not None \
            or not isinstance(ids, dict) or not isinstance(last, int):
        for trial in trials:
            storage.create_new_trial(study_id, template_trial=trial)
        return
    first = last + 1
    for number, trial in enumerate(trials):
        trial.number = number
        trial._trial_id = first + number
    info.trials.extend(trials)
    ids.update((first + n, (study_id, n)) for n in range(len(trials)))
    storage._max_trial_id = last + len(trials)
    info.best_trial_id = _best_id(trials, info.directions)


def _best_id(trials: Sequence[FrozenTrial], directions: Sequence[Any]) -> int | None:
    """The best trial's id as ``InMemoryStorage._update_cache`` keeps it: the first complete
    trial, replaced by a strictly better one (one direction; several: the first stays)."""
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    if not complete:
        return None
    best = complete[0]
    if len(directions) > 1:
        return best._trial_id
    maximize = directions[0] == StudyDirection.MAXIMIZE
    for trial in complete[1:]:
        old, new = best.value, trial.value
        if old is None or (new is not None and (old < new if maximize else old > new)):
            best = trial
    return best._trial_id


class GroupedSpace(_GroupDecomposedSearchSpace):
    """Optuna's ``_GroupDecomposedSearchSpace`` that adds each distinct set of parameter names
    once, in order of first appearance (see the module docstring); a new object per study."""

    def calculate(self, study: Any, use_cache: bool = False) -> _SearchSpaceGroup:
        states = (TrialState.COMPLETE, TrialState.PRUNED) if self._include_pruned \
            else (TrialState.COMPLETE,)
        group = _SearchSpaceGroup()
        seen: set[tuple[str, ...]] = set()
        for trial in study._get_trials(deepcopy=False, states=states, use_cache=use_cache):
            names = tuple(trial.distributions)
            if names not in seen:
                seen.add(names)
                group.add_distributions(trial.distributions)
        return group


def grouped(sampler: Any) -> Any:
    """Optuna's TPE ``sampler`` with :class:`GroupedSpace` in place of its group
    decomposition (when it has one: ``group=True``)."""
    old = getattr(sampler, "_group_decomposed_search_space", None)
    if isinstance(old, _GroupDecomposedSearchSpace):
        sampler._group_decomposed_search_space = GroupedSpace(old._include_pruned)
    return sampler


class GroupedTPE(TPESampler):
    """Optuna's multivariate TPE with ``group=True`` on :class:`GroupedSpace`, drawing a group
    at the trial's first use of one of its parameters (see the module docstring). Takes
    ``TPESampler``'s other arguments."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(multivariate=True, group=True, **kwargs)
        grouped(self)

    def reseed(self, seed: int) -> "GroupedTPE":
        """This sampler with the random state ``TPESampler(seed=seed)`` starts with (its own
        and its random sampler's): what a new one would propose, without building one (a
        third of a millisecond, Optuna's experimental-argument warnings included)."""
        self._rng = LazyRandomState(seed)
        self._random_sampler = RandomSampler(seed=seed)
        return self

    def sample_relative(self, study: Any, trial: FrozenTrial,
                        search_space: dict[str, Any]) -> dict[str, Any]:
        assert self._search_space_group is not None
        groups = []
        for sub_space in self._search_space_group.search_spaces:
            # As Optuna's: sorted names, single-valued distributions left to independent sampling.
            group = {name: dist for name, dist in sorted(sub_space.items())
                     if not dist.single() and name in search_space}
            if group:
                groups.append(group)
        return _DrawnOnUse(lambda group: self._sample_relative(study, trial, group), groups)


class _DrawnOnUse(dict):  # type: ignore[type-arg]
    """The relative parameters of one trial: a group's values drawn (by ``draw``) when one of
    its names is first looked up. ``name in params`` draws the name's group and is then what
    it is for a plain dict (a draw with too few trials gives nothing: independent sampling)."""

    def __init__(self, draw: Any, groups: list[dict[str, Any]]) -> None:
        super().__init__()
        self._draw = draw
        self._undrawn = {name: group for group in groups for name in group}

    def __contains__(self, name: object) -> bool:
        group = self._undrawn.get(name)  # type: ignore[call-overload]
        if group is not None:
            for key in group:
                del self._undrawn[key]
            self.update(self._draw(group))
        return dict.__contains__(self, name)
