r"""Samplers: the configuration of a round's sample index, from the index and the round's history.

Every sampler implements one contract (:mod:`.base`): ``proposal(index, history) ->
Proposal``. One module per sampler family::

    random   numpy's PCG64 seeded with ``[seed, index]``: independent uniform draws
    sobol    scipy's scrambled Sobol' sequence; index n is the n-th point of the sequence
    grid     the cartesian product of each parameter's grid points, in a fixed order,
             without the duplicates an inactive (conditional) parameter would create
    tpe, gp, cmaes, auto   model samplers (:mod:`.model`): they learn from the round's finished
             trials (``uses_history``; their own ``propose(history, pending, *, index)``);
             Optuna/cmaes are imported only when they propose
    nsga2, and tpe/gp/auto on several objectives or constraints: :mod:`.multi`

random, sobol and grid are :class:`IndexSampler`\ s (``propose(index)``: the configuration,
``unit(index)``: its point of the unit cube); they ignore the history.

:data:`SAMPLERS` maps each name to its class; :func:`make_sampler` builds one by name. The
names a space file may use are :data:`hpsearch.names.SAMPLER_NAMES` (the space validates with
them; the registry refuses to differ); a new sampler is a new module here, its class in
``SAMPLERS`` and its name there.
"""

from __future__ import annotations


from hpsearch.errors import SpaceError
from hpsearch.names import SAMPLER_NAMES, registry
from hpsearch.samplers.auto import AutoSampler
from hpsearch.samplers.base import IndexSampler, Proposal, Sampler
from hpsearch.samplers.cmaes import CmaEsSampler
from hpsearch.samplers.gp import GPSampler
from hpsearch.samplers.grid import MAX_GRID_SIZE, GridSampler
from hpsearch.samplers.model import Finished, ModelSampler
from hpsearch.samplers.multi import NSGA2Sampler, multi_sampler
from hpsearch.samplers.random import RandomSampler
from hpsearch.samplers.sobol import SobolSampler
from hpsearch.samplers.tpe import TPESampler
from hpsearch.space import Space

__all__ = ["Sampler", "IndexSampler", "RandomSampler", "SobolSampler", "GridSampler", "ModelSampler",
           "TPESampler", "GPSampler", "CmaEsSampler", "AutoSampler", "NSGA2Sampler", "Finished",
           "Proposal", "SAMPLERS", "make_sampler", "MAX_GRID_SIZE"]

SAMPLERS: dict[str, type[Sampler]] = registry(
    (RandomSampler, SobolSampler, GridSampler, TPESampler, GPSampler, CmaEsSampler, AutoSampler,
     NSGA2Sampler),
    SAMPLER_NAMES)
"""Name -> class, in :data:`~hpsearch.names.SAMPLER_NAMES` order."""


def make_sampler(name: str, space: Space, *, seed: int) -> Sampler:
    """The sampler registered as ``name`` (:data:`SAMPLERS`), for ``space`` and ``seed``; a
    model sampler starts with ``[study] n_startup_trials`` Sobol trials per round."""
    try:
        cls = SAMPLERS[name]
    except (KeyError, TypeError):
        raise SpaceError(f"unknown sampler {name!r} (known: {', '.join(SAMPLERS)})") from None
    # several objectives or [[constraint]]: Optuna's multi-objective, constrained models
    cls = multi_sampler(name, cls, space)
    if issubclass(cls, ModelSampler):
        return cls(space, seed=seed, n_startup=space.study.n_startup_trials)
    return cls(space, seed=seed)
