"""The digits trade-off as a python objective for the multi-objective benchmarks, with a cache.

``train(params, report)`` trains the built-in MLP (:func:`hpsearch.trainer.fit.fit`) on
scikit-learn's bundled digits, on the CPU with one torch thread, for ``epochs`` epochs (patience
as large: no early stopping), seeded with the benchmark's seed, and returns the objectives
``val_accuracy`` (the best epoch's, as the built-in objective returns it) and ``n_params``.
Every call with ``report`` reports ``val_accuracy`` and ``n_params`` after each epoch and raises
:class:`hpsearch.pruners.Pruned` when ``report`` answers True.

The cache: training is deterministic here (CPU, one thread, the same seed, checked by
:func:`check_deterministic`), so a configuration's results (the final metrics and the
per-epoch validation accuracies) depend only on (seed, epochs, params). They are stored once
in a JSON-lines file keyed by those, and a later call with the same key *replays* them: the
same per-epoch reports in the same order, the same return value or the same prune, without
training. Two methods that propose the same configuration (hpsearch ``auto`` and ``tpe`` on
several objectives are one sampler; coarse to fine's first round is ``auto``'s first trials)
then pay for it once, and a pruned run replays the unpruned run's learning curves: it stops a
trial at the same epoch with the same values as if it had trained it. A replayed trial is
indistinguishable to the sampler and pruner; only wall time is not measured.

The benchmark calls :func:`configure` before any trial (the run loop imports this module by
name, ``_digits_objective:train``, and finds the configured instance in ``sys.modules``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Mapping

os.environ.setdefault("OMP_NUM_THREADS", "1")   # before torch: one core per trial

SETTINGS: dict[str, Any] = {"epochs": 3, "seed": 0, "cache": None}
_CACHE: dict[str, dict[str, Any]] = {}
COUNTS = {"trained": 0, "replayed": 0}


def configure(*, epochs: int, seed: int, cache: str | Path | None) -> None:
    """Epochs per trial, the trainer's seed, and the cache file (None: no file, memory only)."""
    import torch

    torch.set_num_threads(1)
    SETTINGS.update(epochs=epochs, seed=seed, cache=None if cache is None else Path(cache))
    _CACHE.clear()
    if cache is not None and Path(cache).exists():
        for line in Path(cache).read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                _CACHE[row["key"]] = row


def key_of(params: Mapping[str, Any]) -> str:
    """Exact: floats as their repr (json's), so only the same configuration hits."""
    return json.dumps([SETTINGS["seed"], SETTINGS["epochs"], sorted(params.items())])


def _settings() -> Any:
    from hpsearch.trainer.config import TrainerSettings

    epochs = SETTINGS["epochs"]
    return TrainerSettings.from_dict({"dataset": "digits", "epochs": epochs, "patience": epochs,
                                      "device": "cpu", "threads": 1})


def _train(params: Mapping[str, Any]) -> dict[str, Any]:
    from hpsearch.trainer.fit import fit

    curve: list[float] = []

    def record(step: int, metrics: Mapping[str, float]) -> bool:
        curve.append(float(metrics["val_accuracy"]))
        return False

    result = fit(dict(params), _settings(), seed=SETTINGS["seed"], report=record)
    m = result.metrics
    return {"state": result.state, "curve": curve, "error": result.error,
            "val_accuracy": m.get("val_accuracy"), "n_params": m.get("n_params"),
            "train_seconds": m.get("train_seconds")}


def lookup(params: Mapping[str, Any]) -> dict[str, Any]:
    """The cached results of ``params``, training (and storing) them on a miss."""
    key = key_of(params)
    row = _CACHE.get(key)
    if row is not None:
        COUNTS["replayed"] += 1
        return row
    row = {"key": key, **_train(params)}
    COUNTS["trained"] += 1
    _CACHE[key] = row
    if SETTINGS["cache"] is not None:
        with open(SETTINGS["cache"], "a") as f:
            f.write(json.dumps(row) + "\n")
    return row


def train(params: Mapping[str, Any],
          report: Callable[[int, Mapping[str, float]], bool] | None = None) -> dict[str, float]:
    row = lookup(params)
    if report is not None:
        for step, acc in enumerate(row["curve"], start=1):
            if report(step, {"val_accuracy": acc, "n_params": float(row["n_params"])}):
                from hpsearch.pruners import Pruned

                raise Pruned("told to stop", step=step)
    if row["state"] != "complete":
        raise RuntimeError(f"training {row['state']}: {row['error']}")
    return {"val_accuracy": float(row["val_accuracy"]), "n_params": float(row["n_params"])}


def check_deterministic(params: Mapping[str, Any]) -> bool:
    """Whether training ``params`` twice gives the same curve and metrics (the cache's premise)."""
    a, b = _train(params), _train(params)
    return all(a[k] == b[k] for k in ("state", "curve", "val_accuracy", "n_params"))
