"""The training loop: accuracy, BatchNorm claim, optimizers, schedules, determinism, failures."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from hpsearch.errors import ConfigError
from hpsearch.trainer import TrainerSettings, TrialParams
import hpsearch.trainer.fit as fit_module
from hpsearch.trainer.fit import TrainResult
from hpsearch.trainer.fit import fit as train
from hpsearch.trainer.params import LR_DECAYS, OPTIMIZERS


@pytest.mark.slow
def test_digits_reaches_96_percent() -> None:
    settings = TrainerSettings(epochs=30, patience=8)
    params = {"optimizer": "adam", "learning_rate": 1e-2, "n_layers": 2, "hidden_units": 128}
    result = train(params, settings, seed=0)
    assert result.state == "complete" and result.error is None and result.device == "cpu"
    assert result.metrics["val_accuracy"] >= 0.96
    assert 1 <= result.metrics["best_epoch"] <= result.metrics["epochs_run"] <= 30


@pytest.mark.slow
def test_batch_norm_trains_at_a_learning_rate_that_breaks_the_plain_mlp() -> None:
    settings = TrainerSettings(epochs=10, patience=10)
    params = {"optimizer": "sgd", "learning_rate": 1.0, "momentum": 0.9}
    for seed in (0, 1, 2):
        with_bn = train({**params, "batch_norm": True}, settings, seed=seed)
        without = train({**params, "batch_norm": False}, settings, seed=seed)
        assert with_bn.state == "complete" and with_bn.metrics["val_accuracy"] >= 0.93
        assert without.state == "failed" or without.metrics["val_accuracy"] <= 0.5, without


def test_report_is_called_every_epoch_and_best_epoch_is_reported(digits: TrainerSettings) -> None:
    seen: list[tuple[int, dict[str, float]]] = []
    result = train({"learning_rate": 0.01}, digits, seed=3,
                   report=lambda epoch, m: seen.append((epoch, m)))
    assert [e for e, _ in seen] == [1, 2, 3]
    assert set(seen[0][1]) == {"train_loss", "val_loss", "val_accuracy", "epoch_time",
                               "samples_per_s"}
    best = max(seen, key=lambda em: (em[1]["val_accuracy"], -em[1]["val_loss"]))
    assert result.metrics["best_epoch"] == best[0]
    assert result.metrics["val_accuracy"] == best[1]["val_accuracy"]
    assert result.metrics["val_loss"] == best[1]["val_loss"]
    assert result.metrics["epochs_run"] == 3


def test_early_stopping_with_patience() -> None:
    # lr so small nothing improves after the first epochs: stops after `patience` flat epochs
    seen: list[float] = []
    result = train({"learning_rate": 1e-9, "epochs": 50, "patience": 2}, TrainerSettings(),
                   seed=0, report=lambda e, m: seen.append(m["val_accuracy"]))
    assert result.metrics["epochs_run"] == len(seen) < 50
    assert result.metrics["epochs_run"] - result.metrics["best_epoch"] == 2


def test_params_epochs_override_settings(digits: TrainerSettings) -> None:
    assert train({"epochs": 1}, digits, seed=0).metrics["epochs_run"] == 1


@pytest.mark.slow
def test_same_seed_same_metrics(digits: TrainerSettings) -> None:
    params = {"dropout": 0.3, "learning_rate": 0.01, "batch_size": 32}
    rng_before = torch.get_rng_state()
    a, b = train(params, digits, seed=7), train(params, digits, seed=7)
    timing = {"epoch_time", "samples_per_s", "train_seconds", "inference_ms"}  # clock readings
    strip = lambda r: {k: v for k, v in r.metrics.items() if k not in timing}  # noqa: E731
    assert strip(a) == strip(b)
    other = train(params, digits, seed=8).metrics["train_loss"]
    assert other != pytest.approx(a.metrics["train_loss"], rel=1e-3)  # another seed, another run
    assert torch.equal(torch.get_rng_state(), rng_before)  # the caller's RNG is untouched


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_learns(optimizer: str, tiny_synthetic: TrainerSettings) -> None:
    params = {"optimizer": optimizer, "learning_rate": 0.05 if optimizer == "sgd" else 0.01,
              "nesterov": True, "weight_decay": 1e-4, "epochs": 5}
    result = train(params, tiny_synthetic, seed=0)
    assert result.state == "complete"
    assert result.metrics["val_accuracy"] > 0.6  # chance is 1/3


@pytest.mark.parametrize("lr_decay", LR_DECAYS)
def test_every_lr_decay(lr_decay: str, tiny_synthetic: TrainerSettings) -> None:
    params = {"lr_decay": lr_decay, "lr_decay_rate": 0.5, "lr_step_size": 2,
              "learning_rate": 0.01, "epochs": 4}
    result = train(params, tiny_synthetic, seed=0)
    assert result.state == "complete" and result.metrics["val_accuracy"] > 0.6


@pytest.mark.slow
def test_lr_decay_schedules_change_the_learning_rate(monkeypatch: pytest.MonkeyPatch,
                                                     tiny_synthetic: TrainerSettings) -> None:
    from hpsearch.trainer import optim

    seen: dict[str, list[float]] = {}
    real = optim.make_schedule

    def spy(opt: Any, params: Any, epochs: int) -> Any:
        schedule = real(opt, params, epochs)
        rates = seen.setdefault(params.lr_decay, [])
        if schedule is not None:
            step = schedule.step

            def record() -> None:
                step()
                rates.append(opt.param_groups[0]["lr"])
            schedule.step = record  # type: ignore[method-assign]
        return schedule

    monkeypatch.setattr(fit_module, "make_schedule", spy)
    base = {"learning_rate": 0.1, "lr_decay_rate": 0.5, "lr_step_size": 2, "epochs": 4,
            "patience": 10}
    for decay in ("exponential", "step", "cosine"):
        train({**base, "lr_decay": decay}, tiny_synthetic, seed=0)
    assert seen["exponential"] == pytest.approx([0.05, 0.025, 0.0125, 0.00625])
    assert seen["step"] == pytest.approx([0.1, 0.05, 0.05, 0.025])
    cosine = [0.1 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(1, 5)]
    assert seen["cosine"] == pytest.approx(cosine, abs=1e-9)


def test_test_split_metrics_only_when_asked_for() -> None:
    """Issue 12.5: a search's trials never compute test metrics; the chosen model does."""
    settings = TrainerSettings(test_fraction=0.2, epochs=3)
    seen: list[dict[str, float]] = []
    trial = train({"learning_rate": 0.01}, settings, seed=0, report=lambda e, m: seen.append(m))
    assert not any(k.startswith("test_") for k in trial.metrics)
    assert all("test_accuracy" not in m for m in seen)
    chosen = train({"learning_rate": 0.01}, settings, seed=0, evaluate_test=True)
    assert chosen.metrics["test_accuracy"] > 0.85 and chosen.metrics["test_loss"] > 0
    # The same training (same seed, CPU): only the test metrics are added.
    timed = ("epoch_time", "samples_per_s", "train_seconds", "inference_ms")
    assert {k: v for k, v in chosen.metrics.items() if not k.startswith("test_")
            and k not in timed} == pytest.approx(
        {k: v for k, v in trial.metrics.items() if k not in timed})


def test_cost_metrics_are_reported() -> None:
    """n_params counts the MLP's weights; train_seconds and inference_ms are positive times."""
    settings = TrainerSettings(epochs=2)
    result = train({"learning_rate": 0.01, "hidden_units": 10, "n_layers": 1,
                    "batch_norm": False}, settings, seed=0)
    # digits: 64 features, 10 classes: 64*10 + 10 (hidden) + 10*10 + 10 (output)
    assert result.metrics["n_params"] == 64 * 10 + 10 + 10 * 10 + 10
    assert result.metrics["train_seconds"] > 0 and result.metrics["inference_ms"] > 0


def test_report_true_prunes_after_that_epoch_keeping_the_best(digits: TrainerSettings) -> None:
    """Interface 4: a report answering True stops training after that epoch; the result is
    pruned with the best epoch's metrics, and the model holds the best epoch's weights."""
    settings = TrainerSettings(dataset="digits", epochs=10, patience=10)
    # A high learning rate makes the curve bumpy, so the best epoch need not be the last.
    params = TrialParams.from_mapping({"learning_rate": 0.05, "optimizer": "sgd"})
    data = fit_module.load_dataset(settings)
    seen: list[tuple[int, dict[str, float]]] = []

    def report(epoch: int, metrics: dict[str, float]) -> bool:
        seen.append((epoch, dict(metrics)))
        return epoch == 4

    with torch.random.fork_rng():
        torch.manual_seed(0)
        run = fit_module.TrainingRun(params, data, torch.device("cpu"), "fp32",
                                     torch.Generator().manual_seed(0), report)
        result = run.fit(10, 10)
    assert result.state == "pruned" and result.pruned_step == 4 and result.error is None
    assert [e for e, _ in seen] == [1, 2, 3, 4]
    best_epoch, best = max(seen, key=lambda s: (s[1]["val_accuracy"], -s[1]["val_loss"]))
    assert result.metrics["best_epoch"] == best_epoch and result.metrics["epochs_run"] == 4
    assert result.metrics["val_loss"] == pytest.approx(best["val_loss"])
    val_loss, val_accuracy = fit_module.evaluate(run.model, run.X_val, run.y_val)
    assert (val_loss, val_accuracy) == (pytest.approx(best["val_loss"], rel=1e-5),
                                        best["val_accuracy"])


def test_report_returning_none_never_stops(tiny_synthetic: TrainerSettings) -> None:
    result = train({"learning_rate": 0.01, "patience": 10}, tiny_synthetic, seed=0,
                   report=lambda e, m: None)
    assert result.state == "complete" and result.pruned_step is None
    assert result.metrics["epochs_run"] == 3


def test_diverged_run_fails_without_raising() -> None:
    params = {"optimizer": "sgd", "learning_rate": 1e6, "batch_norm": False, "momentum": 0.9}
    result = train(params, TrainerSettings(epochs=5), seed=0)
    assert result.state == "failed"
    assert result.error is not None
    assert result.error.startswith("diverged: train loss is ")
    assert result.error.endswith(" at epoch 1")


def test_cuda_out_of_memory_fails_the_run_with_the_best_epoch_kept(
        monkeypatch: pytest.MonkeyPatch, tiny_synthetic: TrainerSettings) -> None:
    module = fit_module
    real = module.TrainingRun._train_epoch

    def epoch_then_oom(self: Any, epoch: int) -> tuple[float, int]:
        if epoch == 2:
            raise torch.cuda.OutOfMemoryError(
                "CUDA out of memory. Tried to allocate 2.00 GiB\nmore")
        return real(self, epoch)

    monkeypatch.setattr(module.TrainingRun, "_train_epoch", epoch_then_oom)
    result = train({"learning_rate": 0.01}, tiny_synthetic, seed=0)
    assert result.state == "failed"
    assert result.error == "CUDA out of memory: CUDA out of memory. Tried to allocate 2.00 GiB"
    assert result.metrics["best_epoch"] == 1 and result.metrics["epochs_run"] == 2


def test_exceptions_from_report_propagate(tiny_synthetic: TrainerSettings) -> None:
    class Pruned(Exception):
        pass

    def prune(epoch: int, metrics: dict[str, float]) -> None:
        raise Pruned(epoch)

    rng_before = torch.get_rng_state()
    with pytest.raises(Pruned):
        train({}, tiny_synthetic, seed=0, report=prune)
    assert torch.equal(torch.get_rng_state(), rng_before)


def test_bad_params_raise_before_training(digits: TrainerSettings) -> None:
    with pytest.raises(ConfigError, match="unknown parameter"):
        train({"lr": 0.1}, digits, seed=0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour without CUDA")
def test_cuda_request_without_cuda(digits: TrainerSettings) -> None:
    with pytest.raises(ConfigError) as info:
        train({}, TrainerSettings(device="cuda", epochs=1), seed=0)
    assert str(info.value) == "trainer.device: 'cuda' requested but CUDA is not available"
    with pytest.raises(ConfigError) as info:
        train({}, TrainerSettings(device="cpu", precision="fp16", epochs=1), seed=0)
    assert str(info.value) == "trainer.precision: 'fp16' needs a CUDA device, not cpu"


def test_bf16_autocast_on_cpu(tiny_synthetic: TrainerSettings) -> None:
    settings = TrainerSettings(dataset="synthetic", n_samples=300, n_features=8, n_classes=3,
                               epochs=3, device="cpu", precision="bf16")
    result = train({"learning_rate": 0.01}, settings, seed=0)
    assert result.state == "complete" and result.metrics["val_accuracy"] > 0.6


def test_every_activation_and_a_trailing_batch_of_one(tiny_synthetic: TrainerSettings) -> None:
    # 240 training examples with batch_size 239 leaves a last batch of one for BatchNorm
    for activation in ("relu", "tanh", "sigmoid", "elu", "gelu"):
        result = train({"activation": activation, "batch_size": 239, "epochs": 1},
                       tiny_synthetic, seed=0)
        assert result.state == "complete"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour without CUDA")
def test_fp16_on_auto_without_cuda_falls_back_to_fp32(caplog: pytest.LogCaptureFixture) -> None:
    settings = TrainerSettings(dataset="synthetic", n_samples=300, n_features=8, n_classes=3,
                               epochs=1, device="auto", precision="fp16")
    with caplog.at_level("WARNING", logger="hpsearch.trainer.fit"):
        result = train({}, settings, seed=0)
    assert result.state == "complete" and result.device == "cpu"
    assert "precision fp16 needs CUDA; training on cpu in fp32" in caplog.text


def _val_accuracies(params: dict[str, Any], settings: TrainerSettings) -> tuple[TrainResult, list]:
    seen: list[float] = []
    result = train(params, settings, seed=0,
                   report=lambda epoch, m: seen.append(m["val_accuracy"]))
    return result, seen


def test_patience_zero_stops_only_at_the_first_epoch_that_does_not_improve(
        tiny_synthetic: TrainerSettings) -> None:
    # Keras semantics: an improving epoch never stops the run, whatever the patience
    settings = TrainerSettings(dataset="synthetic", n_samples=300, n_features=8, n_classes=3,
                               epochs=8, patience=0)
    result, seen = _val_accuracies({"optimizer": "sgd", "learning_rate": 0.3,
                                    "batch_size": 16}, settings)
    first_flat = next(i for i in range(1, len(seen)) if seen[i] <= max(seen[:i])) + 1
    assert first_flat > 2  # the run improves over its first epochs
    assert result.metrics["epochs_run"] == first_flat == len(seen)


def test_patience_counts_non_improving_epochs_in_a_row() -> None:
    # lr so small nothing improves after epoch 1: patience 3 stops at epoch 1 + 3
    result, seen = _val_accuracies({"learning_rate": 1e-9, "epochs": 50, "patience": 3},
                                   TrainerSettings())
    assert result.metrics["epochs_run"] == 4 and len(seen) == 4


def test_early_stopping_restores_the_best_weights() -> None:
    from hpsearch.trainer.data import load_dataset
    from hpsearch.trainer.fit import TrainingRun, evaluate

    settings = TrainerSettings(dataset="synthetic", n_samples=300, n_features=8, n_classes=3,
                               device="cpu")
    p = TrialParams.from_mapping({"optimizer": "sgd", "learning_rate": 1.0, "momentum": 0.9,
                                  "batch_size": 16})
    seen: list[float] = []
    with torch.random.fork_rng():
        torch.manual_seed(0)
        run = TrainingRun(p, load_dataset(settings), torch.device("cpu"), "fp32",
                   torch.Generator().manual_seed(0),
                   lambda epoch, m: seen.append(m["val_accuracy"]))
        result = run.fit(epochs=8, patience=8)
    assert result.state == "complete"
    # the best epoch comes before the last, which is worse: the weights must be rolled back
    assert result.metrics["best_epoch"] < result.metrics["epochs_run"] == 8
    assert seen[-1] < result.metrics["val_accuracy"]
    val_loss, val_accuracy = evaluate(run.model, run.X_val, run.y_val)
    assert val_accuracy == result.metrics["val_accuracy"]
    assert val_loss == pytest.approx(result.metrics["val_loss"], rel=1e-6)


def test_batch_size_one_without_batch_norm_trains(tiny_synthetic: TrainerSettings) -> None:
    result = train({"batch_size": 1, "batch_norm": False, "epochs": 1}, tiny_synthetic, seed=0)
    assert result.state == "complete" and result.metrics["val_accuracy"] > 0.4


def test_batch_size_one_with_batch_norm_is_refused_before_training(
        tiny_synthetic: TrainerSettings) -> None:
    with pytest.raises(ConfigError) as info:
        train({"batch_size": 1}, tiny_synthetic, seed=0)
    assert str(info.value) == ("params: params.batch_size: 1 must be at least 2 with batch_norm "
                               "(BatchNorm needs two examples per batch)")


@pytest.mark.parametrize("optimizer, params, momentum", [
    ("sgd", {}, 0.9),
    ("sgd", {"momentum": 0.5}, 0.5),
    ("rmsprop", {}, 0.0),
    ("rmsprop", {"momentum": 0.5}, 0.5),
])
def test_momentum_reaches_sgd_and_rmsprop(optimizer: str, params: dict, momentum: float) -> None:
    from hpsearch.trainer.optim import make_optimizer

    p = TrialParams.from_mapping({"optimizer": optimizer, **params})
    opt = make_optimizer([{"params": torch.nn.Linear(2, 2).parameters()}], p)
    assert opt.defaults["momentum"] == momentum


def test_rmsprop_momentum_changes_training(tiny_synthetic: TrainerSettings) -> None:
    base = {"optimizer": "rmsprop", "learning_rate": 0.01}
    plain = train(base, tiny_synthetic, seed=0)
    with_momentum = train({**base, "momentum": 0.9}, tiny_synthetic, seed=0)
    # not float noise: momentum 0.9 changes the loss by far more than a rounding difference
    assert with_momentum.metrics["train_loss"] != pytest.approx(plain.metrics["train_loss"],
                                                                rel=1e-2)
