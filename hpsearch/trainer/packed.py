"""Many trials of the built-in trainer as one stacked model (``hpsearch run --pack K``).

:func:`fit_packed` trains K trials that share a shape (:func:`pack_key`: n_layers, hidden_units,
activation, batch_size, optimizer, batch_norm) as one model whose weights carry a leading
member axis: every Linear is one ``bmm``/``baddbmm`` over the K members, BatchNorm is one
``batch_norm`` over K·H features, and the optimizer updates the stacked tensors with per-member
learning rate, weight decay, momentum/betas/eps/rho as tensors. A small model uses a sliver of a
core or a GPU; K of them in one kernel pay the per-operation overhead once.

What a member sees is what :func:`hpsearch.trainer.fit.fit` would give the same trial:

* **Initialisation** is the sequential one: each member's MLP is built under
  ``torch.manual_seed(seed)`` exactly as ``fit`` builds it, then stacked.
* **Data order is per member**: each member draws its own seeded permutation each epoch (the
  batch is gathered per member, a cost of about 1/hidden_units of the first layer), so a packed
  trial sees the batches its sequential run sees.
* **Dropout** draws each member's masks from its own generator, seeded as ``fit``'s global
  stream: on CPU the masks equal the sequential ones. On CUDA they come from a per-member CUDA
  generator and differ from a sequential run's (same distribution).
* **BatchNorm** running statistics are per member (eval mode is correct); with one
  ``bn_momentum`` for the whole pack torch updates them, otherwise they are updated here.
* **Early stopping, divergence and pruning are per member**: a member that stops, diverges
  (NaN/inf loss: ``failed``, "diverged: ...") or is pruned (its ``report`` returned True:
  state ``pruned``) is cut out of the stacked tensors at the end of that epoch; the others go
  on unchanged.
* ``epoch_time``/``samples_per_s`` of a member are the pack's wall time: K trials shared it.

Results agree with sequential ``fit`` to float32 rounding (the batched kernels sum in another
order); tests/trainer/test_packed.py states the tolerance. fp16 (gradient scaling shared by the
pack would couple the members) is refused; fp32 and bf16 work.
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F

from hpsearch.errors import ConfigError
from hpsearch.trainer.config import TrainerSettings
from hpsearch.trainer.data import load_dataset
from hpsearch.trainer.fit import TrainResult, resolve_device
from hpsearch.trainer.model import ACTIVATION_LAYERS, MLP
from hpsearch.trainer.optim import make_schedule
from hpsearch.trainer.packed_optim import PackedOptimizer
from hpsearch.trainer.params import TrialParams
from hpsearch.trainer.packed_results import LazyCost, member_result, shape_cost

__all__ = ["fit_packed", "pack_key"]

Report = Callable[[int, dict[str, float]], Any]
_BN_EPS = 1e-5
#: Rows per evaluation chunk are chosen so that K·rows·width floats stay below this.
_EVAL_FLOATS = 1 << 24


def pack_key(p: TrialParams) -> tuple[Any, ...]:
    """Trials with equal keys can share one stacked model."""
    return (p.n_layers, p.hidden_units, p.activation, p.batch_size, p.optimizer, p.batch_norm)


@dataclass
class _Member:
    """One trial's bookkeeping (the tensors live stacked in :class:`_Pack`)."""

    p: TrialParams
    report: Report | None
    epochs: int
    patience: int
    lr_holder: torch.optim.Optimizer  # a one-parameter optimizer only its schedule steps
    schedule: Any
    best: dict[str, float] = field(default_factory=dict)
    best_state: dict[str, torch.Tensor] | None = None
    since_best: int = 0
    total_time: float = 0.0
    total_samples: int = 0
    epoch: int = 0
    error: str | None = None
    pruned: bool = False

    @property
    def lr(self) -> float:
        return float(self.lr_holder.param_groups[0]["lr"])


def fit_packed(
    params: Sequence[TrialParams], settings: TrainerSettings, *, seeds: Sequence[int],
    reports: Sequence[Report | None] | None = None, evaluate_test: bool = False,
    on_end: Callable[[int, TrainResult], None] | None = None,
) -> list[TrainResult]:
    """Train ``params`` (one shape, see :func:`pack_key`) as one stacked model.

    Returns one :class:`TrainResult` per trial, in order, as ``fit`` would (state ``complete``
    or ``failed``; ``pruned`` when its report returned True). ``reports[k](epoch, metrics)`` is
    called after each epoch of trial k with the metrics ``fit`` reports; a True answer stops
    that trial after the epoch (pruned). ``evaluate_test`` adds ``test_accuracy``/``test_loss``
    of each complete trial's best weights, as ``fit(..., evaluate_test=True)``.
    ``on_end(k, result)`` is called as soon as trial k ends before the pack does (early
    stopping, divergence, its last epoch while others go on; not when pruned: its report said
    so already), with the result it will have in the returned list; never with
    ``evaluate_test`` (the test split is evaluated once, at the end).

    Raises
    ------
    ConfigError, DataError
        Mixed shapes, fp16, or what ``fit`` would raise (device, data).
    """
    if not params or len(seeds) != len(params):
        raise ConfigError(f"fit_packed: {len(params)} trial(s) but {len(seeds)} seed(s)")
    if len({pack_key(p) for p in params}) != 1:
        raise ConfigError("fit_packed: the trials do not share one shape "
                          "(n_layers, hidden_units, activation, batch_size, optimizer, batch_norm)")
    reports = list(reports) if reports is not None else [None] * len(params)
    device = resolve_device(settings.device)
    if settings.precision == "fp16":
        raise ConfigError("fit_packed: fp16 needs a gradient scaler per trial; pack in fp32 or bf16")
    autocast: Callable[[], Any] = contextlib.nullcontext
    if settings.precision == "bf16":
        autocast = lambda: torch.autocast(device_type=device.type, dtype=torch.bfloat16)  # noqa: E731
    data = load_dataset(settings)
    pack = _Pack(params, seeds, data, device, autocast)
    members = []
    for p in params:
        epochs = p.epochs if p.epochs is not None else settings.epochs
        holder = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=p.learning_rate)
        schedule = make_schedule(holder, p, epochs)
        holder.step()  # no gradient: a no-op that tells the schedule the optimizer has stepped
        members.append(_Member(p, None, epochs, p.patience if p.patience is not None
                               else settings.patience, holder, schedule))
    for m, r in zip(members, reports):
        m.report = r
    ended = None
    if on_end is not None and not evaluate_test:
        results: dict[int, TrainResult] = {}
        cost = LazyCost(members[0].p, data, device)

        def ended(i: int) -> None:
            results[i] = member_result(members[i], {}, cost(), device)
            on_end(i, results[i])

    _train(pack, members, device, ended)
    out = _finish(pack, members, data, device, evaluate_test)
    if ended is not None:  # the early members' results as they were handed out
        out = [results.get(i, r) for i, r in enumerate(out)]
    return out


def _train(pack: _Pack, members: list[_Member], device: torch.device,
           ended: Callable[[int], None] | None = None) -> None:
    """Train until no member is live; ``ended(i)``: member i stopped (not pruned) while
    others train on."""
    live = list(range(len(members)))  # member indices, in the pack's current order
    epoch = 0
    while live:
        epoch += 1
        start = time.perf_counter()
        train_loss, n_seen = pack.train_epoch()
        val_loss, val_acc = pack.evaluate(pack.X_val, pack.y_val)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        elapsed = time.perf_counter() - start
        keep: list[int] = []
        for j, i in enumerate(live):
            m = members[i]
            m.epoch = epoch
            if not math.isfinite(train_loss[j]):
                m.error = f"diverged: train loss is {_nan_or_inf(train_loss[j])} at epoch {epoch}"
                continue
            if not math.isfinite(val_loss[j]):
                m.error = (f"diverged: validation loss is {_nan_or_inf(val_loss[j])} "
                           f"at epoch {epoch}")
                continue
            m.total_time += elapsed
            m.total_samples += n_seen
            metrics = {"train_loss": train_loss[j], "val_loss": val_loss[j],
                       "val_accuracy": val_acc[j], "epoch_time": elapsed,
                       "samples_per_s": n_seen / elapsed if elapsed > 0 else math.inf}
            if m.schedule is not None:
                m.schedule.step()
            if not m.best or (val_acc[j], -val_loss[j]) > (m.best["val_accuracy"],
                                                           -m.best["val_loss"]):
                m.best = {**metrics, "best_epoch": float(epoch)}
                m.best_state = pack.member_state(j)
                m.since_best = 0
            else:
                m.since_best += 1
            if m.report is not None and m.report(epoch, metrics):
                m.pruned = True
                continue
            if (m.since_best > 0 and m.since_best >= m.patience) or epoch >= m.epochs:
                continue
            keep.append(j)
        if len(keep) < len(live):
            if ended is not None and keep:  # the pack goes on without them: say so now
                kept = set(keep)
                for j, i in enumerate(live):
                    if j not in kept and not members[i].pruned:
                        ended(i)
            pack.select(keep)
            live = [live[j] for j in keep]
        pack.opt.set_lr([members[i].lr for i in live])


def _finish(pack: _Pack, members: list[_Member], data: Any, device: torch.device,
            evaluate_test: bool) -> list[TrainResult]:
    results = []
    tested = [i for i, m in enumerate(members)
              if m.error is None and not m.pruned and m.best_state is not None]
    test: dict[int, tuple[float, float]] = {}
    if evaluate_test and tested and len(data.y_test):
        names = members[tested[0]].best_state or {}
        pack.state = {n: torch.stack([members[i].best_state[n] for i in tested])  # type: ignore[index]
                      for n in names}
        loss, acc = pack.evaluate(pack.X_test, pack.y_test)
        test = {i: (loss[j], acc[j]) for j, i in enumerate(tested)}
    cost = (shape_cost(members[0].p, data, device)
            if any(m.best and m.error is None for m in members) else {})
    for i, m in enumerate(members):
        results.append(member_result(m, test.get(i, {}), cost, device))
    return results


def _nan_or_inf(value: float) -> str:
    return "nan" if math.isnan(value) else "inf"


class _Pack:
    """The stacked weights (``state``: name → tensor with a leading member axis), their
    optimizer, per-member generators, and the data on the device."""

    def __init__(self, params: Sequence[TrialParams], seeds: Sequence[int], data: Any,
                 device: torch.device, autocast: Callable[[], Any]) -> None:
        p0 = params[0]
        self.device, self.autocast = device, autocast
        self.n_layers, self.bn, self.batch_size = p0.n_layers, p0.batch_norm, p0.batch_size
        self.act = ACTIVATION_LAYERS[p0.activation]()

        def tensor(array: Any, dtype: torch.dtype) -> torch.Tensor:
            with warnings.catch_warnings():  # read-only cached arrays, never written here
                warnings.simplefilter("ignore", UserWarning)
                return torch.from_numpy(array).to(device=device, dtype=dtype)

        self.X_train, self.y_train = tensor(data.X_train, torch.float32), tensor(data.y_train, torch.long)
        self.X_val, self.y_val = tensor(data.X_val, torch.float32), tensor(data.y_val, torch.long)
        self.X_test, self.y_test = tensor(data.X_test, torch.float32), tensor(data.y_test, torch.long)
        states, self.drop_gens, self.perm_gens = [], [], []
        for p, seed in zip(params, seeds):
            # As fit(): the model is built right after manual_seed(seed); dropout then draws
            # from that global stream, the permutations from their own generator.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                model = MLP(data.n_features, data.n_classes, n_layers=p.n_layers,
                            hidden_units=p.hidden_units, activation=p.activation,
                            dropout=p.dropout, batch_norm=p.batch_norm, bn_momentum=p.bn_momentum)
                rng_state = torch.get_rng_state()
            states.append(_flat_state(model, p.n_layers, p.batch_norm))
            if device.type == "cpu":
                gen = torch.Generator()
                gen.set_state(rng_state)
            else:
                gen = torch.Generator(device=device).manual_seed(seed)
            self.drop_gens.append(gen)
            self.perm_gens.append(torch.Generator().manual_seed(seed))
        self.state = {n: torch.stack([s[n] for s in states]).to(device) for n in states[0]}
        self.buffer_names = [n for n in self.state if n.startswith(("rm", "rv"))]
        self.param_names = [n for n in self.state if n not in self.buffer_names]
        for n in self.param_names:
            self.state[n].requires_grad_(True)
        vec = lambda values: torch.tensor(values, dtype=torch.float32, device=device)  # noqa: E731
        self.dropout = [p.dropout for p in params]
        self.bn_momentum = vec([1.0 - p.bn_momentum for p in params])  # torch's convention
        self.bn_list = [1.0 - p.bn_momentum for p in params]
        self.one_bn_momentum = _one_value(self.bn_list)
        decayed = {n for n in self.param_names if n.startswith("w")}  # Linear weights only
        self.opt = PackedOptimizer(p0.optimizer, list(params), decayed, device)

    @property
    def size(self) -> int:
        return len(self.drop_gens)

    def select(self, keep: list[int]) -> None:
        """Keep only the members at positions ``keep`` (the others are done)."""
        index = torch.tensor(keep, dtype=torch.long, device=self.device)
        for n, t in self.state.items():
            t = t.detach().index_select(0, index)
            self.state[n] = t.requires_grad_(True) if n in self.param_names else t
        self.drop_gens = [self.drop_gens[j] for j in keep]
        self.perm_gens = [self.perm_gens[j] for j in keep]
        self.dropout = [self.dropout[j] for j in keep]
        self.bn_momentum = self.bn_momentum.index_select(0, index)
        self.bn_list = [self.bn_list[j] for j in keep]
        self.one_bn_momentum = _one_value(self.bn_list)
        self.opt.select(index)

    def member_state(self, j: int) -> dict[str, torch.Tensor]:
        return {n: t[j].detach().clone() for n, t in self.state.items()}

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor, *, train: bool) -> torch.Tensor:
        """Logits ``(K, batch, classes)`` of ``x`` ``(K, batch, features)``."""
        s, h = self.state, x
        for layer in range(self.n_layers):
            w = s[f"w{layer}"].transpose(1, 2)
            if self.bn:
                h = self._batch_norm(torch.bmm(h, w), layer, train)
            else:
                h = torch.baddbmm(s[f"b{layer}"], h, w)
            h = self.act(h)
            if train and any(self.dropout):
                h = h * self._dropout_masks(h.shape)
        return torch.baddbmm(s["bo"], h, s["wo"].transpose(1, 2))

    def _batch_norm(self, z: torch.Tensor, layer: int, train: bool) -> torch.Tensor:
        # K members of H features are K·H features of one BatchNorm: each is normalised over
        # its own batch, as in the member's own BatchNorm1d.
        k, b, h = z.shape
        flat = z.transpose(0, 1).reshape(b, k * h)
        s = self.state
        gamma, beta = s[f"g{layer}"].reshape(-1), s[f"be{layer}"].reshape(-1)
        rm, rv = s[f"rm{layer}"], s[f"rv{layer}"]
        if not train:
            out = F.batch_norm(flat, rm.view(-1), rv.view(-1), gamma, beta, False, 0.0, _BN_EPS)
        elif self.one_bn_momentum is not None:
            out = F.batch_norm(flat, rm.view(-1), rv.view(-1), gamma, beta, True,
                               self.one_bn_momentum, _BN_EPS)
        else:
            out = F.batch_norm(flat, None, None, gamma, beta, True, 0.0, _BN_EPS)
            with torch.no_grad():
                zd = z.detach().double()
                m = self.bn_momentum.double().unsqueeze(1)
                rm.copy_(m * zd.mean(1) + (1 - m) * rm.double())
                rv.copy_(m * zd.var(1) + (1 - m) * rv.double())
        return out.view(b, k, h).transpose(0, 1)

    def _dropout_masks(self, shape: torch.Size) -> torch.Tensor:
        # What nn.Dropout does on CPU: bernoulli(1 - p) from the global stream, divided by
        # 1 - p; here each member's own stream. A member without dropout gets ones (and, as
        # in its sequential run, draws nothing).
        masks = torch.ones(shape, device=self.device)
        for j, (p, gen) in enumerate(zip(self.dropout, self.drop_gens)):
            if p > 0:
                masks[j].bernoulli_(1 - p, generator=gen).div_(1 - p)
        return masks

    # ------------------------------------------------------------------ epochs
    def train_epoch(self) -> tuple[list[float], int]:
        """One epoch; each member's mean training loss, and the examples seen per member."""
        X, y, bs, k = self.X_train, self.y_train, self.batch_size, self.size
        n = len(y)
        perms = torch.stack([torch.randperm(n, generator=g) for g in self.perm_gens])
        perms = perms.to(self.device)
        stop = n - 1 if n % bs == 1 and n > 1 else n  # as fit(): skip a last batch of one
        names = self.param_names
        losses: list[torch.Tensor] = []
        for start in range(0, stop, bs):
            idx = perms[:, start:min(start + bs, stop)].reshape(-1)
            xb = X.index_select(0, idx).view(k, -1, X.shape[1])  # each member's own batch
            with self.autocast():
                logits = self.forward(xb, train=True)
            per_member = F.cross_entropy(logits.float().flatten(0, 1), y.index_select(0, idx),
                                         reduction="none").view(k, -1).mean(1)
            # The members share no weight: the gradient of the sum is each member's own.
            grads = torch.autograd.grad(per_member.sum(), [self.state[n] for n in names])
            self.opt.step({n: self.state[n] for n in names}, dict(zip(names, grads)))
            losses.append(per_member.detach())
        sizes = torch.full((len(losses),), float(bs), device=self.device)
        sizes[-1] = stop - bs * (len(losses) - 1)
        means = (sizes @ torch.stack(losses).float()) / stop
        return means.tolist(), stop

    @torch.no_grad()
    def evaluate(self, X: torch.Tensor, y: torch.Tensor) -> tuple[list[float], list[float]]:
        """Each member's mean cross-entropy and accuracy on ``(X, y)`` in eval mode."""
        k = next(iter(self.state.values())).shape[0]
        width = max(X.shape[1], self.state["wo"].shape[2])
        chunk = max(64, _EVAL_FLOATS // max(1, k * width))
        parts = []
        for i in range(0, len(X), chunk):
            xb = X[i:i + chunk]
            with self.autocast():
                parts.append(self.forward(xb.expand(k, *xb.shape), train=False).float())
        logits = torch.cat(parts, dim=1)
        losses = F.cross_entropy(logits.flatten(0, 1), y.repeat(k), reduction="none")
        loss = losses.view(k, -1).mean(1)
        correct = (logits.argmax(dim=2) == y).sum(1)
        return loss.tolist(), (correct.double() / max(1, len(y))).tolist()


def _one_value(values: list[float]) -> float | None:
    """The value when all are equal (torch's BatchNorm then updates the running statistics)."""
    return values[0] if len(set(values)) == 1 else None


def _flat_state(model: MLP, n_layers: int, batch_norm: bool) -> dict[str, torch.Tensor]:
    """The MLP's tensors by stable names: w/b (Linear), g/be/rm/rv (BatchNorm), wo/bo (out)."""
    linears = [m for m in model.layers if isinstance(m, torch.nn.Linear)]
    norms = [m for m in model.layers if isinstance(m, torch.nn.BatchNorm1d)]
    out: dict[str, torch.Tensor] = {}
    for i in range(n_layers):
        out[f"w{i}"] = linears[i].weight.detach()
        if batch_norm:
            bn = norms[i]
            assert bn.running_mean is not None and bn.running_var is not None  # tracked: the default
            out[f"g{i}"], out[f"be{i}"] = bn.weight.detach(), bn.bias.detach()
            out[f"rm{i}"], out[f"rv{i}"] = bn.running_mean, bn.running_var
        else:
            out[f"b{i}"] = linears[i].bias.detach().unsqueeze(0)
    out["wo"], out["bo"] = linears[-1].weight.detach(), linears[-1].bias.detach().unsqueeze(0)
    return out
