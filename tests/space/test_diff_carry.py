"""The structured space diff (space/diff.py) and carry-over of earlier trials (space/carry.py)."""

from __future__ import annotations

import pytest

from support.spaces import space_of

from hpsearch.objectives import objective_class
from hpsearch.space.carry import EarlierTrial, carry_over
from hpsearch.space.diff import diff_spaces


def objective_defaults(space):
    """What the space's objective runs a parameter it is not given with (its hook)."""
    return objective_class(space).param_defaults(space)

BASE = ('lr = { type = "log_uniform", low = 1e-3, high = 1e-2 }\n'
        'n = { type = "int", low = 1, high = 4 }\n'
        'opt = { type = "choice", values = ["sgd", "adam"] }\n'
        'm = { type = "uniform", low = 0.8, high = 0.9, when = { opt = "sgd" } }\n'
        'drop = 0.1\n')


def edited(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new)


@pytest.mark.parametrize("params, kind, text", [
    (BASE + 'wd = { type = "uniform", low = 0, high = 1 }\n', "added",
     "wd: added (uniform [0, 1])"),
    (edited("drop = 0.1\n", ""), "removed", "drop: removed (was fixed 0.1)"),
    (edited("high = 1e-2", "high = 1e-1"), "range", "lr: widened [0.001, 0.01] -> [0.001, 0.1]"),
    (edited("low = 1, high = 4", "low = 2, high = 3"), "range", "n: narrowed [1, 4] -> [2, 3]"),
    (edited("low = 1, high = 4", "low = 3, high = 8"), "range", "n: moved [1, 4] -> [3, 8]"),
    (edited('"sgd", "adam"', '"sgd", "adam", "rmsprop"'), "choices",
     "opt: choices added [rmsprop]"),
    (edited('"sgd", "adam"', '"sgd"'), "choices", "opt: choices dropped [adam]"),
    (edited('"log_uniform", low = 1e-3', '"uniform", low = 1e-3'), "type",
     "lr: log_uniform [0.001, 0.01] -> uniform [0.001, 0.01]"),
    (edited("drop = 0.1", "drop = 0.2"), "fixed", "drop: fixed value 0.1 -> 0.2"),
    (edited("drop = 0.1", 'drop = { type = "uniform", low = 0, high = 0.5 }'), "fixed",
     "drop: now searched: uniform [0, 0.5] (was fixed at 0.1)"),
    (edited('n = { type = "int", low = 1, high = 4 }', "n = 2"), "fixed",
     "n: now fixed at 2 (was int [1, 4])"),
    (edited('when = { opt = "sgd" }', 'when = { opt = "adam" }'), "condition",
     "m: condition opt = sgd -> opt = adam"),
])
def test_every_kind_of_change_is_one_line(params, kind, text):
    diff = diff_spaces(space_of(BASE), space_of(params))
    assert [c.kind for c in diff.params] == [kind] and diff.lines() == [text]
    assert not diff.refused


def test_unchanged_space_has_no_diff():
    assert not diff_spaces(space_of(BASE), space_of(BASE))


@pytest.mark.parametrize("study, refused", [
    ('metric = "loss"', "study.metric changed from 'val_accuracy' to 'loss'"),
    ('direction = "minimize"', "study.direction changed from 'maximize' to 'minimize'"),
])
def test_metric_and_direction_changes_are_refused(study, refused):
    assert diff_spaces(space_of(BASE), space_of(BASE, study)).refused == [refused]


def trial(params, space, value=1.0, state="complete"):
    return EarlierTrial(params=params, value=value, state=state, space=space)


def test_trials_inside_the_new_space_carry_and_outside_ones_are_left_out():
    old = space_of(BASE, extra='[objective]\nkind = "python"\nfunction = "m:f"')
    new = space_of(edited("high = 1e-2", "high = 5e-3"),
                   extra='[objective]\nkind = "python"\nfunction = "m:f"')
    inside = {"lr": 0.004, "n": 2, "opt": "adam", "drop": 0.1}
    outside = {"lr": 0.008, "n": 2, "opt": "adam", "drop": 0.1}
    failed = dict(inside)
    carried = carry_over([trial(inside, old, 0.5), trial(outside, old), trial(failed, old, None,
                                                                               "failed")], new)
    assert carried.trials == [(inside, 0.5, "complete")]
    assert carried.left_out == {"outside": 1}
    assert carried.describe() == "1 earlier trial (1 outside the new space left out)"


def test_removed_parameter_dropped_when_fixed_before_or_at_the_default():
    old = space_of(BASE + 'batch_size = { type = "choice", values = [32, 64] }\n')
    new = space_of(edited("drop = 0.1\n", ""))  # drop was fixed: comparable; batch_size removed
    assert objective_defaults(new)["batch_size"] == 64
    at_default = {"lr": 0.004, "n": 2, "opt": "adam", "drop": 0.1, "batch_size": 64}
    other = {**at_default, "batch_size": 32}
    carried = carry_over([trial(at_default, old), trial(other, old)], new,
                         objective_defaults(new))
    assert carried.trials == [({"lr": 0.004, "n": 2, "opt": "adam"}, 1.0, "complete")]
    assert carried.left_out == {"incomparable": 1}


def test_added_parameter_takes_the_objectives_default_else_the_trial_is_left_out():
    old = space_of(BASE)
    params = {"lr": 0.004, "n": 2, "opt": "adam", "drop": 0.1}
    # the built-in trainer's batch_size default is 64: inside the new choice
    new = space_of(BASE + 'batch_size = { type = "choice", values = [32, 64] }\n')
    assert carry_over([trial(params, old)], new, objective_defaults(new)).trials[0][0] == \
        {**params, "batch_size": 64}
    # outside it: left out as outside
    new = space_of(BASE + 'batch_size = { type = "choice", values = [16, 32] }\n')
    assert carry_over([trial(params, old)], new, objective_defaults(new)).left_out == \
        {"outside": 1}
    # a python objective has no documented defaults: unknown
    extra = '[objective]\nkind = "python"\nfunction = "m:f"'
    new = space_of(BASE + 'wd = { type = "uniform", low = 0, high = 1 }\n', extra=extra)
    old = space_of(BASE, extra=extra)
    assert carry_over([trial(params, old)], new, objective_defaults(new)).left_out == \
        {"unknown": 1}


def test_conditions_decide_what_the_mapped_trial_holds():
    old = space_of(BASE, extra='[objective]\nkind = "python"\nfunction = "m:f"')
    new = space_of(edited('when = { opt = "sgd" }', 'when = { opt = "adam" }'),
                   extra='[objective]\nkind = "python"\nfunction = "m:f"')
    adam = {"lr": 0.004, "n": 2, "opt": "adam", "drop": 0.1}
    sgd = {"lr": 0.004, "n": 2, "opt": "sgd", "m": 0.85, "drop": 0.1}
    carried = carry_over([trial(adam, old), trial(sgd, old)], new)
    # adam trials never had m (it is now active for them, no default): unknown; sgd trials had
    # m searched and now inactive: incomparable
    assert carried.trials == [] and carried.left_out == {"unknown": 1, "incomparable": 1}
