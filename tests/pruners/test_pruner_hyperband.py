"""Hyperband: brackets from the trial number and the study seed, peers from the same bracket."""

from __future__ import annotations

import collections
import os
import subprocess
import sys

import pytest

from hpsearch.pruners import HyperbandPruner, PrunerSettings, StepHistory, make_pruner
from hpsearch.pruners.hyperband import bracket_shares


def _hb(seed: int = 0, **kw) -> HyperbandPruner:
    return make_pruner("hyperband", PrunerSettings(**{"max_resource": 27, **kw}), seed=seed)


def test_brackets_and_shares():
    # min 1, max 27, rf 3: floor(log3 27) + 1 = 4 brackets; bracket b's share is
    # ceil(4 * 3**(3-b) / (4-b)): 27, 12, 6, 4 (the paper's n_i for R = 27, eta = 3).
    hb = _hb()
    assert hb.n_brackets == 4
    assert hb.shares == [27, 12, 6, 4]
    assert bracket_shares(1, 3) == [1]
    assert _hb(max_resource=26).n_brackets == 3      # 1, 3, 9 fit below 26; 27 does not
    assert _hb(min_resource=2, max_resource=54).n_brackets == 4
    assert _hb(brackets=2).shares == [3, 2]          # ceil(2*3/2), ceil(2*1/1)


def test_first_rungs_per_bracket():
    # bracket b judges first at 3**b; rungs at or past max_resource (27) are left out, so the
    # last bracket never prunes: plain random search with full budgets.
    hb = _hb()
    for b, expected in enumerate([[1, 3, 9], [3, 9], [9], []]):
        number = next(n for n in range(1000) if hb.bracket(n) == b)
        due = [s for s in range(1, 28) if hb.due(StepHistory(number, "running", {s - 1: 0, s: 0}))]
        assert due == expected


# Pinned: the brackets of trials 0..19 for seed 0 and seed 1 (crc32 of "seed:number").
SEED0 = [0, 2, 3, 2, 1, 2, 0, 0, 1, 3, 0, 0, 2, 0, 2, 0, 2, 1, 0, 0]


def test_bracket_assignment_is_deterministic():
    assert [_hb().bracket(n) for n in range(20)] == SEED0
    assert [_hb(seed=1).bracket(n) for n in range(20)] != SEED0
    # Another process with another hash salt agrees (nothing depends on hash() or state).
    code = ("from hpsearch.pruners import make_pruner, PrunerSettings as S;"
            "hb = make_pruner('hyperband', S(max_resource=27), seed=0);"
            "print([hb.bracket(n) for n in range(20)])")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout
    assert out.strip() == str(SEED0)


def test_bracket_proportions():
    counts = collections.Counter(_hb().bracket(n) for n in range(49_000))
    for b, share in enumerate([27, 12, 6, 4]):
        assert abs(counts[b] / 49_000 - share / 49) < 0.01


def test_peers_restricted_to_the_bracket():
    hb = _hb()
    b0 = [n for n in range(100) if hb.bracket(n) == 0][:3]
    b1 = next(n for n in range(100) if hb.bracket(n) == 1)
    me, same, _ = b0
    trial = StepHistory(me, "running", {1: 0.3})
    # A much better trial in bracket 1 is not a peer: alone in bracket 0, the trial goes on.
    other = {b1: StepHistory(b1, "running", {1: 0.9})}
    d = hb.should_prune(trial, other, maximize=True)
    assert not d.prune
    assert d.reason == "bracket 0: value 0.3 at rung 0 (step 1) is in the best 1 of 1 (bar 0.3)"
    # The same trial in bracket 0 is: now the trial is second of two -> pruned.
    other[same] = StepHistory(same, "complete", {1: 0.9})
    d = hb.should_prune(trial, other, maximize=True)
    assert d.prune
    assert d.reason == "bracket 0: value 0.3 at rung 0 (step 1) is not in the best 1 of 2 (bar 0.9)"


def test_resumable_from_stored_rows_only():
    # A "restarted" pruner (a new object, as after a crash or in another worker) decides the
    # same on the same stored rows.
    peers = {n: StepHistory(n, "running", {1: n / 100, 2: n / 90, 3: n / 80}) for n in range(40)}
    trial = StepHistory(41, "running", {1: 0.2, 2: 0.25, 3: 0.3})
    first = [_hb().should_prune(StepHistory(41, "running", {s: trial.values[s] for s in
                                                             range(1, k + 1)}), peers,
                                maximize=True) for k in (1, 2, 3)]
    again = [_hb().should_prune(StepHistory(41, "running", {s: trial.values[s] for s in
                                                             range(1, k + 1)}), peers,
                                maximize=True) for k in (1, 2, 3)]
    assert first == again


def test_needs_max_resource():
    from hpsearch.errors import SpaceError
    with pytest.raises(SpaceError, match="pruner.max_resource: hyperband needs"):
        make_pruner("hyperband", PrunerSettings())
