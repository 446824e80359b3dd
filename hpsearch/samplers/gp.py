"""GP: Optuna's Gaussian-process sampler (log expected improvement, Matérn 5/2 kernel).

The best sampler we measured for small budgets on purely numeric spaces (``auto`` uses it
there); its cost grows with the cube of the number of completed trials, which is why ``auto``
hands over to another model after :data:`hpsearch.samplers.auto.GP_MAX_TRIALS`. Running trials
are given to it as pending points (Optuna's GPSampler conditions on them). With choices or
conditions it still works (choices are a categorical kernel dimension; a parameter absent from
some trials is drawn at random by Optuna), but TPE models those better. Needs torch.
"""

from __future__ import annotations

from typing import Any

from hpsearch.samplers.model import OptunaModelSampler

__all__ = ["GPSampler"]


class GPSampler(OptunaModelSampler):
    """Optuna's GPSampler on the space's coordinates (:mod:`hpsearch.samplers.coords`)."""

    name = "gp"

    def _optuna_sampler(self, seed: int) -> Any:
        from optuna.samplers import GPSampler as OptunaGP

        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return OptunaGP(seed=seed, n_startup_trials=0, warn_independent_sampling=False)
