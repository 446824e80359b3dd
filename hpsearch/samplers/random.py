"""Random search: independent uniform points of the unit cube."""

from __future__ import annotations

from hpsearch.samplers.base import IndexSampler

__all__ = ["RandomSampler"]


class RandomSampler(IndexSampler):
    """Independent uniform points; index i of seed s is ``default_rng([s, i]).random(dim)``
    (numpy's PCG64), so any index is drawn without drawing those before it."""

    name = "random"

    def unit(self, index: int) -> list[float]:
        import numpy as np

        self._check_index(index)
        u = np.random.default_rng([self.seed, index]).random(self.space.dim).tolist()
        return self._allowed(u, index)
