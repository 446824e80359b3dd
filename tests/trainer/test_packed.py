"""Packed training (issue 17): K trials as one stacked model give what K sequential fits give.

Tolerance (float32, CPU, per-epoch train_loss and val_loss, relative): 1e-5 for SGD, 2e-2 for
Adam and RMSprop; validation accuracy within one example; best_epoch and epochs_run equal.
The forward pass is bitwise equal to the sequential one and the gradients differ by 1 ulp (the
batched backward of the output layer sums in another order). SGD keeps that at ~3e-7. Adam and
RMSprop divide by sqrt(v) + eps: a weight whose true gradient is ~0 (BatchNorm makes the
hidden weights scale invariant) gets a full-size step from rounding noise, so without weight
decay the two runs drift apart (measured after 4 epochs: up to 4e-4 for Adam and 8e-3 for
RMSprop with momentum 0.9; ~1e-7 for the other members). Two sequential runs with
different torch thread counts drift the same way; the tests pin one thread.
The validation metrics are computed in eval mode, from each member's BatchNorm running
statistics: agreeing per epoch means those statistics agree. Dropout masks are drawn per member
from its own generator seeded as ``fit``'s stream, so dropout > 0 is part of the equivalence
(CPU).
"""

from __future__ import annotations

from typing import Any

import pytest

from hpsearch.errors import ConfigError
from hpsearch.trainer import TrainerSettings, TrialParams
from hpsearch.trainer.fit import fit
from hpsearch.trainer.packed import fit_packed, pack_key

TOLERANCE = {"sgd": 1e-5, "adam": 2e-2, "rmsprop": 2e-2}
LEARNING_RATE = {"sgd": 0.05, "adam": 2e-3, "rmsprop": 5e-4}
SHAPE = {"n_layers": 2, "hidden_units": 32, "batch_size": 64}
# Every lr_decay, nesterov, weight decay, dropout, mixed bn_momentum and betas/eps/rho.
VARIANTS: list[dict[str, Any]] = [
    {"momentum": 0.9, "nesterov": True, "lr_decay": "cosine", "lr_min": 1e-4},
    {"weight_decay": 1e-3, "lr_decay": "step", "lr_step_size": 2, "lr_decay_rate": 0.5,
     "momentum": 0.0},
    {"bn_momentum": 0.5, "lr_decay": "exponential", "lr_decay_rate": 0.8, "dropout": 0.2,
     "beta1": 0.8, "eps": 1e-6},
    {"weight_decay": 1e-2, "momentum": 0.5, "rho": 0.9, "beta2": 0.99},
]
SEEDS = [11, 12, 13, 14]


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread, whatever an earlier test set: another thread count splits the
    matmuls differently, and Adam's amplified rounding then differs from run to run."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def settings(**overrides: Any) -> TrainerSettings:
    return TrainerSettings(**{"epochs": 4, "patience": 10, "device": "cpu", **overrides})


def sequential(params: list[TrialParams], s: TrainerSettings, seeds: list[int]):
    out = []
    for p, seed in zip(params, seeds):
        steps: list[dict[str, float]] = []
        out.append((fit(p, s, seed=seed, report=lambda e, m, steps=steps: steps.append(m) and False,
                        evaluate_test=True), steps))
    return out


def packed(params: list[TrialParams], s: TrainerSettings, seeds: list[int], prune=None):
    steps: list[list[dict[str, float]]] = [[] for _ in params]

    def reporter(k: int):
        def report(epoch: int, metrics: dict[str, float]) -> bool:
            steps[k].append(metrics)
            return bool(prune and prune(k, epoch))
        return report

    results = fit_packed(params, s, seeds=seeds, reports=[reporter(k) for k in range(len(params))],
                         evaluate_test=True)
    return list(zip(results, steps))


def assert_same(seq, pck, tol: float, n_val: int) -> None:
    for (r, steps), (pr, psteps) in zip(seq, pck):
        assert (pr.state, pr.error) == (r.state, r.error)
        assert len(psteps) == len(steps)
        for a, b in zip(steps, psteps):
            for key in ("train_loss", "val_loss"):
                assert b[key] == pytest.approx(a[key], rel=tol), (key, a, b)
            assert abs(a["val_accuracy"] - b["val_accuracy"]) <= 1 / n_val + 1e-12
        for key in ("best_epoch", "epochs_run"):
            assert pr.metrics.get(key) == r.metrics.get(key)
        assert ("test_loss" in pr.metrics) == ("test_loss" in r.metrics)
        # the cost metrics: the same model size, both timed
        assert pr.metrics.get("n_params") == r.metrics.get("n_params")
        assert ("inference_ms" in pr.metrics) == ("inference_ms" in r.metrics)
        assert ("train_seconds" in pr.metrics) == ("train_seconds" in r.metrics)
        for key in ("val_loss", "train_loss", "test_loss"):
            if key in r.metrics:
                assert pr.metrics[key] == pytest.approx(r.metrics[key], rel=tol)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_packed_trials_match_sequential_fits(optimizer: str) -> None:
    params = [TrialParams.from_mapping({**SHAPE, **v, "optimizer": optimizer,
                                        "learning_rate": LEARNING_RATE[optimizer] * (1 + i / 4)})
              for i, v in enumerate(VARIANTS)]
    s = settings(test_fraction=0.2)
    assert_same(sequential(params, s, SEEDS), packed(params, s, SEEDS), TOLERANCE[optimizer],
                n_val=360)


@pytest.mark.parametrize("batch_norm", [True, False])
def test_one_bn_momentum_and_no_batch_norm_match_too(batch_norm: bool) -> None:
    # One bn_momentum for the whole pack: torch updates the running statistics itself.
    params = [TrialParams.from_mapping({**SHAPE, "optimizer": "sgd", "learning_rate": lr,
                                        "batch_norm": batch_norm, "activation": "tanh"})
              for lr in (0.01, 0.05, 0.1)]
    s = settings()
    assert_same(sequential(params, s, SEEDS[:3]), packed(params, s, SEEDS[:3]), 1e-5, 360)


def test_a_diverging_member_fails_alone() -> None:
    params = [TrialParams.from_mapping({**SHAPE, "optimizer": "sgd", "learning_rate": lr,
                                        "batch_norm": False, "momentum": 0.9})
              for lr in (0.05, 1e4, 0.02)]
    s = settings()
    seq, pck = sequential(params, s, SEEDS[:3]), packed(params, s, SEEDS[:3])
    assert pck[1][0].state == "failed" and pck[1][0].error.startswith("diverged: ")
    assert [r.state for r, _ in pck] == ["failed" if i == 1 else "complete" for i in range(3)]
    assert_same(seq, pck, 1e-5, 360)


def test_early_stopping_and_pruning_are_per_member() -> None:
    params = [TrialParams.from_mapping({**SHAPE, "optimizer": "adam", "learning_rate": lr,
                                        "patience": patience, "epochs": 6})
              for lr, patience in ((1e-9, 0), (1e-3, 5), (2e-3, 5))]
    s = settings()
    seq = sequential(params, s, SEEDS[:3])
    pck = packed(params, s, SEEDS[:3], prune=lambda k, epoch: k == 2 and epoch == 2)
    assert seq[0][0].metrics["epochs_run"] < 6  # stops early, alone
    assert_same(seq[:2], pck[:2], TOLERANCE["adam"], 360)
    pruned, steps = pck[2]
    assert pruned.state == "pruned" and pruned.error is None and pruned.pruned_step == 2
    assert pruned.metrics["epochs_run"] == 2 and len(steps) == 2
    for a, b in zip(seq[2][1], steps):
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=TOLERANCE["adam"])


def test_pack_key_and_refusals() -> None:
    a = TrialParams.from_mapping({**SHAPE, "learning_rate": 0.1, "dropout": 0.3})
    b = TrialParams.from_mapping({**SHAPE, "learning_rate": 0.2})
    c = TrialParams.from_mapping({**SHAPE, "hidden_units": 16})
    assert pack_key(a) == pack_key(b) != pack_key(c)
    with pytest.raises(ConfigError, match="do not share one shape"):
        fit_packed([a, c], settings(), seeds=[1, 2])
    with pytest.raises(ConfigError, match="fp16"):
        fit_packed([a, b], settings(precision="fp16"), seeds=[1, 2])
