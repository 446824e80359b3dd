"""What a checkpoint of the built-in trainer holds, and how it comes back as a model.

A checkpoint is one ``torch.save`` file of plain data (loadable with ``weights_only=True``, so
opening one runs no pickled code)::

    {"format": "hpsearch-checkpoint", "version": 1,
     "trial": 17, "metrics": {"val_accuracy": 0.975, ...},
     "params": {...the trial's params...},
     "model": {"n_features": 64, "n_classes": 10, "n_layers": 2, "hidden_units": 128,
               "activation": "relu", "dropout": 0.1, "batch_norm": True, "bn_momentum": 0.9},
     "state_dict": {...the MLP's best-epoch weights, on the CPU...},
     "mean": tensor(float64), "std": tensor(float64),   # the training split's statistics
     "classes": [0, 1, ...]}                            # the original label of each output

:func:`load_model` rebuilds the :class:`~hpsearch.trainer.model.MLP` in eval mode and attaches
``predict(X)``, which standardises raw inputs with the stored statistics exactly as the trainer
did (float64 arithmetic, then float32) and returns the original labels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

# Imported only by what loads or saves a model (the trainer, `best --weights`,
# hpsearch.load_model), never by the CLI's start-up.
import numpy as np
import torch

__all__ = ["FORMAT", "VERSION", "checkpoint_of", "save_checkpoint", "read_checkpoint",
           "load_model", "LoadedModel"]

FORMAT = "hpsearch-checkpoint"
VERSION = 1

#: The model's shape: the MLP's keyword arguments, read from a trial's params.
_SHAPE = ("n_layers", "hidden_units", "activation", "dropout", "batch_norm", "bn_momentum")


def checkpoint_of(state_dict: Mapping[str, Any], params: Any, data: Any, *,
                  params_dict: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The checkpoint of one trained model: ``state_dict`` (the MLP's), ``params`` (the
    trial's :class:`~hpsearch.trainer.params.TrialParams`), ``data`` (its
    :class:`~hpsearch.trainer.data.Dataset`: statistics and class labels). ``params_dict``
    (the trial's params as stored) is kept for the record; the objective adds the trial's
    number and metrics when the checkpoint is written."""

    model = {name: getattr(params, name) for name in _SHAPE}
    model.update(n_features=int(data.n_features), n_classes=int(data.n_classes))
    return {
        "format": FORMAT, "version": VERSION,
        "params": dict(params_dict) if params_dict is not None else {},
        "model": model,
        "state_dict": {k: v.detach().cpu().clone() for k, v in state_dict.items()},
        "mean": torch.as_tensor(data.mean, dtype=torch.float64),
        "std": torch.as_tensor(data.std, dtype=torch.float64),
        "classes": [_plain(c) for c in data.classes],
    }


def save_checkpoint(checkpoint: Mapping[str, Any], path: str | Path) -> None:
    """Write ``checkpoint`` to ``path`` (plainly: :mod:`hpsearch.storage.artifacts` makes the
    write atomic)."""

    torch.save(dict(checkpoint), str(path))


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint at ``path``; :class:`~hpsearch.errors.ConfigError` naming the file when
    it is not one (missing, not a torch file, another format)."""
    from hpsearch.errors import ConfigError

    try:
        data = torch.load(str(path), map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such checkpoint file") from exc
    except Exception as exc:  # noqa: BLE001 - unpickling errors of every kind
        raise ConfigError(f"{path}: not a checkpoint of hpsearch ({type(exc).__name__})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(f"{path}: not a checkpoint of hpsearch's built-in trainer")
    if data.get("version") != VERSION:
        raise ConfigError(f"{path}: checkpoint version {data.get('version')!r}; this hpsearch "
                          f"reads version {VERSION}")
    return data


def load_model(path: str | Path, *, device: str = "cpu") -> LoadedModel:
    """The trained model of a checkpoint (``hpsearch best --weights``, or a kept file): a
    :class:`torch.nn.Module` in eval mode with a :meth:`~LoadedModel.predict` that applies
    the stored input standardisation and answers in the original labels.

    Example::

        model = hpsearch.load_model("model.pt")
        labels = model.predict(X_raw)          # numpy array or tensor of raw features
        logits = model(torch.as_tensor(model.standardise(X_raw)))
    """
    from hpsearch.trainer.model import MLP

    data = read_checkpoint(path)
    shape = dict(data["model"])
    n_features, n_classes = shape.pop("n_features"), shape.pop("n_classes")
    net = MLP(n_features, n_classes, **shape)
    net.load_state_dict(data["state_dict"])
    model = LoadedModel(net, data)
    return model.to(device).eval()


class LoadedModel(torch.nn.Module):
    """A kept model: the MLP (``net``) plus what it needs to read raw inputs."""

    def __init__(self, net: torch.nn.Module, checkpoint: Mapping[str, Any]) -> None:
        super().__init__()
        self.net = net
        self.mean = checkpoint["mean"].numpy()
        self.std = checkpoint["std"].numpy()
        self.classes = list(checkpoint["classes"])
        self.params = dict(checkpoint.get("params") or {})
        self.trial: int | None = checkpoint.get("trial")
        self.metrics = dict(checkpoint.get("metrics") or {})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of standardised inputs (as the trainer fed them)."""
        return self.net(x)

    def standardise(self, X: Any) -> np.ndarray:
        """Raw features as the trainer saw them: ``((X - mean) / std)`` in float64, then
        float32 (the exact arithmetic of :mod:`hpsearch.trainer.data`)."""
        if isinstance(X, torch.Tensor):
            X = X.detach().cpu().numpy()
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != len(self.mean):
            raise ValueError(f"expected rows of {len(self.mean)} features, got shape {X.shape}")
        return ((X - self.mean) / self.std).astype(np.float32)

    @torch.no_grad()
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (columns in the order of :attr:`classes`) of raw inputs."""
        from hpsearch.trainer.model import predict_logits

        device = next(self.net.parameters()).device
        x = torch.from_numpy(self.standardise(X)).to(device)
        was_training = self.training
        self.eval()
        try:
            return torch.softmax(predict_logits(self.net, x).float(), dim=1).cpu().numpy()
        finally:
            self.train(was_training)

    def predict(self, X: Any) -> np.ndarray:
        """The original labels predicted for raw inputs ``X`` (rows of features)."""
        index = self.predict_proba(X).argmax(axis=1)
        return np.asarray(self.classes, dtype=object if _mixed(self.classes) else None)[index]


def _mixed(classes: list[Any]) -> bool:
    return len({type(c) for c in classes}) > 1


def _plain(value: Any) -> Any:
    """A label as plain data (``weights_only`` loading accepts str, int, float, bool)."""
    if isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "item"):
        return value.item()
    return str(value)
