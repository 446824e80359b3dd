"""The MLP: architecture, BatchNorm momentum convention, eval-mode batch independence."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hpsearch.trainer.model import MLP, predict_logits


def test_architecture_with_batch_norm() -> None:
    model = MLP(10, 4, n_layers=2, hidden_units=16, activation="tanh", dropout=0.3)
    kinds = [type(m) for m in model.layers]
    assert kinds == [nn.Linear, nn.BatchNorm1d, nn.Tanh, nn.Dropout,
                     nn.Linear, nn.BatchNorm1d, nn.Tanh, nn.Dropout, nn.Linear]
    hidden = [m for m in model.layers if isinstance(m, nn.Linear)][:-1]
    assert all(m.bias is None for m in hidden)
    assert model.layers[-1].bias is not None and model.layers[-1].out_features == 4


def test_without_batch_norm_hidden_layers_keep_their_bias() -> None:
    model = MLP(10, 4, n_layers=3, hidden_units=8, batch_norm=False)
    assert not any(isinstance(m, nn.BatchNorm1d) for m in model.modules())
    assert all(m.bias is not None for m in model.modules() if isinstance(m, nn.Linear))


def test_bn_momentum_is_the_beta_of_the_running_average() -> None:
    model = MLP(3, 2, n_layers=1, hidden_units=4, bn_momentum=0.8)
    bn = model.layers[1]
    assert bn.momentum == pytest.approx(0.2)
    x = torch.randn(32, 3)
    batch_mean = model.layers[0](x).mean(dim=0).detach()
    model.train()
    model(x)
    # running = β·running + (1-β)·batch, from running = 0
    torch.testing.assert_close(bn.running_mean, 0.2 * batch_mean)


def test_weight_decay_applies_to_linear_weights_only() -> None:
    model = MLP(5, 3, n_layers=2, hidden_units=6)
    (single,) = model.decay_groups(0.0)
    assert len(single["params"]) == len(list(model.parameters()))
    decay, no_decay = model.decay_groups(1e-3)
    assert decay["weight_decay"] == 1e-3 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() == 2 for p in decay["params"])
    assert all(p.dim() == 1 for p in no_decay["params"])
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


@pytest.mark.parametrize("batch_norm", [True, False])
def test_eval_mode_prediction_is_independent_of_the_batch(batch_norm: bool) -> None:
    torch.manual_seed(0)
    model = MLP(6, 3, n_layers=2, hidden_units=32, dropout=0.5, batch_norm=batch_norm)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    for _ in range(20):  # move the running statistics away from their initial values
        x = torch.randn(64, 6) * 3 + 1
        loss = nn.functional.cross_entropy(model(x), torch.randint(0, 3, (64,)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    X = torch.randn(50, 6) * 3 + 1
    batched = predict_logits(model, X)
    alone = torch.cat([predict_logits(model, X[i:i + 1]) for i in range(len(X))])
    torch.testing.assert_close(alone, batched, rtol=1e-5, atol=1e-6)
    assert model.training  # the previous mode is restored
    # the same example in two different batches gives the same logits
    other = predict_logits(model, torch.cat([X[:1], torch.randn(9, 6) * 10]))
    torch.testing.assert_close(other[0], batched[0], rtol=1e-5, atol=1e-6)
    # ...which is not true in train mode when BatchNorm uses batch statistics
    if batch_norm:
        model.eval()
        model.layers[1].train()
        with torch.no_grad():
            assert not torch.allclose(model(X[:2])[0], model(X[:10])[0])
