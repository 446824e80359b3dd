"""The optimizer of a packed model (:mod:`hpsearch.trainer.packed`): torch's single-tensor
SGD, Adam and RMSprop over stacked tensors, every hyperparameter a per-member tensor.

The update formulas are torch's (``torch/optim/sgd.py``, ``adam.py``, ``rmsprop.py``, the
``_single_tensor_*`` functions that CPU training uses). SGD replaces a Python float by a
column of K values (broadcast over the stacked tensors). Adam and RMSprop run torch's
``_foreach_*`` ops over the members' views (``p[k]``) with one Python float per member: the
same kernels, with the same scalars, as a sequential fit's, and no stacked temporaries (the
broadcast version spent about as long in the optimizer as in the matmuls at 8 x 2 x 256 units,
batch 128). Adam's bias corrections are computed in double, as torch computes them from
Python floats.
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
        self._floats: dict[str, list[float]] = {}

    def set_lr(self, lrs: list[float]) -> None:
        self.h["lr"] = torch.tensor(lrs, dtype=torch.float64, device=self.h["lr"].device)
        self._cols, self._floats = {}, {}

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

    def _python(self) -> dict[str, list[float]]:
        # The per-member hyperparameters as Python floats (what a sequential fit hands torch).
        if not self._floats:
            self._floats = {n: [float(v) for v in t.tolist()] for n, t in self.h.items()
                            if n != "nesterov"}
        return self._floats

    @torch.no_grad()
    def step(self, params: dict[str, torch.Tensor], grads: dict[str, torch.Tensor]) -> None:
        self.step_count += 1
        if self.kind == "sgd":
            self._sgd(params, grads)
            return
        f = self._python()
        names = list(params)
        for name in names:  # the state of a parameter, made on its first step
            st = self.state.setdefault(name, {})
            keys = ("exp_avg", "exp_avg_sq") if self.kind == "adam" else ("square_avg", "buf")
            for key in keys:
                if key not in st:
                    st[key] = torch.zeros_like(params[name])
        k = len(f["lr"])
        views = lambda ts: [v for t in ts for v in t.unbind(0)]  # noqa: E731
        ps = views(params[n] for n in names)
        gs = views(grads[n] for n in names)
        per = lambda values: values * len(names)  # noqa: E731 - one value per view
        decayed = [n for n in names if n in self.decayed]
        if decayed and any(f["wd"]):  # grad.add(param, alpha=wd), on the Linear weights only
            at = {n: i * k for i, n in enumerate(names)}
            for n in decayed:
                sl = slice(at[n], at[n] + k)
                gs[sl] = torch._foreach_add(gs[sl], torch._foreach_mul(ps[sl], f["wd"]))
        if self.kind == "adam":
            self._adam(f, names, ps, gs, per, views)
        else:
            self._rmsprop(f, names, ps, gs, per, views)

    def _adam(self, f, names, ps, gs, per, views) -> None:
        t = self.step_count
        avgs = views(self.state[n]["exp_avg"] for n in names)
        sqs = views(self.state[n]["exp_avg_sq"] for n in names)
        torch._foreach_lerp_(avgs, gs, per([1 - b for b in f["beta1"]]))
        torch._foreach_mul_(sqs, per(f["beta2"]))
        torch._foreach_addcmul_(sqs, gs, gs, per([1 - b for b in f["beta2"]]))
        neg_step = [-lr / (1 - b1 ** t) for lr, b1 in zip(f["lr"], f["beta1"])]
        bc2_sqrt = [(1 - b2 ** t) ** 0.5 for b2 in f["beta2"]]
        denom = torch._foreach_sqrt(sqs)
        torch._foreach_div_(denom, per(bc2_sqrt))
        torch._foreach_add_(denom, per(f["eps"]))
        torch._foreach_addcdiv_(ps, avgs, denom, per(neg_step))

    def _rmsprop(self, f, names, ps, gs, per, views) -> None:
        sqs = views(self.state[n]["square_avg"] for n in names)
        bufs = views(self.state[n]["buf"] for n in names)
        torch._foreach_mul_(sqs, per(f["rho"]))
        torch._foreach_addcmul_(sqs, gs, gs, per([1 - r for r in f["rho"]]))
        avg = torch._foreach_sqrt(sqs)
        torch._foreach_add_(avg, per(f["eps"]))
        torch._foreach_mul_(bufs, per(f["momentum"]))
        torch._foreach_addcdiv_(bufs, gs, avg)
        torch._foreach_add_(ps, torch._foreach_mul(bufs, per([-lr for lr in f["lr"]])))

    def _sgd(self, params: dict[str, torch.Tensor], grads: dict[str, torch.Tensor]) -> None:
        c = self._float32()
        for name, p in params.items():
            g = grads[name]
            shape = (-1,) + (1,) * (p.dim() - 1)
            col = lambda key, shape=shape: c[key].view(shape)  # noqa: E731
            if c["any_wd"] and name in self.decayed:
                g = g.addcmul(p, col("wd"))
            buf = self.state.setdefault(name, {}).setdefault("buf", torch.zeros_like(p))
            mom = col("momentum")
            buf.mul_(mom).add_(g)
            update = torch.where(col("nesterov"), g + mom * buf, buf)
            p.addcmul_(update, col("neg_lr"))
