"""The training loop of the built-in trainer.

:func:`fit` fits an :class:`~hpsearch.trainer.model.MLP` on a dataset from
:func:`~hpsearch.trainer.data.load_dataset` and returns the metrics of the best epoch.

Design choices an engineer may want to know:

* **Data stays put.** The split tensors are created once per trial (on CUDA they are copied to
  the device once); each epoch draws a seeded permutation and takes batches by index slicing --
  no ``DataLoader``, no per-batch host copies. A trailing batch of a single example is skipped
  (BatchNorm cannot normalise one value; the permutation changes each epoch).
* **No host syncs per batch.** The epoch's loss is summed on the device and read once per
  epoch; a NaN/inf sum (or validation loss) ends the trial as *diverged* (state ``failed``),
  never an exception.
* **Evaluation** runs in ``eval()`` mode under ``no_grad`` (BatchNorm running statistics, no
  dropout): a prediction does not depend on the rest of the batch.
* **Early stopping** on validation accuracy (ties broken by lower validation loss) with Keras
  semantics: training stops only at an epoch that did not improve, once ``patience`` such
  epochs came in a row (``patience = 0`` stops at the first epoch that does not improve; an
  improving run is never stopped). The best epoch's weights are restored at the end. The
  optional test split is evaluated once, with them, only when the caller asks
  (``evaluate_test=True``, for the chosen configuration): a search's trials never see it.
* **Pruning.** ``report(epoch, metrics)`` returning True stops training after that epoch; the
  result is ``state="pruned"`` with the best epoch's metrics and weights and ``pruned_step``.
* **Seeding.** Initialisation, dropout and the permutations derive from ``seed`` inside
  ``torch.random.fork_rng``, so the caller's global RNG state is untouched and the same seed on
  CPU gives identical metrics. The thread count is left to the caller (the runner decides).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import torch
import torch.nn.functional as F

from hpsearch.errors import ConfigError
from hpsearch.trainer.config import TrainerSettings
from hpsearch.trainer.data import Dataset, load_dataset
from hpsearch.trainer.model import MLP, predict_logits
from hpsearch.trainer.optim import make_optimizer, make_schedule
from hpsearch.trainer.params import TrialParams

__all__ = ["TrainResult", "TrainingRun", "fit", "resolve_device", "evaluate", "cost_metrics",
           "INFERENCE_ROWS", "INFERENCE_REPEATS"]

#: ``inference_ms`` is the time to predict this many examples ...
INFERENCE_ROWS = 1000
#: ... the median of this many timed repeats, after one untimed warm-up.
INFERENCE_REPEATS = 5

log = logging.getLogger(__name__)

Report = Callable[[int, dict[str, float]], Any]


@dataclass
class TrainResult:
    """Outcome of one training run.

    Attributes
    ----------
    state:
        ``"complete"``, ``"failed"`` (diverged, CUDA out of memory) or ``"pruned"`` (``report``
        asked to stop).
    metrics:
        The best epoch's ``val_accuracy``, ``val_loss``, ``train_loss`` (and ``test_accuracy``,
        ``test_loss`` when asked for with ``evaluate_test``), plus ``best_epoch``, ``epochs_run``, and the
        mean ``epoch_time`` and ``samples_per_s`` over the epochs run. A failed run keeps the
        metrics of its best epoch so far (empty if it failed in the first epoch).
    error:
        Why the run failed, e.g. ``"diverged: train loss is nan at epoch 3"``.
    device:
        The device the run used (``"cpu"``, ``"cuda:0"``).
    pruned_step:
        The epoch after which ``report`` asked to stop (state ``"pruned"``), else None.
    state_dict:
        The best epoch's weights as the :class:`~hpsearch.trainer.model.MLP`'s state dict
        (complete runs; what ``[trainer] keep_best`` saves, :mod:`hpsearch.trainer.checkpoint`).
    """

    state: str
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    device: str = "cpu"
    pruned_step: int | None = None
    state_dict: dict[str, Any] | None = None  # the weights a checkpoint keeps


class _Diverged(Exception):
    """Internal: the training loss became NaN or infinite."""


def resolve_device(name: str) -> torch.device:
    """Map ``auto|cpu|cuda|cuda:N`` to a device, raising :class:`ConfigError` if unavailable."""
    if name == "auto":
        return torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ConfigError(f"trainer.device: {name!r} requested but CUDA is not available")
    device = torch.device(name)
    index = 0 if device.index is None else device.index
    if index >= torch.cuda.device_count():
        raise ConfigError(f"trainer.device: {name!r} requested but only "
                          f"{torch.cuda.device_count()} CUDA device(s) exist")
    return torch.device("cuda", index)


AutocastFactory = Callable[[], contextlib.AbstractContextManager[Any]]


def _autocast(device: torch.device, precision: str) -> AutocastFactory:
    if precision == "fp32":
        return contextlib.nullcontext
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return lambda: torch.autocast(device_type=device.type, dtype=dtype)


def _precision_for(settings: TrainerSettings, device: torch.device) -> str:
    if settings.precision == "fp16" and device.type != "cuda":
        if settings.device == "auto":
            log.warning("precision fp16 needs CUDA; training on %s in fp32", device)
            return "fp32"
        raise ConfigError(f"trainer.precision: 'fp16' needs a CUDA device, not {device}")
    return settings.precision


def evaluate(
    model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor,
    autocast: AutocastFactory = contextlib.nullcontext,
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on ``(X, y)``, in eval mode."""
    with autocast():
        logits = predict_logits(model, X).float()
    loss = F.cross_entropy(logits, y)
    correct = int((logits.argmax(dim=1) == y).sum())
    return float(loss), correct / max(1, len(y))


def cost_metrics(model: torch.nn.Module, n_features: int, device: torch.device,
                 autocast: AutocastFactory = contextlib.nullcontext) -> dict[str, float]:
    """What a model costs to keep and to use: ``n_params`` (trainable and not) and
    ``inference_ms``, the time to predict :data:`INFERENCE_ROWS` examples on ``device`` in eval
    mode, warm (one untimed pass first), the median of :data:`INFERENCE_REPEATS` passes.

    The input is zeros, not drawn: timing must not move the random streams of what follows,
    and an MLP's cost does not depend on the values."""
    n_params = sum(p.numel() for p in model.parameters())
    x = torch.zeros(INFERENCE_ROWS, n_features, device=device)
    was_training = model.training
    model.eval()
    times = []
    try:
        with torch.no_grad(), autocast():
            for i in range(INFERENCE_REPEATS + 1):
                start = time.perf_counter()
                model(x)
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                if i:  # the first pass warms caches and kernels up
                    times.append(time.perf_counter() - start)
    finally:
        model.train(was_training)
    times.sort()
    return {"n_params": float(n_params), "inference_ms": 1000.0 * times[len(times) // 2]}


def fit(
    params: TrialParams | Mapping[str, Any],
    settings: TrainerSettings,
    *,
    seed: int,
    report: Report | None = None,
    evaluate_test: bool = False,
) -> TrainResult:
    """Train the MLP with ``params`` on ``settings.dataset`` and return the best epoch's metrics.

    Parameters
    ----------
    params:
        The searched parameters, checked (:meth:`TrialParams.from_mapping`); a plain mapping
        by name is checked here. ``epochs``/``patience``, when set, override ``settings``.
        Early stopping: training ends at an epoch that did not improve the validation accuracy
        (ties: lower validation loss) once ``patience`` non-improving epochs came in a row
        (Keras semantics: ``patience = 0`` stops at the first one). The model ends with the
        best epoch's weights.
    settings:
        The fixed trainer settings (dataset, split, device, precision).
    seed:
        Seeds initialisation, dropout and the per-epoch permutations.
    report:
        Called as ``report(epoch, metrics)`` after every epoch (epochs count from 1) with
        ``train_loss``, ``val_loss``, ``val_accuracy``, ``epoch_time`` and ``samples_per_s``.
        A True answer stops training after that epoch (a pruned trial: ``state="pruned"``,
        the best epoch's metrics and weights kept). Exceptions it raises propagate.
    evaluate_test:
        Evaluate the best weights on the test split (``test_fraction > 0``) and add
        ``test_accuracy``/``test_loss``. Off for a search's trials, so that nothing can be
        chosen on the test set; on for the chosen configuration only.

    Raises
    ------
    ConfigError, DataError
        Before training, for bad params, settings or data. A run that diverges or runs out of
        CUDA memory is returned with ``state="failed"`` instead.
    """
    p = params if isinstance(params, TrialParams) else TrialParams.from_mapping(params)
    epochs = p.epochs if p.epochs is not None else settings.epochs
    patience = p.patience if p.patience is not None else settings.patience
    device = resolve_device(settings.device)
    precision = _precision_for(settings, device)
    data = load_dataset(settings)

    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        try:
            run = TrainingRun(p, data, device, precision, generator, report)
            result = run.fit(epochs, patience, evaluate_test=evaluate_test)
        except torch.cuda.OutOfMemoryError as exc:  # copying the data or building the model
            result = TrainResult("failed", {}, _oom_message(exc), str(device))
    if result.state == "failed" and device.type == "cuda":
        # The run's tensors are unreachable now; hand their cached blocks back to the driver so
        # the next trial in this process starts from a clean device.
        torch.cuda.empty_cache()
    return result


def _nan_or_inf(value: float) -> str:
    return "nan" if math.isnan(value) else "inf"


def _oom_message(exc: BaseException) -> str:
    return f"CUDA out of memory: {str(exc).splitlines()[0] if str(exc) else 'no details'}"


class TrainingRun:
    """State of one training run (kept together so ``fit`` stays readable)."""

    def __init__(self, p: TrialParams, data: Dataset, device: torch.device, precision: str,
                 generator: torch.Generator, report: Report | None) -> None:
        self.p, self.device, self.generator, self.report = p, device, generator, report
        self.autocast = _autocast(device, precision)
        # fp16 needs loss scaling against underflowing gradients; bf16 has fp32's range.
        self.scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None

        def tensor(array: Any, dtype: torch.dtype) -> torch.Tensor:
            # from_numpy shares the cached arrays' memory on CPU (no copy per trial). They are
            # read-only and nothing here writes to them, so torch's warning does not apply.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                t = torch.from_numpy(array)
            return t.to(device=device, dtype=dtype)

        self.X_train = tensor(data.X_train, torch.float32)
        self.y_train = tensor(data.y_train, torch.long)
        self.X_val, self.y_val = tensor(data.X_val, torch.float32), tensor(data.y_val, torch.long)
        self.X_test = tensor(data.X_test, torch.float32)
        self.y_test = tensor(data.y_test, torch.long)
        self.model = MLP(
            data.n_features, data.n_classes, n_layers=p.n_layers,
            hidden_units=p.hidden_units, activation=p.activation, dropout=p.dropout,
            batch_norm=p.batch_norm, bn_momentum=p.bn_momentum,
        ).to(device)
        self.optimizer = make_optimizer(self.model.decay_groups(p.weight_decay), p)

    def fit(self, epochs: int, patience: int, *, evaluate_test: bool = False) -> TrainResult:
        """Train up to ``epochs``; stop at a non-improving epoch once ``patience`` came in a row,
        or after an epoch whose ``report`` answered True (pruned).

        On return ``self.model`` holds the best epoch's weights (unless the run failed).
        """
        schedule = make_schedule(self.optimizer, self.p, epochs)
        best: dict[str, float] = {}
        best_state: dict[str, torch.Tensor] | None = None
        since_best, epoch, total_time, total_samples = 0, 0, 0.0, 0
        error: str | None = None
        pruned_step: int | None = None
        try:
            for epoch in range(1, epochs + 1):
                start = time.perf_counter()
                train_loss, n_seen = self._train_epoch(epoch)
                val_loss, val_accuracy = evaluate(self.model, self.X_val, self.y_val,
                                                  self.autocast)
                if not math.isfinite(val_loss):  # finite batches, but the weights blew up
                    raise _Diverged(f"validation loss is {_nan_or_inf(val_loss)} at epoch {epoch}")
                if self.device.type == "cuda":
                    torch.cuda.synchronize(self.device)
                elapsed = time.perf_counter() - start
                total_time += elapsed
                total_samples += n_seen
                metrics = {"train_loss": train_loss, "val_loss": val_loss,
                           "val_accuracy": val_accuracy, "epoch_time": elapsed,
                           "samples_per_s": n_seen / elapsed if elapsed > 0 else math.inf}
                if schedule is not None:
                    schedule.step()
                if not best or (val_accuracy, -val_loss) > (best["val_accuracy"],
                                                            -best["val_loss"]):
                    best = {**metrics, "best_epoch": float(epoch)}
                    best_state = {k: v.detach().clone() for k, v in
                                  self.model.state_dict().items()}
                    since_best = 0
                else:
                    since_best += 1
                if self.report is not None and self.report(epoch, metrics):
                    pruned_step = epoch
                    log.debug("pruned after epoch %d (best %s)", epoch, best["best_epoch"])
                    break
                if since_best > 0 and since_best >= patience:
                    log.debug("early stop at epoch %d (best %s)", epoch, best["best_epoch"])
                    break
        except _Diverged as exc:
            error = f"diverged: {exc}"
        except torch.cuda.OutOfMemoryError as exc:
            error = _oom_message(exc)
        result = dict(best)
        result.pop("epoch_time", None)
        result.pop("samples_per_s", None)
        if best:
            result["epochs_run"] = float(epoch)
            result["epoch_time"] = total_time / max(1, epoch)
            result["samples_per_s"] = total_samples / total_time if total_time > 0 else 0.0
        if error is None and best_state is not None:
            self.model.load_state_dict(best_state)
            if evaluate_test and pruned_step is None and len(self.y_test):
                result["test_loss"], result["test_accuracy"] = evaluate(
                    self.model, self.X_test, self.y_test, self.autocast)
        if error is None and best:
            result["train_seconds"] = total_time
            result.update(cost_metrics(self.model, self.X_val.shape[1], self.device,
                                       self.autocast))
        state = "failed" if error is not None else "pruned" if pruned_step is not None else "complete"
        return TrainResult(state=state, metrics=result, error=error, device=str(self.device),
                           pruned_step=pruned_step if error is None else None,
                           state_dict=best_state if state == "complete" else None)  # kept

    def _train_epoch(self, epoch: int) -> tuple[float, int]:
        model, optimizer, X, y = self.model, self.optimizer, self.X_train, self.y_train
        n, batch_size = len(y), self.p.batch_size
        perm = torch.randperm(n, generator=self.generator).to(self.device)
        stop = n - 1 if n % batch_size == 1 and n > 1 else n  # skip a last batch of one
        losses: list[torch.Tensor] = []  # summed once per epoch: no per-batch host sync or op
        model.train()
        for start in range(0, stop, batch_size):
            idx = perm[start:min(start + batch_size, stop)]
            xb, yb = X[idx], y[idx]
            with self.autocast():
                loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad(set_to_none=True)
            if self.scaler is None:
                loss.backward()
                optimizer.step()
            else:
                self.scaler.scale(loss).backward()
                self.scaler.step(optimizer)
                self.scaler.update()
            losses.append(loss.detach())
        sizes = torch.full((len(losses),), float(batch_size), device=self.device)
        sizes[-1] = stop - batch_size * (len(losses) - 1)  # the last batch may be smaller
        mean = float(torch.stack(losses).float() @ sizes) / stop
        if not math.isfinite(mean):
            raise _Diverged(f"train loss is {_nan_or_inf(mean)} at epoch {epoch}")
        return mean, stop
