"""Issue 12.5: with ``test_fraction`` the trials never see the test split; only the chosen
configuration is evaluated on it, by :func:`hpsearch.objectives.evaluate_on_test`."""

from __future__ import annotations

import pytest

from hpsearch.errors import ConfigError
from hpsearch.objectives import TrialContext, evaluate_on_test, make_objective
from hpsearch.space import parse_space

TEXT = '''
[study]
metric = "val_accuracy"
[trainer]
dataset = "synthetic"
n_samples = 400
n_features = 8
n_classes = 3
epochs = 3
{trainer}
[params]
learning_rate = {{ type = "log_uniform", low = 1e-4, high = 1e-1 }}
'''


def space(trainer: str = "test_fraction = 0.2"):
    return parse_space(TEXT.format(trainer=trainer), source="space.toml")


def test_trials_never_compute_or_report_test_metrics():
    steps = []
    ctx = TrialContext(number=0, seed=3, device="cpu", report=lambda s, m: steps.append(m))
    metrics = make_objective(space(), device="cpu").run({"learning_rate": 0.01}, ctx)
    assert not [k for k in metrics if k.startswith("test_")]
    assert not [k for m in steps for k in m if k.startswith("test_")]


def test_evaluate_on_test_retrains_the_trial_and_adds_test_metrics():
    ctx = TrialContext(number=0, seed=3, device="cpu", report=lambda s, m: None)
    trial = make_objective(space(), device="cpu").run({"learning_rate": 0.01}, ctx)
    chosen = evaluate_on_test(space(), {"learning_rate": 0.01}, 3)
    assert 0 <= chosen["test_accuracy"] <= 1 and chosen["test_loss"] > 0
    # The same training as the trial (same seed on CPU): its validation metrics again.
    assert chosen["val_accuracy"] == trial["val_accuracy"]
    assert chosen["val_loss"] == pytest.approx(trial["val_loss"])


def test_evaluate_on_test_needs_a_test_split_and_the_builtin_trainer(tmp_path):
    with pytest.raises(ConfigError, match="trainer.test_fraction: is 0, so there is no test split"):
        evaluate_on_test(space(""), {"learning_rate": 0.01}, 0)
    (tmp_path / "m.py").write_text("def f(params, report):\n    return 1.0\n")
    python = parse_space('''
[study]
metric = "acc"
[objective]
kind = "python"
function = "m:f"
[params]
lr = { type = "uniform", low = 0, high = 1 }
''', source=str(tmp_path / "space.toml"))
    with pytest.raises(ConfigError, match="a test split exists only for the built-in trainer"):
        evaluate_on_test(python, {"lr": 0.5}, 0)
