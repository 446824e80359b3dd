"""The run settings of a space file (PHASE2 interface 6): [study] pruner, n_startup_trials,
tie_breaker, max_consecutive_failures, the [pruner] table, [[forbid]]; model sampler names;
their round trip through to_dict/from_dict and through refine's narrowing."""

from __future__ import annotations

import pytest
from support.spaces import FORBID, FORBID_PARAMS, space_of

from hpsearch.errors import SpaceError
from hpsearch.pruners import PrunerSettings
from hpsearch.space import Choice, Forbid, Space, dump_toml, parse_space


def test_defaults_and_a_stored_space_unchanged_by_the_new_keys() -> None:
    space = space_of(FORBID_PARAMS)
    s = space.study
    assert (s.pruner, s.n_startup_trials, s.tie_breaker, s.max_consecutive_failures) == \
        ("none", 10, None, 5)
    assert space.pruner_settings == PrunerSettings()
    assert not space.forbid and isinstance(space.forbid, Forbid)
    d = space.to_dict()
    assert set(d) == {"study", "objective", "trainer", "params"}
    assert set(d["study"]) == {"name", "metric", "direction", "sampler", "trials", "seed"}


@pytest.mark.parametrize("sampler", ["tpe", "gp", "cmaes", "auto"])
def test_model_sampler_names_are_accepted(sampler: str) -> None:
    assert space_of(FORBID_PARAMS, f'sampler = "{sampler}"').study.sampler == sampler


def test_every_setting_round_trips() -> None:
    study = ('sampler = "tpe"\npruner = "asha"\nn_startup_trials = 4\ntie_breaker = "val_loss"\n'
             'max_consecutive_failures = 0\n')
    space = space_of(FORBID_PARAMS, study, "[pruner]\nreduction_factor = 3\nmin_resource = 2\n" + FORBID)
    assert space.study.pruner == "asha" and space.study.n_startup_trials == 4
    assert space.study.tie_breaker == "val_loss" and space.study.max_consecutive_failures == 0
    assert space.pruner_settings.reduction_factor == 3 and space.pruner_settings.min_resource == 2
    assert space.forbid.is_forbidden({"optimizer": "sgd", "batch_size": 256, "n_layers": 1,
                                      "hidden": 50})
    d = space.to_dict()
    assert d["pruner"] == {"min_resource": 2, "reduction_factor": 3}
    assert d["forbid"] == [{"when": {"optimizer": "sgd", "batch_size": [256, 512]}},
                           {"expr": "n_layers * hidden > 2000"}]
    again = Space.from_dict(d)
    assert again == space and again.to_dict() == d
    assert parse_space(dump_toml(d), source="x.toml").to_dict() == d


@pytest.mark.parametrize("study, extra, message", [
    ('pruner = "medain"', "", "study.pruner: unknown pruner medain (known: none, median, asha, "
                              "hyperband)"),
    ('pruner = "median"', "[pruner]\nreduction_factor = 3\n",
     "pruner.reduction_factor: the median pruner does not read it"),
    ("", "[pruner]\nwarmup = 3\n", "pruner.warmup: unknown key"),
    ("n_startup_trials = -1", "", "study.n_startup_trials: must be a non-negative integer (got -1)"),
    ("max_consecutive_failures = 1.5", "",
     "study.max_consecutive_failures: must be a non-negative integer (got 1.5)"),
    ("tie_breaker = 3", "", "study.tie_breaker: must be a metric name such as val_loss (got 3)"),
    ("", '[[forbid]]\nwhen = { optimizer = "sdg" }\n', "forbid[0].when.optimizer: \"sdg\" is not "
                                                      "a value of optimizer"),
    ("", '[[forbid]]\nexpr = "__import__(\'os\')"\n', "forbid[0].expr: calls are not allowed"),
])
def test_bad_settings_name_the_field(study: str, extra: str, message: str) -> None:
    with pytest.raises(SpaceError) as info:
        space_of(FORBID_PARAMS, study, extra)
    assert str(info.value).startswith("space.toml: " + message), str(info.value)


@pytest.mark.parametrize("top, message", [
    ("forbid = 3", "forbid: must be an array of tables"),
    ("pruner = 3", "pruner: must be a table (got 3)"),
])
def test_bad_top_level_tables(top: str, message: str) -> None:
    with pytest.raises(SpaceError) as info:
        parse_space(f"{top}\n[study]\nname = 't'\n[params]\n{FORBID_PARAMS}", source="s.toml")
    assert str(info.value).startswith("s.toml: " + message), str(info.value)


def test_narrowing_keeps_forbid_rules_that_can_still_match() -> None:
    space = space_of(FORBID_PARAMS, "", FORBID + '[[forbid]]\nwhen = { batch_size = 64 }\n'
                     '[[forbid]]\nexpr = \'optimizer == "sgd" and n_layers > 3\'\n')
    narrowed = space.with_params({
        "batch_size": Choice("batch_size", values=(256, 512)),
        "optimizer": Choice("optimizer", values=("sgd",)),
    })
    # the batch_size = 64 rule can never match now: dropped; the others kept (and still valid)
    assert narrowed.forbid.to_list() == [
        {"when": {"optimizer": "sgd", "batch_size": [256, 512]}},
        {"expr": "n_layers * hidden > 2000"},
        {"expr": 'optimizer == "sgd" and n_layers > 3'},
    ]
    assert Space.from_dict(narrowed.to_dict()) == narrowed
    adam = space.with_params({"optimizer": Choice("optimizer", values=("adam",))})
    assert {"when": {"optimizer": "sgd", "batch_size": [256, 512]}} not in adam.forbid.to_list()


def test_a_rule_on_a_removed_parameter_is_dropped() -> None:
    params = FORBID_PARAMS + 'momentum = { type = "uniform", low = 0.8, high = 0.99, when = { optimizer = "sgd" } }\n'
    space = space_of(params, "", '[[forbid]]\nexpr = "momentum > 0.95"\n')
    adam = space.with_params({"optimizer": Choice("optimizer", values=("adam",))})
    assert "momentum" not in adam.params and not adam.forbid
    assert space.with_forbid(None).forbid == Forbid()


def test_sampler_pruner_and_forbid_changes_are_not_a_changed_space() -> None:
    from types import SimpleNamespace

    from hpsearch.run.studies import round_space, space_changes

    old = space_of(FORBID_PARAMS, 'sampler = "random"')
    new = space_of(FORBID_PARAMS, 'sampler = "tpe"\npruner = "median"\nn_startup_trials = 3\n'
                   'max_consecutive_failures = 2', FORBID)
    assert space_changes(old, new) == []
    # A refined round (batch_size narrowed to 64, 256) keeps its own params and follows the
    # file's run settings, with the file's rules kept where they can still match.
    refined = old.with_params({"batch_size": Choice("batch_size", values=(64, 256))})
    study = SimpleNamespace(space=old.to_dict(), source="space.toml")
    round_ = SimpleNamespace(space=refined.to_dict())
    space = round_space(study, round_, new)
    assert space.params_dict() == refined.params_dict()
    assert space.study.pruner == "median" and space.study.n_startup_trials == 3
    assert space.study.max_consecutive_failures == 2
    assert space.forbid.to_list() == [{"when": {"optimizer": "sgd", "batch_size": 256}},
                                      {"expr": "n_layers * hidden > 2000"}]
    # Without the file (refine, worker), the study's stored settings are followed.
    assert round_space(study, round_, None).study.pruner == "none"
