"""Sobol: pinned points, balance of the first 2^k points, resumption at any index."""

from __future__ import annotations

import numpy as np
import pytest
from support.spaces import DIGITS, THREE, space_of

from hpsearch.samplers import SobolSampler, make_sampler
from hpsearch.space import load_space


def test_first_points_of_seed_0_are_pinned() -> None:
    # scipy's scrambled Sobol' with numpy's default_rng(0); pinned with scipy 1.x as installed.
    sampler = make_sampler("sobol", space_of(THREE), seed=0)
    assert [sampler.unit(i) for i in range(3)] == [
        [0.40994958858937025, 0.9641202185302973, 0.8576548751443624],
        [0.7833401495590806, 0.17377875186502934, 0.2831525718793273],
        [0.7123448261991143, 0.5856924848631024, 0.6376485088840127],
    ]
    assert [sampler.propose(i) for i in range(3)] == [
        {"lr": 0.0016976523765605592, "n": 8, "opt": "rmsprop"},
        {"lr": 0.022388265508304507, "n": 2, "opt": "sgd"},
        {"lr": 0.013709906046573163, "n": 5, "opt": "adam"},
    ]


@pytest.mark.parametrize("k", [3, 6])
def test_sobol_first_power_of_two_points_are_balanced(k: int) -> None:
    space = load_space(DIGITS)
    sampler = SobolSampler(space, seed=5)
    points = np.array([sampler.unit(i) for i in range(2**k)])
    cells = np.floor(points * 2**k).astype(int)
    for column in cells.T:
        assert sorted(column) == list(range(2**k))


def test_sobol_resumes_where_it_stopped() -> None:
    space = load_space(DIGITS)
    walked = SobolSampler(space, seed=1)
    sequence = [walked.unit(i) for i in range(40)]
    for n in (0, 1, 17, 39):
        assert SobolSampler(space, seed=1).unit(n) == sequence[n]
    assert walked.unit(3) == sequence[3]  # jumping back resets the engine
    assert walked.unit(30) == sequence[30]
    assert SobolSampler(space, seed=2).unit(0) != sequence[0]
