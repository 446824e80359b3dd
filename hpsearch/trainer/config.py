"""The fixed settings of the built-in trainer: :class:`TrainerSettings`, a space file's
``[trainer]`` table (dataset, split, epochs, device, precision).

Imported by the space validator, so it must start fast: no torch, numpy or scikit-learn. The
searched parameters live in :mod:`hpsearch.trainer.params`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Mapping

from hpsearch.errors import ConfigError, DataError
from hpsearch.trainer.params import is_number

__all__ = ["MAX_KEEP_BEST", "PRECISIONS", "BUILTIN_DATASETS", "DATASET_SUFFIXES",
           "REPORTED_METRICS", "TrainerSettings"]

PRECISIONS = ("fp32", "bf16", "fp16")
BUILTIN_DATASETS = ("digits", "synthetic")
DATASET_SUFFIXES = (".csv", ".npz", ".parquet")

#: More kept checkpoints than this is a mistake (a folder of thousands of files), not a choice.
MAX_KEEP_BEST = 1000

REPORTED_METRICS = ("val_accuracy", "val_loss", "train_loss", "test_accuracy", "test_loss",
                    "best_epoch", "epochs_run", "epoch_time", "samples_per_s", "n_params",
                    "train_seconds", "inference_ms")
"""The metrics a built-in trial reports (test_* only with ``evaluate_test``): a space may
optimise or constrain any of them (checked at ``validate``)."""

_DEVICE_HELP = "auto, cpu, cuda or cuda:N"


@dataclass(frozen=True)
class TrainerSettings:
    """The fixed (not searched) settings of the built-in trainer: a space file's ``[trainer]``.

    Attributes
    ----------
    dataset:
        ``"digits"`` (scikit-learn's bundled 8×8 digits), ``"synthetic"`` (seeded, any size) or
        a path to a ``.csv``, ``.npz`` (arrays ``X`` and ``y``) or ``.parquet`` file. Relative
        paths are resolved against ``base_dir``.
    label_column:
        CSV/Parquet: the label column's name (default: the last column).
    n_samples, n_features, n_classes:
        Size of the synthetic set (ignored for other datasets).
    val_fraction, test_fraction:
        Shares of the stratified validation and test splits. The test split is seen only by the
        final (best) model.
    split_seed:
        Seed of the split, the same for every trial of a study (the trial seed drives the rest).
    epochs, patience:
        Training length and early-stopping patience: training stops at an epoch that did not
        improve the validation accuracy once ``patience`` such epochs came in a row (Keras
        semantics; 0 stops at the first epoch that does not improve). The params
        ``epochs``/``patience`` override them per trial.
    device:
        ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``.
    precision:
        ``fp32``, ``bf16`` or ``fp16`` autocast; fp16 only on CUDA (with a gradient scaler).
    threads:
        torch's CPU threads per trial: ``"auto"`` (1 for a small model, up to 4 for a large
        one, within the process's share of the idle cores; see :mod:`hpsearch.trainer.threads`)
        or a number.
    pack:
        Train up to this many trials of one shape at once as one stacked model
        (``run --pack`` overrides it; see :mod:`hpsearch.trainer.packed`).
    keep_best:
        Keep the checkpoints of the study's best this-many complete feasible trials (several
        objectives: of its first this-many Pareto fronts) in its artifact folder (0: keep
        none; see :mod:`hpsearch.storage.artifacts`).
    base_dir:
        Folder of the space file, against which a relative dataset path is resolved.
    """

    dataset: str = "digits"
    label_column: str | None = None
    n_samples: int = 2000
    n_features: int = 20
    n_classes: int = 3
    val_fraction: float = 0.2
    test_fraction: float = 0.0
    split_seed: int = 0
    epochs: int = 30
    patience: int = 5
    device: str = "auto"
    precision: str = "fp32"
    threads: int | str = "auto"
    pack: int | str = 1  # or "auto"; trials trained at once as one stacked model (run --pack)
    keep_best: int = 1  # checkpoints kept of the study's best trials (README)
    base_dir: str = "."

    def __post_init__(self) -> None:
        self.validate()

    def validate(self, source: str = "trainer") -> None:
        """Raise :class:`ConfigError` naming the first bad field (``{source}: trainer.x: ...``)."""

        def bad(field: str, what: str) -> ConfigError:
            value = getattr(self, field)
            return ConfigError(f"{source}: trainer.{field}: {value!r} {what}")

        if not isinstance(self.dataset, str) or not self.dataset:
            raise bad("dataset", "must be digits, synthetic or a path to a .csv/.npz/.parquet file")
        if self.label_column is not None and not isinstance(self.label_column, str):
            raise bad("label_column", "must be a column name")
        for name, low in (("n_samples", 2), ("n_features", 1), ("n_classes", 2),
                          ("epochs", 1), ("patience", 0), ("split_seed", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise bad(name, f"must be an integer >= {low}")
        for name in ("val_fraction", "test_fraction"):
            value = getattr(self, name)
            if not is_number(value) or not 0 <= value < 1:
                raise bad(name, "must be a number in [0, 1)")
        if not 0 < self.val_fraction:
            raise bad("val_fraction", "must be positive (early stopping needs a validation split)")
        if self.val_fraction + self.test_fraction >= 0.9:
            raise bad("test_fraction", f"plus val_fraction ({self.val_fraction}) must be below 0.9")
        if not _valid_device(self.device):
            raise bad("device", f"must be {_DEVICE_HELP}")
        if self.precision not in PRECISIONS:
            raise bad("precision", f"must be one of {', '.join(PRECISIONS)}")
        if self.threads != "auto" and (not isinstance(self.threads, int)
                                       or isinstance(self.threads, bool) or self.threads < 1):
            raise bad("threads", "must be \"auto\" or an integer >= 1")
        if self.pack != "auto" and (not isinstance(self.pack, int)
                                    or isinstance(self.pack, bool) or self.pack < 1):
            raise bad("pack", "must be \"auto\" or an integer >= 1")
        if (not isinstance(self.keep_best, int) or isinstance(self.keep_best, bool)
                or not 0 <= self.keep_best <= MAX_KEEP_BEST):
            raise bad("keep_best", f"must be an integer from 0 to {MAX_KEEP_BEST}")
        if not isinstance(self.base_dir, str):
            raise bad("base_dir", "must be a folder path")

    @classmethod
    def from_dict(
        cls, d: Mapping[str, Any], *, source: str = "trainer", base_dir: str = "."
    ) -> TrainerSettings:
        """Build settings from a ``[trainer]`` table, rejecting unknown keys and bad values.

        ``base_dir`` (the space file's folder) is used unless the table sets it itself.
        """
        known = [f.name for f in fields(cls)]
        for key in d:
            if key not in known:
                raise ConfigError(
                    f"{source}: trainer.{key}: unknown setting; known: {', '.join(known)}"
                )
        values = {"base_dir": base_dir, **d}
        # Validate with the caller's source in the message; __post_init__ would say "trainer".
        obj = object.__new__(cls)
        for key, value in ((f.name, values.get(f.name, f.default)) for f in fields(cls)):
            object.__setattr__(obj, key, value)
        obj.validate(source)
        return obj

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (JSON/TOML-friendly)."""
        return asdict(self)

    def dataset_path(self) -> Path | None:
        """The dataset file, resolved against ``base_dir``; ``None`` for digits and synthetic.

        Raises :class:`DataError` when the name is neither built in nor a known file kind. The
        file itself is not touched (see :meth:`check_dataset_file`).
        """
        name = self.dataset
        if name in BUILTIN_DATASETS:
            return None
        path = Path(name)
        if not path.is_absolute():
            path = Path(self.base_dir) / path
        path = path.resolve()
        if path.suffix.lower() not in DATASET_SUFFIXES:
            raise DataError(
                f"{name}: unknown dataset; use digits, synthetic or a .csv, .npz or .parquet file"
            )
        return path

    def check_dataset_file(self, source: str | None = None) -> None:
        """Cheaply check that a file dataset exists and is a file (nothing is read).

        Raises :class:`DataError` naming the path, prefixed by ``"{source}: trainer.dataset: "``
        when ``source`` is given.
        """
        prefix = f"{source}: trainer.dataset: " if source else ""
        try:
            path = self.dataset_path()
        except DataError as exc:
            raise DataError(f"{prefix}{exc}") from exc
        if path is not None and not path.is_file():
            what = "is not a file" if path.exists() else "dataset file not found"
            raise DataError(f"{prefix}{path}: {what}")


def _valid_device(device: Any) -> bool:
    if not isinstance(device, str):
        return False
    if device in ("auto", "cpu", "cuda"):
        return True
    head, _, index = device.partition(":")
    return head == "cuda" and index.isdigit()
