"""add_trials leaves an in-memory study as create_new_trial one by one does; GroupedSpace gives
Optuna's group decomposition; GroupedTPE draws the groups a trial uses, each as Optuna does."""

from __future__ import annotations

import random

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.search_space.group_decomposed import _GroupDecomposedSearchSpace
from optuna.trial import TrialState, create_trial

from hpsearch.samplers.shared import GroupedSpace, GroupedTPE, add_trials, grouped, shared


def _trials() -> list:
    dist = {"x": FloatDistribution(0.0, 1.0)}
    made = []
    for k, (state, value) in enumerate([(TrialState.FAIL, None), (TrialState.COMPLETE, 0.5),
                                        (TrialState.PRUNED, None), (TrialState.COMPLETE, 0.2),
                                        (TrialState.COMPLETE, 0.2), (TrialState.COMPLETE, 0.9)]):
        made.append(shared(create_trial(state=state, value=value, params={"x": k / 10},
                                        distributions=dist)))
    return made


def _state(storage: optuna.storages.InMemoryStorage, study_id: int) -> tuple:
    trials = storage.get_all_trials(study_id, deepcopy=False)
    best = storage._studies[study_id].best_trial_id
    return ([(t.number, t._trial_id, t.state, t.values) for t in trials], best,
            storage._max_trial_id, dict(storage._trial_id_to_study_id_and_number))


@pytest.mark.parametrize("directions", [["minimize"], ["maximize"], ["minimize", "maximize"]])
@pytest.mark.parametrize("before", [0, 2])
def test_add_trials_gives_the_state_of_one_by_one(directions, before) -> None:
    states = []
    for bulk in (False, True):
        storage = optuna.storages.InMemoryStorage()
        for _ in range(before):  # earlier studies took trial ids
            other = optuna.create_study(storage=storage)
            other.add_trial(create_trial(state=TrialState.FAIL))
        study = optuna.create_study(storage=storage, directions=directions)
        study_id = storage.get_study_id_from_name(study.study_name)
        trials = _trials()
        if directions == ["minimize", "maximize"]:
            for t in trials:
                if t.state == TrialState.COMPLETE:
                    t.values = [t.values[0], -t.values[0]]
        if bulk:
            add_trials(storage, study_id, trials)
        else:
            for t in trials:
                storage.create_new_trial(study_id, template_trial=t)
        states.append(_state(storage, study_id))
        if len(directions) == 1:
            assert study.best_trial.number == (3 if directions == ["minimize"] else 5)
    assert states[0] == states[1]


def test_a_study_with_trials_is_filled_one_by_one() -> None:
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage)
    study.add_trial(create_trial(state=TrialState.COMPLETE, value=0.0, params={"x": 0.3},
                                 distributions={"x": FloatDistribution(0.0, 1.0)}))
    add_trials(storage, 0, _trials())
    assert [t.number for t in study.trials] == list(range(7))
    assert study.best_trial.number == 0


def _branching_study(seed: int, n: int) -> optuna.Study:
    """A study of trials on a conditional space: sets of parameters that share some names and
    not others, in a random order, complete, pruned, failed and running."""
    rng = random.Random(seed)
    dist = {name: FloatDistribution(0.0, 1.0) for name in "abcdefgh"}
    dist["opt"] = CategoricalDistribution(["x", "y", "z"])
    branches = [("opt", "a", "b", "c"), ("opt", "a", "d"), ("opt", "a", "e", "f"), ("g",),
                ("opt", "a", "b", "h"), ("a", "b")]
    study = optuna.create_study()
    for _ in range(n):
        names = rng.choice(branches)
        state = rng.choice([TrialState.COMPLETE] * 4 + [TrialState.PRUNED, TrialState.FAIL,
                                                         TrialState.RUNNING])
        params = {k: ("x" if k == "opt" else rng.random()) for k in names}
        study.add_trial(create_trial(
            state=state, value=rng.random() if state == TrialState.COMPLETE else None,
            params=params, distributions={k: dist[k] for k in names}))
    return study


@pytest.mark.parametrize("include_pruned", [True, False])
@pytest.mark.parametrize("seed", range(6))
def test_grouped_space_is_optunas_group_decomposition(seed, include_pruned) -> None:
    study = _branching_study(seed, 12 + 9 * seed)
    theirs = _GroupDecomposedSearchSpace(include_pruned).calculate(study).search_spaces
    ours = GroupedSpace(include_pruned).calculate(study).search_spaces
    assert ours == theirs  # the same groups, in the same order
    assert [list(g) for g in ours] == [list(g) for g in theirs]
    assert len(ours) > 1


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_grouped_tpe_proposes_what_optunas_does() -> None:
    proposals = []
    for ours in (False, True):
        study = _branching_study(3, 60)
        sampler = optuna.samplers.TPESampler(seed=7, n_startup_trials=0, multivariate=True,
                                             group=True, constant_liar=True)
        study.sampler = grouped(sampler) if ours else sampler
        made = []
        for _ in range(5):
            trial = study.ask()
            made.append({"opt": trial.suggest_categorical("opt", ["x", "y", "z"]),
                         "a": trial.suggest_float("a", 0.0, 1.0),
                         "b": trial.suggest_float("b", 0.0, 1.0)})
            study.tell(trial, made[-1]["a"])
        proposals.append(made)
        assert isinstance(sampler._group_decomposed_search_space, GroupedSpace) is ours
    assert proposals[0] == proposals[1]


def test_grouped_leaves_an_ungrouped_sampler_alone() -> None:
    sampler = optuna.samplers.TPESampler(seed=0)
    assert grouped(sampler) is sampler and sampler._group_decomposed_search_space is None


def _dist(name: str):
    return CategoricalDistribution(["x", "y", "z"]) if name == "opt" \
        else FloatDistribution(0.0, 1.0)


def _ask(trial, name: str):
    return trial.suggest_categorical(name, ["x", "y", "z"]) if name == "opt" \
        else trial.suggest_float(name, 0.0, 1.0)


def _spy(sampler) -> list[dict]:
    """The groups ``sampler`` draws from now on, with what each draw gave."""
    drawn: list[dict] = []
    draw = sampler._sample_relative

    def spy(study, trial, search_space):
        values = draw(study, trial, search_space)
        drawn.append({"names": sorted(search_space), "values": values})
        return values

    sampler._sample_relative = spy
    return drawn


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.parametrize("used", [("opt", "a", "b", "d"), ("g",), ("a", "b"),
                                  ("opt", "a", "e", "f")])
def test_grouped_tpe_draws_only_the_groups_a_trial_uses(used) -> None:
    study = _branching_study(3, 60)
    sampler = GroupedTPE(seed=7, n_startup_trials=0, constant_liar=True)
    study.sampler = sampler
    drawn = _spy(sampler)
    trial = study.ask()
    values = {name: _ask(trial, name) for name in used}
    groups = [sorted(g) for g in sampler._search_space_group.search_spaces]
    wanted = [g for g in groups if set(g) & set(used)]
    assert len(groups) > len(wanted)  # some groups go undrawn
    assert sorted(d["names"] for d in drawn) == sorted(wanted)
    for d in drawn:  # the trial holds what the group's draw gave (relative, not independent)
        assert {n: values[n] for n in d["names"] if n in values} == \
            {n: v for n, v in d["values"].items() if n in values}
        assert set(d["values"]) == set(d["names"])


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_grouped_tpe_draws_a_group_as_optunas_tpe_draws_it() -> None:
    groups = GroupedSpace(True).calculate(_branching_study(3, 60)).search_spaces
    assert len(groups) > 2
    for group in groups:
        names = sorted(group)
        ours_study = _branching_study(3, 60)
        ours_study.sampler = GroupedTPE(seed=11, n_startup_trials=0, constant_liar=True)
        trial = ours_study.ask()
        ours = {name: _ask(trial, name) for name in names}  # this group drawn first
        theirs_study = _branching_study(3, 60)
        sampler = optuna.samplers.TPESampler(seed=11, n_startup_trials=0, multivariate=True,
                                             group=True, constant_liar=True)
        theirs_study.sampler = sampler
        frozen = theirs_study._storage.get_trial(theirs_study.ask()._trial_id)
        sampler.infer_relative_search_space(theirs_study, frozen)
        assert ours == sampler._sample_relative(theirs_study, frozen,
                                                {n: _dist(n) for n in names})


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_grouped_tpe_on_one_group_proposes_what_optunas_does() -> None:
    proposals = []
    for ours in (False, True):
        study = optuna.create_study()
        study.sampler = GroupedTPE(seed=5, n_startup_trials=3, constant_liar=True) if ours \
            else optuna.samplers.TPESampler(seed=5, n_startup_trials=3, multivariate=True,
                                            group=True, constant_liar=True)
        made = []
        for _ in range(12):
            trial = study.ask()
            made.append({name: _ask(trial, name) for name in ("opt", "a", "b")})
            study.tell(trial, made[-1]["a"] - made[-1]["b"])
        proposals.append(made)
    assert proposals[0] == proposals[1]


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.parametrize("startup", [0, 100])  # 100: Optuna's random sampler proposes
def test_a_reseeded_grouped_tpe_proposes_what_a_new_one_does(startup) -> None:
    used = GroupedTPE(seed=1, n_startup_trials=startup, constant_liar=True)
    for seed in (4, 9, 4):
        proposals = []
        for sampler in (used.reseed(seed),
                        GroupedTPE(seed=seed, n_startup_trials=startup, constant_liar=True)):
            study = _branching_study(2, 40)
            study.sampler = sampler
            made = []
            for _ in range(4):  # the random sampler's turn too: "g" alone, a new branch
                trial = study.ask()
                made.append({name: _ask(trial, name) for name in ("opt", "a", "d", "g")})
                study.tell(trial, made[-1]["a"])
            proposals.append(made)
        assert proposals[0] == proposals[1]
