"""TPE: Optuna's Tree-structured Parzen Estimator, multivariate, grouped, with constant liar.

``multivariate=True`` models the parameters jointly (it finds coupled optima that independent
TPE misses); ``group=True`` splits a conditional space into the groups of parameters that occur
together, so a parameter only active under ``optimizer = "sgd"`` is modelled from the trials
where it exists (and a group is drawn only when the trial uses one of its parameters:
:class:`~hpsearch.samplers.shared.GroupedTPE`); ``constant_liar=True`` gives running trials
(other workers) the worst value, so parallel proposals spread out. Optuna's own start-up is
off: :class:`ModelSampler` runs Sobol for the first ``n_startup`` indices of a round.
"""

from __future__ import annotations

from typing import Any

from hpsearch.samplers.model import OptunaModelSampler

__all__ = ["TPESampler"]


class TPESampler(OptunaModelSampler):
    """Optuna's multivariate TPE on the space's coordinates (:mod:`hpsearch.samplers.coords`)."""

    name = "tpe"

    def __init__(self, space: Any, **kwargs: Any) -> None:
        super().__init__(space, **kwargs)
        self._tpe: Any = None

    def _optuna_sampler(self, seed: int) -> Any:
        import warnings

        from hpsearch.samplers.shared import GroupedTPE

        if self._tpe is not None:  # one object, its random state as a new one's
            return self._tpe.reseed(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # multivariate and group are "experimental"
            # Optuna's group decomposition once per distinct set of parameters; a group drawn
            # only when the trial uses it (hpsearch.samplers.shared)
            self._tpe = GroupedTPE(seed=seed, n_startup_trials=0, constant_liar=True)
        return self._tpe
