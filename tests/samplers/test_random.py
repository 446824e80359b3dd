"""Random search: pinned points, independent of history and of the process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from support.spaces import DIGITS, ROOT, SAMPLER_COND, THREE, space_of

from hpsearch.samplers import make_sampler
from hpsearch.space import load_space


def test_first_points_of_seed_0_are_pinned() -> None:
    sampler = make_sampler("random", space_of(THREE), seed=0)
    assert [sampler.unit(i) for i in range(3)] == [
        [0.6369616873214543, 0.2697867137638703, 0.04097352393619469],
        [0.8897387912781343, 0.5571380502062263, 0.8009080868919721],
        [0.08082403917318748, 0.4024377919935872, 0.6012892062377659],
    ]
    assert [sampler.propose(i) for i in range(3)] == [
        {"lr": 0.008144886973076106, "n": 3, "opt": "sgd"},
        {"lr": 0.04668919368886341, "n": 5, "opt": "rmsprop"},
        {"lr": 0.00017477210520070604, "n": 4, "opt": "adam"},
    ]


def test_random_is_pinned_and_independent_of_history() -> None:
    space = space_of(SAMPLER_COND)
    expected = [0.51930701402082, 0.7477382143138659, 0.6693868273084524]
    sampler = make_sampler("random", space, seed=42)
    assert sampler.unit(9) == expected  # drawn first: no history
    assert [sampler.unit(i) for i in range(12)][9] == expected
    assert sampler.propose(9) == {"opt": "adam", "lr": 0.010189678508456024, "fixed": 7}
    assert make_sampler("random", space, seed=43).unit(9) != expected


@pytest.mark.slow
def test_random_is_reproducible_across_processes() -> None:
    cmd = [sys.executable, "-m", "hpsearch.cli", "validate", str(DIGITS), "--sample", "8",
           "--format", "json", "--seed", "11"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=True).stdout
    configs = [json.loads(line) for line in out.splitlines()]
    sampler = make_sampler("random", load_space(DIGITS), seed=11)
    assert len(configs) == 8
    assert configs == [json.loads(json.dumps(sampler.propose(i))) for i in range(8)]
