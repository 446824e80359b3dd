"""scipy's scrambled Sobol' engine without importing ``scipy.stats``.

``from scipy.stats import qmc`` imports all of ``scipy.stats`` (most of what a short ``tpe``
study cost beyond a ``random`` one: the model samplers' Sobol start-up paid it). The sequence itself lives in the compiled ``scipy.stats._sobol``, which needs
nothing of the package: :func:`load_sobol_kernels` loads that extension alone, and
:class:`SobolEngine` repeats ``scipy.stats.qmc.Sobol``'s few lines over it (scramble=True,
30 bits, a :class:`numpy.random.Generator` spawned from the caller's as scipy spawns it), so the
points are scipy's bit for bit (``tests/samplers/test_sobol_engine.py`` compares them).
:func:`make_sobol` falls back to ``qmc.Sobol`` where the extension cannot be loaded so.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
from typing import Any

__all__ = ["SobolEngine", "load_sobol_kernels", "make_sobol"]

_BITS = 30


def load_sobol_kernels() -> Any:
    """The module ``scipy.stats._sobol`` (already imported, or loaded from its file alone)."""
    name = "scipy.stats._sobol"
    if name in sys.modules:
        return sys.modules[name]
    import scipy

    folder = os.path.join(os.path.dirname(scipy.__file__), "stats")
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    files = [f for f in os.listdir(folder) if f.startswith("_sobol.") and f.endswith(suffixes)]
    if not files:
        raise ImportError(f"{name}: no extension file in {folder}")
    path = os.path.join(folder, files[0])
    loader = importlib.machinery.ExtensionFileLoader(name, path)
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    if spec is None:
        raise ImportError(f"{name}: cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    # Its direction numbers are read on first use through importlib.resources, which imports
    # scipy.stats: read them here from the same file (get_poly_vinit's cache, by dtype).
    import numpy as np

    with np.load(os.path.join(folder, "_sobol_direction_numbers.npz")) as numbers:
        module._poly_dict[np.uint32] = np.ascontiguousarray(numbers["poly"], dtype=np.uint32)
        module._vinit_dict[np.uint32] = np.ascontiguousarray(numbers["vinit"], dtype=np.uint32)
    return module  # not put in sys.modules: a later `import scipy.stats` loads its own


class SobolEngine:
    """``qmc.Sobol(d, scramble=True, rng=rng)``'s ``reset``, ``fast_forward`` and ``random``."""

    def __init__(self, d: int, rng: Any, kernels: Any) -> None:
        import numpy as np

        self.k, self.d, self.np = kernels, d, np
        bg = rng.bit_generator  # scipy spawns a child it owns (scipy._lib._util._rng_spawn)
        child = bg.seed_seq.spawn(1)[0]
        gen = np.random.Generator(type(bg)(child))
        self.sv = np.zeros((d, _BITS), dtype=np.uint32)
        kernels._initialize_v(self.sv, dim=d, bits=_BITS)
        if not (self.sv != 0).all():  # the kernel reports its errors as warnings only
            raise ImportError("scipy.stats._sobol: direction numbers not initialised")
        self.shift = np.dot(gen.integers(0, 2, size=(d, _BITS), dtype=np.uint32),
                            2 ** np.arange(_BITS, dtype=np.uint32))
        ltm = np.tril(gen.integers(0, 2, size=(d, _BITS, _BITS), dtype=np.uint32))
        kernels._cscramble(dim=d, bits=_BITS, ltm=ltm, sv=self.sv)
        self.scale = 1.0 / 2 ** _BITS
        self.first = (self.shift * self.scale).reshape(1, -1).astype(np.float64)
        self.reset()

    def reset(self) -> "SobolEngine":
        self.quasi = self.shift.copy()
        self.num_generated = 0
        return self

    def fast_forward(self, n: int) -> "SobolEngine":
        start = self.num_generated
        self.k._fast_forward(n=n - 1 if start == 0 else n, num_gen=max(0, start - 1),
                             dim=self.d, sv=self.sv, quasi=self.quasi)
        self.num_generated += n
        return self

    def random(self, n: int = 1) -> Any:
        sample = self.np.empty((n, self.d), dtype=self.np.float64)
        if n == 0:
            return sample
        if self.num_generated == 0:
            if n == 1:
                sample = self.first
            else:
                self.k._draw(n=n - 1, num_gen=0, dim=self.d, scale=self.scale, sv=self.sv,
                             quasi=self.quasi, sample=sample)
                sample = self.np.concatenate([self.first, sample])[:n]
        else:
            self.k._draw(n=n, num_gen=self.num_generated - 1, dim=self.d, scale=self.scale,
                         sv=self.sv, quasi=self.quasi, sample=sample)
        self.num_generated += n
        return sample


def make_sobol(d: int, seed: int) -> Any:
    """A scrambled Sobol' engine of ``d`` dimensions seeded by ``seed``: scipy's points,
    without ``scipy.stats`` where its extension loads alone."""
    import numpy as np

    rng = np.random.default_rng(seed)
    try:
        return SobolEngine(d, rng, load_sobol_kernels())
    except (ImportError, AttributeError, OSError, TypeError, KeyError):  # another scipy: its own engine
        from scipy.stats import qmc

        rng = np.random.default_rng(seed)
        try:  # scipy >= 1.15 calls it rng; older versions seed (both accept a Generator)
            return qmc.Sobol(d=d, scramble=True, rng=rng)
        except TypeError:
            return qmc.Sobol(d=d, scramble=True, seed=rng)
