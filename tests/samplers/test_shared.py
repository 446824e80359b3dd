"""add_trials leaves an in-memory study as create_new_trial one by one does."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from hpsearch.samplers.shared import add_trials, shared


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
