"""GP: Optuna's Gaussian-process sampler (log expected improvement, Matérn 5/2 kernel), on
power-transformed values.

Strong at small budgets (``auto`` takes turns between it and TPE); its cost grows with the cube
of the number of completed trials, which is why ``auto`` hands over to TPE alone after
:data:`hpsearch.samplers.auto.GP_MAX_TRIALS`. Running trials are given to it as pending points
(Optuna's GPSampler conditions on them). Choices are a categorical kernel dimension, and a
parameter absent from some trials (a condition) is drawn at random by Optuna; crude, yet on the
digits space GP alone did better than TPE at 100 trials (held-out seeds, benchmarks/README.md). Needs torch.

Before the fit, the completed values go through a power transform fitted by maximum likelihood
(:func:`power_warp`: Box-Cox when every value is positive, else Yeo-Johnson), as HEBO does. A GP
assumes values that vary smoothly on one scale; a loss or an accuracy that spans decades (a
narrow optimum in a flat landscape: 1e-12 here, 0.3 there) looks flat to it, and it stops
exploring. The transform is monotone, so the ranking and the best trial stay the same, and on
values that are already well spread it is close to the identity. With auto it improved the
log-scaled narrow bump and Hartmann-6 (``bench_quality_model.py``; the figures are in
benchmarks/README.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hpsearch.samplers.model import Finished, OptunaModelSampler

__all__ = ["GPSampler", "power_warp"]


def power_warp(history: list[Finished]) -> list[Finished]:
    """``history`` with its completed values power-transformed (Box-Cox if all are positive,
    else Yeo-Johnson; lambda by maximum likelihood). Unchanged when fewer than three distinct
    values are known or the transform overflows. Other trials are returned as they are."""
    import warnings

    import numpy as np
    from scipy import stats

    usable = [i for i, t in enumerate(history) if t.usable]
    values = np.array([history[i].value for i in usable], dtype=float)
    if len(set(values.tolist())) < 3:
        return history
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy: "optimal lambda ... constrained" and the like
        try:
            warped = (stats.boxcox(values)[0] if (values > 0).all()
                      else stats.yeojohnson(values)[0])
        except (ValueError, FloatingPointError):  # pragma: no cover - scipy's optimiser gave up
            return history
    if not np.isfinite(warped).all():
        return history
    out = list(history)
    for i, value in zip(usable, warped.tolist()):
        out[i] = Finished(history[i].params, value, history[i].state)
    return out


class GPSampler(OptunaModelSampler):
    """Optuna's GPSampler on the space's coordinates (:mod:`hpsearch.samplers.coords`), fitted
    to power-transformed values (:func:`power_warp`)."""

    name = "gp"

    def _optuna_sampler(self, seed: int) -> Any:
        from optuna.samplers import GPSampler as OptunaGP

        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return OptunaGP(seed=seed, n_startup_trials=0, warn_independent_sampling=False)

    def propose_model(self, history: list[Finished], pending: list[Mapping[str, Any]],
                      index: int) -> dict[str, Any] | None:
        return super().propose_model(power_warp(history), pending, index)
