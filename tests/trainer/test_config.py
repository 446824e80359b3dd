"""Parameter names, value checks and TrainerSettings of the built-in trainer."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hpsearch.errors import ConfigError, DataError
from hpsearch.trainer import KNOWN_PARAMS, TrainerSettings, TrialParams, check_params
from hpsearch.trainer.params import PARAM_DEFAULTS


def test_known_params_cover_the_documented_names() -> None:
    expected = {"learning_rate", "n_layers", "hidden_units", "activation", "dropout",
                "batch_size", "optimizer", "momentum", "nesterov", "beta1", "beta2", "eps",
                "rho", "weight_decay", "lr_decay", "lr_decay_rate", "lr_step_size", "lr_min",
                "bn_momentum", "batch_norm", "epochs", "patience"}
    assert KNOWN_PARAMS == expected


def test_unknown_params_are_listed_with_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        check_params({"learning_rate": 0.1, "lr": 0.1, "layers": 3}, source="space.toml")
    known = ", ".join(sorted(KNOWN_PARAMS))
    assert str(info.value) == f"space.toml: unknown parameter(s) layers, lr; known: {known}"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"activation": "softmax"},
         "params: params.activation: 'softmax' is not one of relu, tanh, sigmoid, elu, gelu"),
        ({"optimizer": "adagrad"},
         "params: params.optimizer: 'adagrad' is not one of sgd, adam, rmsprop"),
        ({"lr_decay": "linear"},
         "params: params.lr_decay: 'linear' is not one of none, exponential, step, cosine"),
        ({"learning_rate": 0.0}, "params: params.learning_rate: 0.0 must be positive"),
        ({"learning_rate": -1e-3}, "params: params.learning_rate: -0.001 must be positive"),
        ({"batch_size": 0}, "params: params.batch_size: 0 must be positive"),
        ({"hidden_units": -5}, "params: params.hidden_units: -5 must be positive"),
        ({"n_layers": 0}, "params: params.n_layers: 0 must be positive"),
        ({"n_layers": 2.5}, "params: params.n_layers: 2.5 must be an integer"),
        ({"dropout": 1.0}, "params: params.dropout: 1.0 must be in [0, 1)"),
        ({"dropout": -0.1}, "params: params.dropout: -0.1 must be in [0, 1)"),
        ({"bn_momentum": 1.0}, "params: params.bn_momentum: 1.0 must be in [0, 1)"),
        ({"weight_decay": -1.0}, "params: params.weight_decay: -1.0 must not be negative"),
        ({"learning_rate": "fast"}, "params: params.learning_rate: 'fast' must be a finite number"),
        ({"learning_rate": float("nan")},
         "params: params.learning_rate: nan must be a finite number"),
        ({"batch_norm": "yes"}, "params: params.batch_norm: 'yes' must be true or false"),
        ({"lr_decay_rate": 1.5}, "params: params.lr_decay_rate: 1.5 must be in (0, 1]"),
    ],
)
def test_bad_values_name_the_parameter(params: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_params(params)
    assert str(info.value) == message


def test_good_params_pass_and_resolve_fills_defaults() -> None:
    check_params({"learning_rate": 0.01, "n_layers": 3.0, "batch_norm": False, "epochs": None})
    full = TrialParams.from_mapping({"learning_rate": 0.01, "n_layers": 3.0})
    assert full.n_layers == 3 and type(full.n_layers) is int
    assert full.optimizer == "adam" and full.bn_momentum == 0.9
    assert full.to_dict() == {**PARAM_DEFAULTS, "learning_rate": 0.01, "n_layers": 3}


def test_numpy_scalars_are_accepted() -> None:
    np = pytest.importorskip("numpy")
    params = {"learning_rate": np.float64(0.01), "n_layers": np.int64(2),
              "batch_norm": np.bool_(True), "optimizer": np.str_("sgd")}
    check_params(params)
    full = TrialParams.from_mapping(params)
    assert type(full.n_layers) is int and type(full.batch_norm) is bool
    assert type(full.learning_rate) is float and type(full.optimizer) is str


def test_settings_round_trip_and_base_dir() -> None:
    settings = TrainerSettings.from_dict({"dataset": "data.csv", "epochs": 3},
                                         base_dir="/spaces")
    assert settings.base_dir == "/spaces" and settings.epochs == 3
    assert TrainerSettings.from_dict(settings.to_dict()) == settings


def test_settings_unknown_key() -> None:
    with pytest.raises(ConfigError) as info:
        TrainerSettings.from_dict({"epoch": 3}, source="space.toml")
    assert str(info.value).startswith("space.toml: trainer.epoch: unknown setting; known: "
                                      "dataset, label_column, n_samples,")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"device": "gpu"}, "trainer.device: 'gpu' must be auto, cpu, cuda or cuda:N"),
        ({"precision": "fp8"}, "trainer.precision: 'fp8' must be one of fp32, bf16, fp16"),
        ({"epochs": 0}, "trainer.epochs: 0 must be an integer >= 1"),
        ({"val_fraction": 1.5}, "trainer.val_fraction: 1.5 must be a number in [0, 1)"),
        ({"val_fraction": 0.5, "test_fraction": 0.5},
         "trainer.test_fraction: 0.5 plus val_fraction (0.5) must be below 0.9"),
        ({"n_classes": 1}, "trainer.n_classes: 1 must be an integer >= 2"),
    ],
)
def test_settings_bad_values(table: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        TrainerSettings.from_dict(table, source="s.toml")
    assert str(info.value) == f"s.toml: {message}"


def test_importing_the_trainer_package_does_not_import_torch() -> None:
    code = ("import sys, hpsearch.trainer as t; t.KNOWN_PARAMS; t.TrainerSettings();"
            "t.TrialParams.from_mapping({'n_layers': 3});"
            "bad = [m for m in ('torch', 'numpy', 'sklearn') if m in sys.modules];"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_batch_size_below_two_needs_batch_norm_off() -> None:
    message = ("space.toml: params.batch_size: 1 must be at least 2 with batch_norm "
               "(BatchNorm needs two examples per batch)")
    for params in ({"batch_size": 1}, {"batch_size": 1, "batch_norm": True}):
        with pytest.raises(ConfigError) as info:
            check_params(params, source="space.toml")
        assert str(info.value) == message
    check_params({"batch_size": 1, "batch_norm": False})
    check_params({"batch_size": 2})


def test_momentum_defaults_to_none_and_resolves_with_or_without_it() -> None:
    assert PARAM_DEFAULTS["momentum"] is None
    check_params({"momentum": None})
    assert TrialParams.from_mapping({}).momentum is None
    assert TrialParams.from_mapping({"momentum": None}).momentum is None
    full = TrialParams.from_mapping({"momentum": 1 - 0.5})
    assert full.momentum == 0.5 and type(full.momentum) is float
    with pytest.raises(ConfigError, match=r"params.momentum: 1 must be in \[0, 1\)"):
        check_params({"momentum": 1})


def test_dataset_file_is_checked_without_reading_it(tmp_path) -> None:
    assert TrainerSettings(dataset="digits").dataset_path() is None
    TrainerSettings(dataset="synthetic").check_dataset_file("space.toml")
    (tmp_path / "data.csv").write_text("not even csv\x00")
    settings = TrainerSettings(dataset="data.csv", base_dir=str(tmp_path))
    assert settings.dataset_path() == (tmp_path / "data.csv").resolve()
    settings.check_dataset_file("space.toml")  # exists: fine, nothing is parsed
    missing = TrainerSettings(dataset="nope.npz", base_dir=str(tmp_path))
    with pytest.raises(DataError) as info:
        missing.check_dataset_file("space.toml")
    assert str(info.value) == (f"space.toml: trainer.dataset: {(tmp_path / 'nope.npz').resolve()}: "
                               "dataset file not found")
    with pytest.raises(DataError) as info:
        TrainerSettings(dataset="mnist").check_dataset_file("space.toml")
    assert str(info.value) == ("space.toml: trainer.dataset: mnist: unknown dataset; use digits, "
                               "synthetic or a .csv, .npz or .parquet file")


def test_trial_params_and_the_defaults_table_name_the_same_parameters() -> None:
    assert KNOWN_PARAMS == set(PARAM_DEFAULTS)
    assert TrialParams().to_dict() == PARAM_DEFAULTS


def test_trial_params_refuse_what_check_params_refuses() -> None:
    with pytest.raises(ConfigError, match="unknown parameter"):
        TrialParams.from_mapping({"lr": 0.1})
