"""The built-in trainer's model: a multilayer perceptron classifier.

Architecture, per hidden layer: ``Linear(no bias) → BatchNorm1d → activation → Dropout``, then a
final ``Linear`` to the class logits. The loss is cross-entropy on the logits (softmax is applied
only for predictions). The hidden Linear layers carry no bias when BatchNorm follows them, since
BatchNorm's β shift makes a bias redundant; with ``batch_norm=False`` they keep it.

``bn_momentum`` follows the course's convention: it is the β of the running average,
``running = β·running + (1-β)·batch``. PyTorch's ``momentum`` is the weight of the *new* batch,
so the layer is built with ``momentum = 1 - bn_momentum``.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

__all__ = ["ACTIVATION_LAYERS", "MLP", "predict_logits"]

#: Activation name → layer factory (the names match ``config.ACTIVATIONS``).
ACTIVATION_LAYERS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "elu": nn.ELU,
    "gelu": nn.GELU,
}


class MLP(nn.Module):
    """Multilayer perceptron returning class logits.

    Parameters
    ----------
    n_features, n_classes:
        Input width and number of output logits.
    n_layers, hidden_units:
        Number and width of hidden layers (``n_layers=0`` gives multinomial logistic regression).
    activation:
        One of :data:`ACTIVATION_LAYERS`.
    dropout:
        Drop probability after each hidden activation (0 adds no layer).
    batch_norm:
        Put a ``BatchNorm1d`` between each hidden Linear and its activation.
    bn_momentum:
        β of BatchNorm's running averages (see the module docstring; torch gets ``1 - β``).
    """

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        *,
        n_layers: int = 2,
        hidden_units: int = 128,
        activation: str = "relu",
        dropout: float = 0.0,
        batch_norm: bool = True,
        bn_momentum: float = 0.9,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATION_LAYERS:
            raise ValueError(f"unknown activation {activation!r}")
        layers: list[nn.Module] = []
        width = n_features
        for _ in range(n_layers):
            layers.append(nn.Linear(width, hidden_units, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm1d(hidden_units, momentum=1.0 - bn_momentum))
            layers.append(ACTIVATION_LAYERS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = hidden_units
        layers.append(nn.Linear(width, n_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(batch, n_classes)``."""
        return self.layers(x)

    def decay_groups(self, weight_decay: float) -> list[dict[str, object]]:
        """Optimizer parameter groups applying L2 weight decay to the Linear weights only.

        Biases and BatchNorm's γ/β are not decayed: shrinking them does not regularise the
        function (the usual practice, and the course's L2 term sums over the weights W only).
        Without weight decay there is one group: each group costs the optimizer a Python-level
        pass per step.
        """
        if weight_decay == 0:
            return [{"params": list(self.parameters()), "weight_decay": 0.0}]
        decay, no_decay = [], []
        for module in self.modules():
            if isinstance(module, nn.Linear):
                decay.append(module.weight)
                if module.bias is not None:
                    no_decay.append(module.bias)
            elif isinstance(module, nn.BatchNorm1d):
                no_decay.extend([module.weight, module.bias])
        return [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]


@torch.no_grad()
def predict_logits(model: nn.Module, X: torch.Tensor, *, chunk: int = 8192) -> torch.Tensor:
    """Logits of ``X`` in evaluation mode (BatchNorm running statistics, no dropout).

    Evaluating in chunks bounds memory; in eval mode every row is computed independently of
    the others, so the chunk size does not change the result. The model's previous mode is
    restored afterwards.
    """
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(X[i:i + chunk]) for i in range(0, len(X), chunk)])
    finally:
        model.train(was_training)
