"""Datasets of the built-in trainer: load, map labels, split (stratified, seeded), standardise.

Nothing is ever downloaded. The sources are scikit-learn's bundled ``digits``, a seeded
``synthetic`` set of any size, and the user's CSV, NPZ or Parquet file. Every trial of a study
sees the same split (``TrainerSettings.split_seed``), and a runner process calls the trainer for
many trials, so loaded and split datasets are cached in-process, keyed by the settings that
matter (and by the file's size and modification time, so an edited file is read again).

Inputs are standardised with the statistics of the *training* split only (a feature that is
constant there gets a std of 1), so neither validation nor test data leaks into preprocessing.
"""

from __future__ import annotations

import csv
import functools
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hpsearch.errors import DataError
from hpsearch.trainer.config import BUILTIN_DATASETS, TrainerSettings

__all__ = ["Dataset", "load_dataset", "make_synthetic"]

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class Dataset:
    """A split, standardised classification dataset (arrays are read-only, float32 / int64).

    ``X_test``/``y_test`` are empty (0 rows) when ``test_fraction`` is 0. ``classes`` holds the
    original label of each class index (labels are mapped to ``0..n_classes-1`` in sorted order).
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[Any, ...]
    # For checkpoints: the training statistics every split was standardised with, kept
    # so that a saved model can standardise new inputs the same way (float64, per feature).
    mean: np.ndarray | None = None
    std: np.ndarray | None = None

    @property
    def n_features(self) -> int:
        """Number of input features."""
        return int(self.X_train.shape[1])

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return len(self.classes)


def load_dataset(settings: TrainerSettings) -> Dataset:
    """Load, split and standardise the dataset named by ``settings`` (cached in-process).

    Raises
    ------
    DataError
        The file is missing or of an unknown kind, the label column is missing, features are not
        numeric or contain NaN/inf, there is only one class, or a class is too small to split.
    """
    name = settings.dataset
    if name in BUILTIN_DATASETS:
        synthetic = (settings.n_samples, settings.n_features, settings.n_classes)
        source_key: tuple[Any, ...] = (name, synthetic if name == "synthetic" else None)
    else:
        path = settings.dataset_path()
        assert path is not None
        try:
            stat = path.stat()
        except OSError as exc:
            raise DataError(f"{path}: dataset file not found") from exc
        source_key = (str(path), settings.label_column, stat.st_mtime_ns, stat.st_size)
    split_key = (settings.val_fraction, settings.test_fraction, settings.split_seed)
    return _load_cached(source_key, split_key)


@functools.lru_cache(maxsize=4)
def _load_cached(source_key: tuple[Any, ...], split_key: tuple[float, float, int]) -> Dataset:
    name = source_key[0]
    if name == "digits":
        from sklearn.datasets import load_digits

        bunch = load_digits()
        X, labels = bunch.data, bunch.target
    elif name == "synthetic":
        n_samples, n_features, n_classes = source_key[1]
        X, labels = make_synthetic(n_samples, n_features, n_classes, seed=0)
    else:
        X, labels = _read_file(Path(name), source_key[1])
    log.debug("loaded dataset %s: %d samples, %d features", name, X.shape[0], X.shape[1])
    return _prepare(name, X, labels, *split_key)


def make_synthetic(
    n_samples: int, n_features: int, n_classes: int, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A seeded Gaussian-clusters classification problem of any size (float32, int64).

    Class centres live in a low-dimensional latent space that a random linear map spreads over
    all features, plus feature noise: learnable but not trivially separable. Fast enough for
    60,000 × 784 × 10 (well under a second), unlike ``make_classification`` at that size.
    """
    rng = np.random.default_rng(seed)
    latent = max(2, min(n_features, 2 * n_classes))
    # Two clusters per class make the best boundary non-linear; overlapping clusters keep the
    # loss away from zero (a perfectly separable set drives CPU training into slow denormals).
    centres = rng.standard_normal((2 * n_classes, latent), dtype=np.float32)
    y = rng.integers(0, n_classes, size=n_samples)
    y[:n_classes] = np.arange(n_classes)  # every class present even for tiny n_samples
    cluster = y * 2 + rng.integers(0, 2, size=n_samples)
    z = centres[cluster] + rng.standard_normal((n_samples, latent), dtype=np.float32)
    mixing = rng.standard_normal((latent, n_features), dtype=np.float32) / np.sqrt(latent)
    X = z @ mixing
    X += rng.standard_normal((n_samples, n_features), dtype=np.float32) * 0.5
    return X, y.astype(np.int64)


#: The longest message a reader's own error contributes (some quote a whole line of data).
MESSAGE_CHARS = 200
#: How many offending labels a message lists before "and N more".
LISTED = 10


def one_line(exc: BaseException) -> str:
    """``exc``'s message as one short line (a library's message may span lines or pages)."""
    text = " ".join("".join(c if c.isprintable() else " " for c in str(exc)).split())
    text = text or type(exc).__name__
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS - 1] + "…"


def listed(values: Any) -> str:
    """The first :data:`LISTED` of ``values``, then how many more."""
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:LISTED])
    return shown + (f" and {len(values) - LISTED:,} more" if len(values) > LISTED else "")


def _read_file(path: Path, label_column: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Read a data file; anything that goes wrong is a :class:`DataError` naming the file (a
    file that cannot be read is bad input, refused before any trial, never a failed trial)."""
    suffix = path.suffix.lower()
    try:
        if path.stat().st_size == 0:
            raise DataError(f"{path}: the file is empty")
        if suffix == ".npz":
            return _read_npz(path)
        if suffix == ".parquet":
            names, columns = _read_parquet(path)
        else:
            names, columns = _read_csv(path)
        return _split_label(path, names, columns, label_column)
    except DataError:
        raise
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); "
                        f"save the file as UTF-8") from exc
    except Exception as exc:  # noqa: BLE001 - any reader's failure: the file is unreadable
        raise DataError(f"{path}: cannot read: {one_line(exc)}") from exc


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    # Without this check np.load takes any other file for a pickle and says so.
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path}: not an NPZ archive (numpy.savez writes one, with arrays X and y)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in ("X", "y") if key not in archive.files]
            if missing:
                raise DataError(
                    f"{path}: NPZ needs arrays X and y; missing {', '.join(missing)} "
                    f"(found: {', '.join(archive.files) or 'none'})"
                )
            X, y = _npz_array(path, archive, "X"), _npz_array(path, archive, "y")
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged zip, a truncated member
        raise DataError(f"{path}: corrupt NPZ archive ({one_line(exc)})") from exc
    if X.ndim < 2:
        raise DataError(f"{path}: X must have one row per sample (shape {X.shape})")
    if X.shape[0] == 0:
        raise DataError(f"{path}: X has no rows (shape {X.shape})")
    X = X.reshape(X.shape[0], -1)  # images (n, 28, 28) become (n, 784)
    if y.ndim != 1 or len(y) != len(X):
        raise DataError(f"{path}: y must be 1-D with one label per row of X "
                        f"(X {X.shape}, y {y.shape})")
    if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
        raise DataError(f"{path}: X must be numeric (dtype {X.dtype})")
    return X, y


def _npz_array(path: Path, archive: Any, name: str) -> np.ndarray:
    try:
        value = archive[name]
    except ValueError as exc:
        if "allow_pickle" in str(exc):  # an object array: numpy would suggest unpickling it
            raise DataError(f"{path}: {name} holds Python objects, not numbers; save numeric "
                            f"arrays (e.g. X.astype('float32'))") from exc
        raise
    if not isinstance(value, np.ndarray):  # a member that is no .npy at all
        raise DataError(f"{path}: corrupt NPZ archive ({name} is not a numpy array)")
    return value


def _read_parquet(path: Path) -> tuple[list[str], list[np.ndarray]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise DataError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from exc
    table = pq.read_table(path)
    columns = [_text(path, name, np.asarray(col.to_numpy(zero_copy_only=False)))
               for name, col in zip(table.column_names, table.columns)]
    return list(table.column_names), columns


def _read_csv(path: Path) -> tuple[list[str], list[np.ndarray]]:
    try:  # pyarrow's reader is multithreaded C++: seconds instead of minutes for MNIST-sized CSVs
        import pyarrow.csv as pacsv
    except ImportError:
        return _read_csv_stdlib(path)
    table = pacsv.read_csv(path)
    if table.num_rows == 0:
        raise DataError(f"{path}: CSV needs a header row and at least one data row")
    names = [name.strip() for name in table.column_names]
    # A column that is not valid UTF-8 comes back as bytes: decoding it by the locale would
    # make the result depend on where hpsearch runs (and fail under LANG=C).
    columns = [_text(path, name, np.asarray(col.to_numpy(zero_copy_only=False)))
               for name, col in zip(names, table.columns)]
    return names, columns


def _text(path: Path, name: str, column: np.ndarray) -> np.ndarray:
    """A column of bytes (cells pyarrow could not decode) as UTF-8 text, or a DataError."""
    if column.dtype != object or not any(isinstance(v, bytes) for v in column[:1000]):
        return column
    for row, value in enumerate(column, start=2):
        if isinstance(value, bytes):
            try:
                value.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{path}: column {name!r}, line {row}: not UTF-8 text (byte "
                    f"0x{value[exc.start]:02x}); save the file as UTF-8") from exc
    return np.array([v.decode("utf-8") if isinstance(v, bytes) else v for v in column],
                    dtype=object)


def _read_csv_stdlib(path: Path) -> tuple[list[str], list[np.ndarray]]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    rows = [row for row in rows if row]  # tolerate blank lines (a trailing one is common)
    if len(rows) < 2:
        raise DataError(f"{path}: CSV needs a header row and at least one data row")
    header, body = rows[0], rows[1:]
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise DataError(
                f"{path}: line {number} has {len(row)} fields, the header has {len(header)}"
            )
    columns = [np.array(col, dtype=object) for col in zip(*body)]
    return [name.strip() for name in header], columns


def _split_label(
    path: Path, names: list[str], columns: list[np.ndarray], label_column: str | None
) -> tuple[np.ndarray, np.ndarray]:
    if len(names) < 2:
        raise DataError(f"{path}: needs at least one feature column and a label column")
    label = names[-1] if label_column is None else label_column
    if label not in names:
        raise DataError(
            f"{path}: label column {label!r} not found; columns: {', '.join(names)}"
        )
    index = names.index(label)
    features = []
    for name, column in zip(names, columns):
        if name == label:
            continue
        try:
            features.append(_numeric(column))
        except ValueError as exc:
            raise DataError(f"{path}: feature column {name!r} is not numeric ({exc})") from exc
    return np.column_stack(features), columns[index]


def _numeric(column: np.ndarray) -> np.ndarray:
    if column.dtype == object:
        # Empty CSV cells become NaN so they are reported as missing values, not as text.
        column = np.array([v if str(v).strip() else "nan" for v in column], dtype=object)
    return column.astype(np.float64)


def _prepare(
    name: str, X: np.ndarray, labels: np.ndarray, val_fraction: float, test_fraction: float,
    split_seed: int,
) -> Dataset:
    X = np.asarray(X, dtype=np.float32)
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(
            f"{name}: features contain {int(bad.sum())} NaN or infinite value(s) "
            f"(first at row {row}, feature {col})"
        )
    labels = np.asarray(labels)
    if labels.dtype == object:
        labels = labels.astype(str)
    if len(labels) and np.issubdtype(labels.dtype, np.floating) and np.isnan(labels).any():
        raise DataError(f"{name}: labels contain missing values")
    classes, y = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        only = classes[0].item() if len(classes) else None
        raise DataError(f"{name}: only one class ({only!r}); a classifier needs at least two")
    counts = np.bincount(y)
    if (counts < 2).any():  # a stratified split needs two of each; say which, briefly
        single = [c.item() if hasattr(c, "item") else c for c in classes[counts < 2]]
        verb = "has" if len(single) == 1 else "have"
        raise DataError(f"{name}: {len(single):,} of {len(classes):,} classes {verb} a single "
                        f"sample, too few to split stratified: {listed(single)}")
    y = y.astype(np.int64)
    train_idx, val_idx, test_idx = _stratified_split(name, y, val_fraction, test_fraction,
                                                     split_seed)
    mean = X[train_idx].mean(axis=0, dtype=np.float64)
    std = X[train_idx].std(axis=0, dtype=np.float64)
    std[std == 0] = 1.0  # a constant feature carries no signal; leave it at 0 after centring

    def part(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xs = ((X[idx] - mean) / std).astype(np.float32)
        ys = y[idx]
        xs.setflags(write=False)
        ys.setflags(write=False)
        return xs, ys

    (X_tr, y_tr), (X_va, y_va), (X_te, y_te) = part(train_idx), part(val_idx), part(test_idx)
    return Dataset(name, X_tr, y_tr, X_va, y_va, X_te, y_te,
                   tuple(c.item() if hasattr(c, "item") else c for c in classes),
                   mean=mean, std=std)


def _stratified_split(
    name: str, y: np.ndarray, val_fraction: float, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    indices = np.arange(len(y))
    try:
        if test_fraction > 0:
            rest, test = train_test_split(indices, test_size=test_fraction, stratify=y,
                                          random_state=seed)
        else:
            rest, test = indices, indices[:0]
        val_share = val_fraction / (1.0 - test_fraction)
        train, val = train_test_split(rest, test_size=val_share, stratify=y[rest],
                                      random_state=seed)
    except ValueError as exc:
        raise DataError(f"{name}: cannot split stratified ({one_line(exc)})") from exc
    # Sorted indices keep memory access sequential; the trainer shuffles per epoch anyway.
    return np.sort(train), np.sort(val), np.sort(test)
