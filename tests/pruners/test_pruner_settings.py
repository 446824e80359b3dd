"""The [pruner] table: defaults, and every mistake named with its file and field."""

from __future__ import annotations

import pytest

from hpsearch.errors import SpaceError
from hpsearch.pruners import PrunerSettings, parse_pruner_table

KNOWN = ("metric, direction, value, n_startup_trials, n_warmup_steps, interval_steps, "
         "n_min_trials, min_resource, reduction_factor, min_early_stopping_rate, max_resource, "
         "brackets")


def test_defaults():
    s = parse_pruner_table({}, "s.toml")
    assert s == PrunerSettings()
    assert (s.n_startup_trials, s.n_warmup_steps, s.interval_steps, s.min_resource) == (5, 0, 1, 1)
    r = s.resolve("val_accuracy", "maximize")
    assert (r.metric, r.direction, r.maximize) == ("val_accuracy", "maximize", True)
    own = parse_pruner_table({"metric": "val_loss", "direction": "minimize"}, "s.toml")
    assert own.resolve("val_accuracy", "maximize").maximize is False
    assert own.to_dict() == {"metric": "val_loss", "direction": "minimize"}


def test_valid_tables():
    assert parse_pruner_table({"n_warmup_steps": 3}, "s.toml", kind="median").n_warmup_steps == 3
    s = parse_pruner_table({"reduction_factor": 3, "min_resource": 2}, "s.toml", kind="asha")
    assert (s.reduction_factor, s.min_resource) == (3, 2)
    s = parse_pruner_table({"max_resource": 30, "brackets": 2}, "s.toml", kind="hyperband")
    assert (s.max_resource, s.brackets) == (30, 2)
    # without kind, any known field is accepted (the kind may come from --pruner later)
    parse_pruner_table({"reduction_factor": 3, "n_warmup_steps": 2}, "s.toml")


@pytest.mark.parametrize("table, kind, message", [
    ({"warmup": 3}, None, f"s.toml: pruner.warmup: unknown key (expected one of {KNOWN})"),
    ({"reduction_factor": 1}, None,
     "s.toml: pruner.reduction_factor: must be an integer >= 2 (got 1)"),
    ({"reduction_factor": 2.5}, None,
     "s.toml: pruner.reduction_factor: must be an integer >= 2 (got 2.5)"),
    ({"n_warmup_steps": True}, None,
     "s.toml: pruner.n_warmup_steps: must be an integer >= 0 (got true)"),
    ({"n_startup_trials": -1}, None,
     "s.toml: pruner.n_startup_trials: must be an integer >= 0 (got -1)"),
    ({"interval_steps": 0}, None, "s.toml: pruner.interval_steps: must be an integer >= 1 (got 0)"),
    ({"min_resource": 0}, None, "s.toml: pruner.min_resource: must be an integer >= 1 (got 0)"),
    ({"brackets": "3"}, None, "s.toml: pruner.brackets: must be an integer >= 1 (got 3)"),
    ({"value": "mean"}, None, "s.toml: pruner.value: must be best or last (got mean)"),
    ({"metric": ""}, None, "s.toml: pruner.metric: must be a non-empty string (got )"),
    ({"metric": "val_loss", "direction": "down"}, None,
     "s.toml: pruner.direction: must be maximize or minimize (got down)"),
    ({"metric": "val_loss"}, None,
     "s.toml: pruner.metric: give pruner.direction too (maximize or minimize: which way is "
     "better for val_loss)"),
    ({"direction": "minimize"}, None,
     "s.toml: pruner.direction: only with pruner.metric (the study's metric goes in the "
     "study's direction)"),
    ({"min_resource": 5, "max_resource": 3}, None,
     "s.toml: pruner.max_resource: must be >= min_resource (5) (got 3)"),
    ({"reduction_factor": 3}, "median",
     "s.toml: pruner.reduction_factor: the median pruner does not read it (asha, hyperband do; "
     "median reads metric, direction, value, n_startup_trials, n_warmup_steps, interval_steps, "
     "n_min_trials)"),
    ({"brackets": 3}, "asha",
     "s.toml: pruner.brackets: the asha pruner does not read it (hyperband does; asha reads "
     "metric, direction, value, min_resource, reduction_factor, min_early_stopping_rate, "
     "max_resource)"),
    ({"n_warmup_steps": 1}, "none",
     "s.toml: pruner.n_warmup_steps: the none pruner does not read it (median does; none reads "
     "metric, direction, value)"),
    ({}, "hyperband",
     "s.toml: pruner.max_resource: hyperband needs the largest step a trial reaches (the "
     "trainer's epochs, say)"),
    ({"max_resource": 27, "brackets": 5}, "hyperband",
     "s.toml: pruner.brackets: at most 4 brackets fit between min_resource (1) and max_resource "
     "(27) with reduction_factor 3 (got 5)"),
    ({"max_resource": 8, "reduction_factor": 3, "min_resource": 3, "brackets": 2}, "hyperband",
     "s.toml: pruner.brackets: at most 1 bracket fits between min_resource (3) and max_resource "
     "(8) with reduction_factor 3 (got 2)"),
    ({}, "successive_halving",
     "s.toml: study.pruner: unknown pruner successive_halving (known: none, median, asha, "
     "hyperband)"),
    ([1, 2], None, "s.toml: pruner: must be a table (got [1, 2])"),
])
def test_errors(table, kind, message):
    with pytest.raises(SpaceError) as info:
        parse_pruner_table(table, "s.toml", kind=kind)
    assert str(info.value) == message
    assert info.value.exit_code == 2
