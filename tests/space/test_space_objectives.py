"""Several objectives and [[constraint]] in a space file: parsed, round-tripped, explained,
and every bad input one line naming the field (exit 2 through the CLI, nothing written)."""

from __future__ import annotations

import math

import pytest
from click.testing import CliRunner

from hpsearch.cli import cli
from hpsearch.errors import SpaceError
from hpsearch.space import Space, parse_space
from hpsearch.space.objectives import (Constraint, MissingValue, Objectives, objectives_of,
                                       trial_values)

PARAMS = '[params]\nlearning_rate = { type = "log_uniform", low = 1e-4, high = 1e-1 }\n'
MO = ('[study]\nmetric = ["val_accuracy", "inference_ms"]\n'
      'direction = ["maximize", "minimize"]\n')


def space(text: str) -> Space:
    return parse_space(text + PARAMS, source="s.toml")


def test_a_single_string_means_what_it_always_meant() -> None:
    s = space('[study]\nmetric = "val_loss"\ndirection = "minimize"\n')
    assert (s.study.metric, s.study.direction, s.study.multi) == ("val_loss", "minimize", False)
    assert s.study.metrics == ("val_loss",) and s.constraints == ()
    assert s.to_dict()["study"]["metric"] == "val_loss"
    assert "constraint" not in s.to_dict()


def test_lists_and_constraints_parse_and_round_trip() -> None:
    s = space(MO + '[[constraint]]\nmetric = "n_params"\nmax = 200000\n'
                   '[[constraint]]\nmetric = "train_seconds"\nmin = 0\nmax = 60\n')
    assert s.study.metric == "val_accuracy" and s.study.direction == "maximize"
    assert s.study.metrics == ("val_accuracy", "inference_ms")
    assert s.study.directions == ("maximize", "minimize")
    assert s.constraints == (Constraint("n_params", None, 200000.0),
                             Constraint("train_seconds", 0.0, 60.0))
    d = s.to_dict()
    assert d["study"]["metric"] == ["val_accuracy", "inference_ms"]
    assert Space.from_dict(d) == s
    assert objectives_of(d) == s.objectives
    assert s.objectives.describe() == [
        "objective 1: maximize val_accuracy", "objective 2: minimize inference_ms",
        "constraint: n_params <= 200000 (a trial outside it is infeasible)",
        "constraint: 0 <= train_seconds <= 60 (a trial outside it is infeasible)"]
    # refine's narrowed copies keep them
    assert s.with_params({}).constraints == s.constraints


def test_a_one_element_list_is_one_objective() -> None:
    s = space('[study]\nmetric = ["val_loss"]\ndirection = ["minimize"]\n')
    assert not s.study.multi and s.to_dict()["study"]["metric"] == "val_loss"


@pytest.mark.parametrize("text, message", [
    ('[study]\nmetric = ["val_accuracy", "val_loss"]\ndirection = ["maximize"]\n',
     "s.toml: study.direction: 1 direction(s) for 2 metric(s)"),
    ('[study]\nmetric = ["val_accuracy", "val_loss"]\ndirection = "maximize"\n',
     "s.toml: study.direction: 1 direction(s) for 2 metric(s)"),
    ('[study]\nmetric = ["val_accuracy", "val_loss"]\n', "s.toml: study.direction: 2 metrics need"),
    ('[study]\nmetric = []\n', "s.toml: study.metric: an empty list"),
    ('[study]\nmetric = ["val_accuracy", 3]\ndirection = ["maximize", "minimize"]\n',
     "s.toml: study.metric[2]: must be a non-empty string (got 3)"),
    ('[study]\nmetric = ["val_accuracy", "val_loss"]\ndirection = ["maximize", "down"]\n',
     "s.toml: study.direction[2]: must be maximize or minimize"),
    ('[study]\nmetric = ["val_loss", "val_loss"]\ndirection = ["minimize", "minimize"]\n',
     "s.toml: study.metric: a metric is named twice"),
    ('[[constraint]]\nmetric = "n_params"\nmin = 10\nmax = 5\n',
     "s.toml: constraint[1]: min (10) must not be above max (5)"),
    ('[[constraint]]\nmetric = "n_params"\nmax = 5\nbelow = 3\n',
     "s.toml: constraint[1].below: unknown key (expected one of metric, min, max)"),
    ('[[constraint]]\nmetric = "n_params"\n', "s.toml: constraint[1]: needs min and/or max"),
    ('[[constraint]]\nmax = 5\n', "s.toml: constraint[1].metric: must be a non-empty string"),
    ('[[constraint]]\nmetric = "n_params"\nmax = "big"\n',
     "s.toml: constraint[1].max: must be a finite number"),
    ('[[constraint]]\nmetric = "n_params"\nmax = nan\n',
     "s.toml: constraint[1].max: must be a finite number"),
    ('constraint = 3\n', "s.toml: constraint: must be an array of tables"),
    ('[study]\nmetrics = ["a"]\n', "s.toml: study.metrics: unknown key"),
    ('[study]\nmore_metrics = ["a"]\n', "s.toml: study.more_metrics: unknown key"),
])
def test_bad_input_names_the_field(text: str, message: str) -> None:
    with pytest.raises(SpaceError) as info:
        space(text)
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("text, message", [
    ('[study]\nmetric = ["val_accuracy", "latency"]\ndirection = ["maximize", "minimize"]\n',
     "s.toml: study.metric[2]: the builtin objective never reports 'latency'"),
    ('[[constraint]]\nmetric = "flops"\nmax = 5\n',
     "s.toml: constraint[1].metric: the builtin objective never reports 'flops'"),
])
def test_a_metric_the_objective_never_reports_is_refused(text: str, message: str) -> None:
    # Checked with the objective (validate and run check it before anything is written).
    from hpsearch.objectives import check_objective

    with pytest.raises(SpaceError) as info:
        check_objective(space(text))
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)


def test_other_objective_kinds_may_constrain_any_metric() -> None:
    s = space('[objective]\nkind = "python"\nfunction = "m:f"\n'
              '[study]\nmetric = ["loss", "latency"]\ndirection = ["minimize", "minimize"]\n'
              '[[constraint]]\nmetric = "flops"\nmax = 5\n')
    assert s.study.metrics == ("loss", "latency")


def test_validate_cli_explains_and_bad_input_exits_2(tmp_path) -> None:
    good = tmp_path / "mo.toml"
    good.write_text(MO + '[[constraint]]\nmetric = "n_params"\nmax = 200000\n' + PARAMS)
    result = CliRunner().invoke(cli, ["validate", str(good)])
    assert result.exit_code == 0, result.output
    for text in ("2 objectives", "objective 2: minimize inference_ms",
                 "constraint: n_params <= 200000", "Pareto front"):
        assert text in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text('[study]\nmetric = ["val_accuracy", "val_loss"]\ndirection = ["maximize"]\n'
                   + PARAMS)
    result = CliRunner().invoke(cli, ["validate", str(bad)])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "study.direction" in result.output


def test_trial_values_reads_values_and_verdicts() -> None:
    obj = Objectives(("acc", "ms"), ("maximize", "minimize"),
                     (Constraint("n", None, 100.0), Constraint("ms", 1.0, None)))
    out = trial_values(obj, {"acc": 0.9, "ms": 2, "n": 50})
    assert (out.values, out.feasible, out.violations) == ({"acc": 0.9, "ms": 2.0}, True, ())
    out = trial_values(obj, {"acc": 0.9, "ms": 0.5, "n": 500})
    assert not out.feasible
    assert out.violations == ("n = 500 > max 100", "ms = 0.5 < min 1")
    assert out.storage_fields()["violation"] == "n = 500 > max 100; ms = 0.5 < min 1"
    for metrics, message in [({"acc": 0.9, "n": 1}, "metric 'ms' missing from the result"),
                             ({"acc": 0.9, "ms": math.nan, "n": 1}, "metric 'ms' is nan"),
                             ({"acc": 0.9, "ms": None, "n": 1}, "metric 'ms' is nan or infinite"),
                             ({"acc": 0.9, "ms": 1}, "constrained metric 'n' missing")]:
        with pytest.raises(MissingValue, match=message):
            trial_values(obj, metrics)


def test_the_shipped_tradeoff_space_validates() -> None:
    from pathlib import Path

    from hpsearch.validate import validate_space

    path = Path(__file__).resolve().parents[2] / "search_spaces" / "digits_tradeoff.toml"
    result = validate_space(path, samples=2)
    assert result.space.study.metrics == ("val_accuracy", "inference_ms")
    assert result.space.constraints == (Constraint("n_params", None, 50000.0),)
