"""The builtin objective: what ``from_space`` refuses up front, and how ``run`` fails a trial."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hpsearch.errors import ConfigError, DataError
from hpsearch.objectives import TrialContext, TrialFailed, make_objective
from hpsearch.objectives.builtin import BuiltinObjective
from hpsearch.space import parse_space

HEAD = '''
[study]
metric = "val_accuracy"
direction = "maximize"
[objective]
kind = "builtin"
[trainer]
dataset = "synthetic"
n_samples = 300
n_features = 8
n_classes = 3
epochs = 2
{trainer}
[params]
learning_rate = {{ type = "log_uniform", low = 1e-4, high = 1e-1 }}
{params}
'''


def space(params: str = "", trainer: str = "", source: str = "space.toml"):
    return parse_space(HEAD.format(params=params, trainer=trainer), source=source)


def refused(params: str, trainer: str = "") -> str:
    with pytest.raises(ConfigError) as info:
        BuiltinObjective.from_space(space(params, trainer))
    return str(info.value)


def test_every_choice_value_is_checked() -> None:
    assert refused('optimizer = { type = "choice", values = ["adam", "adamw"] }') == (
        "space.toml: params.optimizer: 'adamw' is not one of sgd, adam, rmsprop")


def test_numeric_bounds_are_checked_inclusively() -> None:
    # uniform's high is reachable (the grid sampler's last point)
    assert refused('dropout = { type = "uniform", low = 0.0, high = 1.0 }') == (
        "space.toml: params.dropout: 1.0 must be in [0, 1)")
    assert refused('dropout = { type = "uniform", low = -0.5, high = 0.5 }') == (
        "space.toml: params.dropout: -0.5 must be in [0, 1)")
    assert refused('hidden_units = { type = "int", low = 0, high = 64 }') == (
        "space.toml: params.hidden_units: 0 must be positive")
    assert refused('weight_decay = { type = "log_uniform", low = 1e-6, high = 1e-2 }\n'
                   'lr_decay_rate = { type = "uniform", low = 0.5, high = 2.0 }') == (
        "space.toml: params.lr_decay_rate: 2.0 must be in (0, 1]")


def test_only_reachable_values_are_checked() -> None:
    # with step 0.3 the largest value is 0.9: the high of 1.0 itself is never drawn
    BuiltinObjective.from_space(space('dropout = { type = "uniform", low = 0.0, high = 1.0, '
                                      'step = 0.3 }'))
    BuiltinObjective.from_space(space('beta2 = { type = "log_one_minus", low = 0.9, '
                                      'high = 0.9999 }\nbatch_size = { type = "int", low = 16, '
                                      'high = 128, log = true }'))


def test_fixed_values_and_grid_points_are_checked() -> None:
    assert refused('activation = "swish"') == (
        "space.toml: params.activation: 'swish' is not one of relu, tanh, sigmoid, elu, gelu")
    assert refused('momentum = { type = "uniform", low = 0.0, high = 0.5, grid = [0.1, 0.5] }\n'
                   'rho = { type = "fixed", value = 1.5, when = { optimizer = "rmsprop" } }\n'
                   'optimizer = { type = "choice", values = ["sgd", "rmsprop"] }') == (
        "space.toml: params.rho: 1.5 must be in [0, 1)")


def test_integer_params_need_integer_values() -> None:
    message = refused('n_layers = { type = "uniform", low = 1, high = 4 }')
    assert message.startswith("space.toml: params.n_layers: must be an integer")
    BuiltinObjective.from_space(space('n_layers = { type = "uniform", low = 1, high = 4, '
                                      'step = 1 }'))


def test_batch_size_one_needs_batch_norm_off_in_the_space() -> None:
    assert refused('batch_size = { type = "int", low = 1, high = 8 }') == (
        "space.toml: params.batch_size: 1 must be at least 2 with batch_norm "
        "(BatchNorm needs two examples per batch)")
    assert refused('batch_size = { type = "int", low = 1, high = 8 }\nbatch_norm = true')
    for batch_norm in ("false", '{ type = "choice", values = [true, false] }'):
        BuiltinObjective.from_space(space('batch_size = { type = "int", low = 1, high = 8 }\n'
                                          f'batch_norm = {batch_norm}'))


def test_a_missing_dataset_file_is_refused_up_front(tmp_path: Path) -> None:
    text = HEAD.format(params="", trainer="").replace('dataset = "synthetic"',
                                                     'dataset = "data/train.csv"')
    source = str(tmp_path / "space.toml")
    with pytest.raises(DataError) as info:
        BuiltinObjective.from_space(parse_space(text, source=source))
    path = (tmp_path / "data" / "train.csv").resolve()
    assert str(info.value) == f"{source}: trainer.dataset: {path}: dataset file not found"
    path.parent.mkdir()
    path.write_text("a,label\n1,x\n")
    BuiltinObjective.check(parse_space(text, source=source))  # exists: accepted, not read


def test_from_space_is_cheap() -> None:
    code = ("import sys\nfrom hpsearch.objectives.builtin import BuiltinObjective\n"
            "from hpsearch.space import parse_space\n"
            f"text = {HEAD.format(params='dropout = 0.5', trainer='')!r}\n"
            "BuiltinObjective.check(parse_space(text, source='space.toml'))\n"
            "heavy = [m for m in ('torch', 'numpy', 'sklearn') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def context(device: str | None = "cpu") -> TrialContext:
    return TrialContext(number=0, seed=0, device=device, report=lambda step, metrics: None)


@pytest.mark.slow
def test_a_trial_with_bad_params_fails_and_the_study_goes_on() -> None:
    objective = make_objective(space(), device="cpu")
    with pytest.raises(TrialFailed) as info:
        objective.run({"learning_rate": 0.01, "batch_size": 1}, context())
    assert "params.batch_size: 1 must be at least 2 with batch_norm" in str(info.value)
    with pytest.raises(TrialFailed, match="'adamw' is not one of"):
        objective.run({"optimizer": "adamw"}, context())
    ctx = context()
    metrics = objective.run({"learning_rate": 0.01, "batch_size": 1, "batch_norm": False}, ctx)
    assert 0 <= metrics["val_accuracy"] <= 1 and ctx.device_used == "cpu"


def test_a_dataset_problem_stays_fatal(tmp_path: Path) -> None:
    text = HEAD.format(params="", trainer="").replace('dataset = "synthetic"',
                                                     'dataset = "train.csv"')
    (tmp_path / "train.csv").write_text("a,label\n1,x\n2,x\n3,x\n")  # one class only
    space = parse_space(text, source=str(tmp_path / "space.toml"))
    # Read at set-up (issue 11.7): the run refuses it before any trial, naming the file.
    with pytest.raises(DataError, match=r"space.toml: trainer.dataset: .*only one class"):
        make_objective(space, device="cpu")
    # A file that breaks after set-up still stops the study at the next trial.
    (tmp_path / "train.csv").write_text("a,label\n" + "".join(f"{i},{'xy'[i % 2]}\n" for i in range(20)))
    objective = make_objective(space, device="cpu")
    (tmp_path / "train.csv").write_text("a,label\n1,x\n2,x\n3,x\n")
    with pytest.raises(DataError, match="only one class"):
        objective.run({"learning_rate": 0.01}, context())
