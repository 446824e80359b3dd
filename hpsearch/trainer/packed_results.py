"""A packed member's result, as ``fit`` would give it: its metrics, its cost (measured once
per shape) and its weights as the ``MLP``'s state dict (:mod:`hpsearch.trainer.packed`)."""

from __future__ import annotations

from typing import Any

import torch

from hpsearch.trainer.fit import TrainResult, cost_metrics
from hpsearch.trainer.model import MLP
from hpsearch.trainer.params import TrialParams

__all__ = ["member_result", "shape_cost", "LazyCost", "mlp_state"]


class LazyCost:
    """``shape_cost`` of the pack's shape, measured once, when a member first needs it."""

    def __init__(self, p: TrialParams, data: Any, device: torch.device) -> None:
        self.p, self.data, self.device = p, data, device
        self.value: dict[str, float] | None = None

    def __call__(self) -> dict[str, float]:
        if self.value is None:
            self.value = shape_cost(self.p, self.data, self.device)
        return self.value


def member_result(m: Any, test: tuple[float, float] | dict, cost: dict[str, float],
                   device: torch.device) -> TrainResult:
    """One member's result (``test``: its test loss and accuracy, or nothing)."""
    result = dict(m.best)
    result.pop("epoch_time", None)
    result.pop("samples_per_s", None)
    if m.best:
        result["epochs_run"] = float(m.epoch)
        result["epoch_time"] = m.total_time / max(1, m.epoch)
        result["samples_per_s"] = m.total_samples / m.total_time if m.total_time > 0 else 0.0
    if test:
        result["test_loss"], result["test_accuracy"] = test  # type: ignore[misc]
    if m.best and m.error is None and cost:
        result["train_seconds"] = m.total_time  # the pack's wall time: K trials shared it
        result.update(cost)
    state = "failed" if m.error else "pruned" if m.pruned else "complete"
    return TrainResult(state=state, metrics=result, error=m.error, device=str(device),
                       pruned_step=m.epoch if state == "pruned" else None,
                       # each member's weights, as fit() hands them out
                       state_dict=mlp_state(m.best_state, m.p)
                       if state == "complete" and m.best_state is not None else None)


def shape_cost(p: TrialParams, data: Any, device: torch.device) -> dict[str, float]:
    """``n_params`` and ``inference_ms`` of one member as ``fit`` measures them: the members
    share the shape (and cost does not depend on the weights), so one model of that shape is
    timed alone, not the stacked pack."""
    with torch.random.fork_rng(devices=[]):  # building it draws weights: leave the stream be
        model = MLP(data.n_features, data.n_classes, n_layers=p.n_layers,
                    hidden_units=p.hidden_units, activation=p.activation, dropout=p.dropout,
                    batch_norm=p.batch_norm, bn_momentum=p.bn_momentum).to(device)
    return cost_metrics(model, data.n_features, device)


def mlp_state(flat: dict[str, torch.Tensor], p: TrialParams) -> dict[str, torch.Tensor]:
    """A member's flat tensors (``hpsearch.trainer.packed``'s flat names) as the ``MLP``'s state dict, on the
    CPU: what ``fit`` hands out, so a packed trial's checkpoint loads like any other's."""
    # MLP.layers per hidden layer: Linear, [BatchNorm1d], activation, [Dropout]
    linear, norm = 0, 1
    per_layer = 2 + int(p.batch_norm) + int(p.dropout > 0)
    out: dict[str, torch.Tensor] = {}
    for i in range(p.n_layers):
        base = i * per_layer
        out[f"layers.{base + linear}.weight"] = flat[f"w{i}"]
        if p.batch_norm:
            bn = f"layers.{base + norm}"
            out[f"{bn}.weight"], out[f"{bn}.bias"] = flat[f"g{i}"], flat[f"be{i}"]
            out[f"{bn}.running_mean"], out[f"{bn}.running_var"] = flat[f"rm{i}"], flat[f"rv{i}"]
            out[f"{bn}.num_batches_tracked"] = torch.tensor(0)  # unused: momentum is set
        else:
            out[f"layers.{base + linear}.bias"] = flat[f"b{i}"].reshape(-1)
    last = p.n_layers * per_layer
    out[f"layers.{last}.weight"], out[f"layers.{last}.bias"] = flat["wo"], flat["bo"].reshape(-1)
    return {k: v.detach().cpu().clone() for k, v in out.items()}
