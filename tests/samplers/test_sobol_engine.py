"""The Sobol' engine without scipy.stats (issue 25) gives scipy's points bit for bit."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from hpsearch.samplers.sobol_engine import SobolEngine, make_sobol

OPS = [("random", 1), ("random", 3), ("forward", 5), ("random", 1), ("forward", 1),
       ("random", 4), ("reset",), ("forward", 7), ("random", 2), ("reset",), ("random", 1),
       ("random", 1), ("forward", 100), ("random", 8)]


@pytest.mark.parametrize("d", [1, 2, 7, 40])
@pytest.mark.parametrize("seed", [0, 1, 2**31 + 5])
def test_points_are_scipys(d: int, seed: int) -> None:
    from scipy.stats import qmc

    ours = make_sobol(d, seed)
    assert isinstance(ours, SobolEngine)
    theirs = qmc.Sobol(d=d, scramble=True, rng=np.random.default_rng(seed))
    for op in OPS:
        if op[0] == "random":
            assert np.array_equal(ours.random(op[1]), theirs.random(op[1])), op
        elif op[0] == "forward":
            ours.fast_forward(op[1])
            theirs.fast_forward(op[1])
        else:
            ours.reset()
            theirs.reset()


def test_a_fresh_process_gets_scipys_points_without_scipy_stats() -> None:
    # Alone in its process: the extension loaded from its file, its direction numbers read here.
    code = ("import sys, json; from hpsearch.samplers.sobol_engine import make_sobol, SobolEngine; "
            "e = make_sobol(6, 4); assert isinstance(e, SobolEngine); e.fast_forward(3); "
            "points = e.random(5).tolist(); assert 'scipy.stats' not in sys.modules; "
            "print(json.dumps(points))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True)
    assert out.stderr == ""  # the kernel's errors would only be printed
    from scipy.stats import qmc

    theirs = qmc.Sobol(d=6, scramble=True, rng=np.random.default_rng(4)).fast_forward(3)
    assert np.array_equal(np.array(json.loads(out.stdout)), theirs.random(5))
