"""ASHA: rungs computed from the stored steps of the round, in any arrival order."""

from __future__ import annotations

import math
import random

import pytest

from hpsearch.pruners import Decision, PrunerSettings, StepHistory, make_pruner
from hpsearch.pruners.asha import promoted, rung_steps
from tests.pruners.helpers import first_pruned_step, peers_of


def _asha(**kw):
    return make_pruner("asha", PrunerSettings(**{"reduction_factor": 3, **kw}))


def test_rung_steps():
    assert rung_steps(1, 3, 0, 100) == [1, 3, 9, 27, 81]
    assert rung_steps(1, 3, 1, 100) == [3, 9, 27, 81]
    assert rung_steps(2, 2, 0, 16) == [2, 4, 8, 16]
    assert rung_steps(1, 3, 0, 100, max_resource=27) == [1, 3, 9]   # 27: the budget is spent


@pytest.mark.parametrize("competing, value, expected", [
    ([.5], .5, True),                    # alone: promoted (Optuna's leniency)
    ([.5, .3], .3, False),               # n=2 < rf: only the best is promoted
    ([.5, .3, .6], .6, True),
    ([.7, .6, .5, .4, .3, .2], .6, True),    # n=6: the best 2 go on
    ([.7, .6, .5, .4, .3, .2], .5, False),
    ([.6, .6, .5], .6, True),            # ties promote
])
def test_promoted(competing, value, expected):
    assert promoted(value, competing, 3, maximize=True)[0] is expected
    assert promoted(-value, [-v for v in competing], 3, maximize=False)[0] is expected


# Six trials reach rung 0 (step 1) one after the other; each sees the values stored before it.
# rf = 3: the best max(1, n // 3) of the n values at the rung go on.
#   arrival order A (values .5 .3 .6 .4 .2 .7):
#     .5  n=1 top1 bar .5 -> on     .3  n=2 top1 bar .5 -> pruned   .6  n=3 top1 bar .6 -> on
#     .4  n=4 top1 bar .6 -> pruned .2  n=5 top1 bar .6 -> pruned   .7  n=6 top2 bar .6 -> on
#   arrival order B (values .7 .2 .4 .6 .3 .5): .7 on, then everyone pruned
#     (.6 arrives 4th: n=4 top1 bar .7; .5 arrives last: n=6 top2 bar .6)
ORDER_A = [.5, .3, .6, .4, .2, .7]
ORDER_B = [.7, .2, .4, .6, .3, .5]


@pytest.mark.parametrize("maximize", [True, False], ids=["maximize", "minimize"])
@pytest.mark.parametrize("order, expected", [
    (ORDER_A, [False, True, False, True, True, False]),
    (ORDER_B, [False, True, True, True, True, True]),
])
def test_rung_zero_in_arrival_order(order, expected, maximize):
    sign = 1.0 if maximize else -1.0
    pruner = _asha()
    stored: dict[int, StepHistory] = {}
    got = []
    for number, v in enumerate(order):
        trial = StepHistory(number, "running", {1: sign * v})
        assert pruner.due(trial)
        decision = pruner.should_prune(trial, stored, maximize=maximize)
        got.append(decision.prune)
        # The run loop stored the step before asking; the state follows the decision.
        stored[number] = StepHistory(number, "pruned" if decision.prune else "running",
                                     {1: sign * v})
    assert got == expected


def test_peer_order_in_the_mapping_does_not_matter():
    values = [.5, .3, .6, .4, .2, .7, .55, .45]
    peers = {n: StepHistory(n, "running", {1: v}) for n, v in enumerate(values)}
    trial = StepHistory(99, "running", {1: .58})
    # n = 9 values, top 3: .7 .6 .58 -> promoted; any order of the peers gives the same answer
    expected = Decision(False, "value 0.58 at rung 0 (step 1) is in the best 3 of 9 (bar 0.58)")
    rng = random.Random(0)
    for _ in range(20):
        items = list(peers.items())
        rng.shuffle(items)
        assert _asha().should_prune(trial, dict(items), maximize=True) == expected


# A round in which every trial reports steps 1..9 (rungs 1, 3, 9 with rf 3), judged against
# the stored curves of the others, all finished (any state counts: values recorded at a rung
# stay there).
#   step:           1    2    3    4 ... 9
#   0 complete     .40  .50  .60  .65    .80
#   1 pruned       .30  .35  .38            (pruned at rung 1 = step 3)
#   2 complete     .50  .55  .58  .60    .70
#   3 failed       .20                       (diverged after step 1)
#   4 running      .45  .52  .62           (reported up to step 3 so far)
# Rung 0 (step 1) values: .40 .30 .50 .20 .45   Rung 1 (step 3): .60 .38 .58 .62
# Rung 2 (step 9): .80 .70
ROUND = {
    0: ("complete", {1: .40, 2: .50, 3: .60, 4: .65, 9: .80}),
    1: ("pruned", {1: .30, 2: .35, 3: .38}),
    2: ("complete", {1: .50, 2: .55, 3: .58, 4: .60, 9: .70}),
    3: ("failed", {1: .20}),
    4: ("running", {1: .45, 2: .52, 3: .62}),
}
ASHA_CASES = {
    # rung 0: 6 values, top 2 = .50 .45: .42 is third -> pruned at step 1
    "third at rung 0": ({1: .42, 3: .99}, 1),
    # rung 0: .46 is second (top 2) -> on; rung 1: 5 values .62 .60 .58 .55 .38, top 1 -> pruned
    "second at rung 0, not best at 3": ({1: .46, 2: .50, 3: .55, 9: .99}, 3),
    # rung 0 on (.60 best); rung 1: .63 best of 5 -> on; rung 2: .79 vs .80 .70, n=3 top1 -> pruned
    "best until the last rung": ({1: .60, 3: .63, 9: .79}, 9),
    # the same curve ending above .80 survives every rung
    "best everywhere": ({1: .60, 3: .63, 9: .81}, None),
    # reports at 2 and 5 only: rung 0's value is the one at step 2 (.56: best of 6 -> on),
    # rung 1's the one at step 5 (.59: 5 values .62 .60 .59 .58 .38, top1 -> pruned at 5)
    "sparse reports": ({2: .56, 5: .59}, 5),
    # a jump from step 1 to step 9 crosses rungs 1 and 2 at once; rung 1 (step 3) uses the
    # value at step 9 (.61 < .62 best -> pruned at 9)
    "jump over two rungs": ({1: .60, 9: .61}, 9),
}


@pytest.mark.parametrize("maximize", [True, False], ids=["maximize", "minimize"])
@pytest.mark.parametrize("case", list(ASHA_CASES))
def test_known_round(case, maximize):
    sign = 1.0 if maximize else -1.0
    curve, expected = ASHA_CASES[case]
    got = first_pruned_step(_asha(), 9, curve, peers_of(ROUND, sign=sign), maximize=maximize,
                            sign=sign)
    assert got == expected


def test_judged_once_per_rung():
    # Between rungs nothing is asked; a promoted trial is not judged again at an old rung even
    # if better trials arrived there since.
    pruner = _asha()
    trial = StepHistory(9, "running", {1: .46, 2: .2})
    assert not pruner.due(trial)
    assert pruner.should_prune(trial, peers_of(ROUND), maximize=True) == Decision(False)


def test_min_early_stopping_rate_and_max_resource():
    pruner = _asha(min_early_stopping_rate=1)          # rungs 3, 9, 27
    due = [s for s in range(1, 30) if pruner.due(StepHistory(1, "running",
                                                             {t: .5 for t in range(1, s + 1)}))]
    assert due == [3, 9, 27]
    pruner = _asha(max_resource=27)                    # rungs 1, 3, 9
    due = [s for s in range(1, 30) if pruner.due(StepHistory(1, "running",
                                                             {t: .5 for t in range(1, s + 1)}))]
    assert due == [1, 3, 9]


def test_value_best():
    # value = "best": each trial brings its best so far to the rung. At rung 1 (step 3):
    # own best .70 (step 1) vs peers' bests up to step 3: .60 .38 .58 .62 -> best of 5 -> on.
    # With "last", .30 at step 3 is last of 5 -> pruned.
    curve = {1: .70, 2: .40, 3: .30}
    assert first_pruned_step(_asha(value="best"), 9, curve, peers_of(ROUND), maximize=True) is None
    assert first_pruned_step(_asha(value="last"), 9, curve, peers_of(ROUND), maximize=True) == 3


def test_nan():
    peers = peers_of(ROUND)
    peers[7] = StepHistory(7, "complete", {1: math.nan, 3: math.nan})   # ignored
    d = _asha().should_prune(StepHistory(9, "running", {1: math.nan}), peers, maximize=True)
    assert d == Decision(True, "value is NaN at rung 0 (step 1)")
    # NaN peers do not count: 6 values at rung 0 with .50 and .45 on top, .46 second -> on
    assert not _asha().should_prune(StepHistory(9, "running", {1: .46}), peers,
                                    maximize=True).prune


def test_default_reduction_factor_is_3():
    pruner = make_pruner("asha", PrunerSettings())
    assert [s for s in range(1, 30) if pruner.due(StepHistory(1, "running", {s - 1: 0, s: 0}))] \
        == [1, 3, 9, 27]
