"""A finished trial that Optuna's in-memory storage may hold without copying it.

``InMemoryStorage.create_new_trial`` deep-copies the trial it is given. The model samplers
(:class:`hpsearch.samplers.model.OptunaModelSampler`) rebuild a study from the round's finished
trials for every proposal; the copy was 80 % of a TPE proposal at 10,000 trials. A finished
trial is never changed by a sampler (Optuna's TPE and GP write only to the trial being asked;
the storage sets ``number`` and ``_trial_id``, the same each time for the same history), so a
:class:`SharedTrial` is its own deep copy. ``tests/samplers`` checks that cached trials come out
of a proposal unchanged. Imports Optuna: import this module only where a model runs.
"""

from __future__ import annotations

from typing import Any, cast

from optuna.trial import FrozenTrial

__all__ = ["SharedTrial", "shared"]


class SharedTrial(FrozenTrial):
    """A :class:`FrozenTrial` whose deep copy is itself."""

    def __deepcopy__(self, memo: dict[int, Any]) -> "SharedTrial":
        return self


def shared(trial: FrozenTrial) -> SharedTrial:
    """``trial`` as a :class:`SharedTrial` (the same object, its class changed)."""
    trial.__class__ = SharedTrial
    return cast(SharedTrial, trial)
