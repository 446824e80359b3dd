"""The optimizer of a packed model (:mod:`hpsearch.trainer.packed`): torch's single-tensor
SGD, Adam and RMSprop over stacked tensors, every hyperparameter a per-member tensor.

The update formulas are torch's (``torch/optim/sgd.py``, ``adam.py``, ``rmsprop.py``, the
``_single_tensor_*`` functions that CPU training uses), with a Python float replaced by a
column of K values; Adam's bias corrections are computed in double, as torch computes them
from Python floats, and then rounded to float32 as its kernels round a scalar.
"""

from __future__ import annotations

import torch

from hpsearch.trainer.params import TrialParams

__all__ = ["PackedOptimizer"]


class PackedOptimizer:
    """torch's single-tensor SGD, Adam and RMSprop (the CPU defaults), with every
    hyperparameter a per-member tensor; decay on ``decayed`` (the Linear weights) only."""

    def __init__(self, kind: str, params: list[TrialParams], decayed: set[str],
                 device: torch.device) -> None:
        self.kind, self.decayed, self.step_count = kind, decayed, 0
        f64 = lambda values: torch.tensor(values, dtype=torch.float64, device=device)  # noqa: E731
        default_momentum = 0.9 if kind == "sgd" else 0.0
        self.h = {
            "lr": f64([p.learning_rate for p in params]),
            "wd": f64([p.weight_decay for p in params]),
            "momentum": f64([default_momentum if p.momentum is None else p.momentum
                             for p in params]),
            "nesterov": torch.tensor([p.nesterov for p in params], device=device),
            "beta1": f64([p.beta1 for p in params]), "beta2": f64([p.beta2 for p in params]),
            "eps": f64([p.eps for p in params]), "rho": f64([p.rho for p in params]),
        }
        self.state: dict[str, dict[str, torch.Tensor]] = {}
        self._cols: dict[str, torch.Tensor] = {}

    def set_lr(self, lrs: list[float]) -> None:
        self.h["lr"] = torch.tensor(lrs, dtype=torch.float64, device=self.h["lr"].device)
        self._cols = {}

    def select(self, index: torch.Tensor) -> None:
        self.h = {n: t.index_select(0, index) for n, t in self.h.items()}
        self.state = {n: {k: t.index_select(0, index) for k, t in s.items()}
                      for n, s in self.state.items()}
        self._cols = {}

    def _float32(self) -> dict[str, torch.Tensor]:
        # The per-member hyperparameters in float32 (what torch's kernels use of a Python
        # float), made once per epoch rather than once per parameter and step.
        if not self._cols:
            h = self.h
            self._cols = {
                "wd": h["wd"].float(), "momentum": h["momentum"].float(),
                "nesterov": h["nesterov"] & (h["momentum"] > 0), "neg_lr": (-h["lr"]).float(),
                "1-beta1": (1 - h["beta1"]).float(), "beta2": h["beta2"].float(),
                "1-beta2": (1 - h["beta2"]).float(), "eps": h["eps"].float(),
                "rho": h["rho"].float(), "1-rho": (1 - h["rho"]).float(),
                "any_wd": bool((h["wd"] != 0).any()),  # type: ignore[dict-item]
            }
        return self._cols

    @torch.no_grad()
    def step(self, params: dict[str, torch.Tensor], grads: dict[str, torch.Tensor]) -> None:
        self.step_count += 1
        h, c = self.h, self._float32()
        if self.kind == "adam":  # bias corrections per member, in double like torch's floats
            t = self.step_count
            neg_step = (-h["lr"] / (1 - h["beta1"] ** t)).float()
            bc2_sqrt = ((1 - h["beta2"] ** t) ** 0.5).float()
        for name, p in params.items():
            g = grads[name]
            shape = (-1,) + (1,) * (p.dim() - 1)
            col = lambda key, shape=shape: c[key].view(shape)  # noqa: E731
            if c["any_wd"] and name in self.decayed:
                g = g.addcmul(p, col("wd"))
            st = self.state.setdefault(name, {})
            if self.kind == "sgd":
                buf = st.setdefault("buf", torch.zeros_like(p))
                mom = col("momentum")
                buf.mul_(mom).add_(g)
                update = torch.where(col("nesterov"), g + mom * buf, buf)
                p.addcmul_(update, col("neg_lr"))
            elif self.kind == "adam":
                avg = st.setdefault("exp_avg", torch.zeros_like(p))
                sq = st.setdefault("exp_avg_sq", torch.zeros_like(p))
                avg.lerp_(g, col("1-beta1"))
                sq.mul_(col("beta2")).addcmul_(g, g * col("1-beta2"))
                denom = (sq.sqrt() / bc2_sqrt.view(shape)).add_(col("eps"))
                p.addcmul_(avg / denom, neg_step.view(shape))
            else:  # rmsprop
                sq = st.setdefault("square_avg", torch.zeros_like(p))
                buf = st.setdefault("buf", torch.zeros_like(p))
                sq.mul_(col("rho")).addcmul_(g, g * col("1-rho"))
                avg = sq.sqrt().add_(col("eps"))
                buf.mul_(col("momentum")).addcdiv_(g, avg)
                p.addcmul_(buf, col("neg_lr"))
