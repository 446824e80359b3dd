"""The median rule on a known set of curves, pruned exactly where the rule says."""

from __future__ import annotations

import math

import pytest

from hpsearch.pruners import Decision, MedianPruner, PrunerSettings, StepHistory, make_pruner
from tests.pruners.helpers import first_pruned_step, peers_of

# The other trials of the round (accuracy, higher is better).
#   step:            1     2     3     4
#   0 complete      .50   .60   .70   .80
#   1 complete      .40   .50   .60   .70
#   2 complete      .30   .45   .55          (stopped early: no step 4)
#   3 running       .99   .99   .99   .99    (not complete: never a peer of the median rule)
#   4 pruned        .00   .00                (not complete either)
# Medians of the complete trials:  step 1: .40  step 2: .50  step 3: .60  step 4: (.80+.70)/2 = .75
PEERS = {
    0: ("complete", {1: .50, 2: .60, 3: .70, 4: .80}),
    1: ("complete", {1: .40, 2: .50, 3: .60, 4: .70}),
    2: ("complete", {1: .30, 2: .45, 3: .55}),
    3: ("running", {1: .99, 2: .99, 3: .99, 4: .99}),
    4: ("pruned", {1: .00, 2: .00}),
}

# n_startup_trials=2, n_warmup_steps=2 (steps 1 is never judged), interval 1.
# (curve, pruned at with value="best", pruned at with value="last")
CASES = {
    # s2: .20 < .50 -> pruned at 2 (step 1's .10 < .40 is in the warm-up)
    "bad from the start": ({1: .10, 2: .20, 3: .65, 4: .90}, 2, 2),
    # s2: .55 >= .50 kept; s3: best .58 < .60 -> pruned
    "falls behind at 3": ({1: .10, 2: .55, 3: .58, 4: .74}, 3, 3),
    # s2: .65 kept; s3: best .65 >= .60 kept, but last .58 < .60; s4: .76 >= .75
    "dip at 3": ({1: .20, 2: .65, 3: .58, 4: .76}, None, 3),
    # reports only steps 2 and 4: s2 .50 == median .50 is not worse; s4 .74 < .75
    "sparse": ({2: .50, 4: .74}, 4, 4),
    # step 5: no complete trial reached it (n_min_trials=1) -> no decision; best .90 before
    "beyond the peers": ({1: .90, 2: .90, 3: .90, 4: .90, 5: .10}, None, None),
}


def _pruner(value: str, **kw) -> MedianPruner:
    settings = PrunerSettings(value=value, n_startup_trials=2, n_warmup_steps=2, **kw)
    return make_pruner("median", settings.resolve("val_accuracy", "maximize"))


@pytest.mark.parametrize("maximize", [True, False], ids=["maximize", "minimize"])
@pytest.mark.parametrize("value", ["best", "last"])
@pytest.mark.parametrize("case", list(CASES))
def test_known_curves(case, value, maximize):
    # Minimizing the negated table must prune the same trials at the same steps.
    sign = 1.0 if maximize else -1.0
    curve, at_best, at_last = CASES[case]
    got = first_pruned_step(_pruner(value), 9, curve, peers_of(PEERS, sign=sign),
                            maximize=maximize, sign=sign)
    assert got == (at_best if value == "best" else at_last)


def test_startup_counts_complete_trials_only():
    # 3 complete peers; with n_startup_trials = 4 nothing is judged, however bad.
    pruner = make_pruner("median", PrunerSettings(n_startup_trials=4))
    bad = StepHistory(9, "running", {1: 0.0, 2: 0.0, 3: 0.0})
    decision = pruner.should_prune(bad, peers_of(PEERS), maximize=True)
    assert not decision.prune
    assert decision.reason == "startup: 3 of 4 complete trials"
    pruner = make_pruner("median", PrunerSettings(n_startup_trials=3))
    assert pruner.should_prune(bad, peers_of(PEERS), maximize=True).prune


def test_no_complete_trial_never_prunes_even_with_zero_startup():
    pruner = make_pruner("median", PrunerSettings(n_startup_trials=0))
    running_only = {k: v for k, v in peers_of(PEERS).items() if v.state != "complete"}
    assert not pruner.should_prune(StepHistory(9, "running", {1: 0.0}), running_only,
                                   maximize=True).prune


def test_warmup():
    # A hopeless curve is judged first at step n_warmup_steps (Optuna: step < warm-up is skipped).
    bad = {1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0}
    for warmup, expected in [(0, 1), (1, 1), (2, 2), (3, 3), (4, 4), (5, None)]:
        pruner = make_pruner("median", PrunerSettings(n_startup_trials=1, n_warmup_steps=warmup))
        assert first_pruned_step(pruner, 9, bad, peers_of(PEERS), maximize=True) == expected


@pytest.mark.parametrize("warmup, interval, steps, judged", [
    # Every step reported, interval 2 from 0: steps 0, 2, 4 open an interval.
    (0, 2, [0, 1, 2, 3, 4, 5], [0, 2, 4]),
    # Odd steps only: each is the first report of its interval [0,2), [2,4), [4,6).
    (0, 2, [1, 3, 5], [1, 3, 5]),
    # Warm-up 3, interval 3: intervals start at 3, 6, 9.
    (3, 3, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [3, 6, 9]),
    # Jumps: 2 -> 7 crosses the interval starting at 6.
    (0, 3, [2, 7, 8], [2, 7]),
])
def test_interval_steps(warmup, interval, steps, judged):
    pruner = make_pruner("median", PrunerSettings(n_warmup_steps=warmup, interval_steps=interval))
    got = [s for i, s in enumerate(steps)
           if pruner.due(StepHistory(1, "running", {t: 0.5 for t in steps[:i + 1]}))]
    assert got == judged


def test_n_min_trials():
    # Step 4 was reached by two complete trials: n_min_trials=3 means no decision there.
    curve = {1: .9, 2: .9, 3: .9, 4: .10}
    pruner = make_pruner("median", PrunerSettings(n_startup_trials=1, value="last",
                                                  n_min_trials=3))
    trial = StepHistory(9, "running", curve)
    decision = pruner.should_prune(trial, peers_of(PEERS), maximize=True)
    assert decision == Decision(False, "2 complete trials reached step 4")
    pruner = make_pruner("median", PrunerSettings(n_startup_trials=1, value="last",
                                                  n_min_trials=2))
    assert pruner.should_prune(trial, peers_of(PEERS), maximize=True).prune


def test_nan():
    pruner = make_pruner("median", PrunerSettings(n_startup_trials=1))
    peers = peers_of(PEERS)
    peers[5] = StepHistory(5, "complete", {1: math.nan, 2: math.nan})  # a NaN peer is ignored
    all_nan = StepHistory(9, "running", {1: math.nan})
    assert pruner.should_prune(all_nan, peers, maximize=True).prune
    # best so far skips a NaN step; only all-NaN is pruned
    partly = StepHistory(9, "running", {1: 0.55, 2: math.nan})  # .55 >= median .50
    assert not pruner.should_prune(partly, peers, maximize=True).prune


def test_reason_names_metric_and_values():
    pruner = make_pruner("median", PrunerSettings(n_startup_trials=1).resolve("val_accuracy",
                                                                              "maximize"))
    d = pruner.should_prune(StepHistory(9, "running", {1: .1, 2: .2}), peers_of(PEERS),
                            maximize=True)
    assert d.prune
    assert d.reason == ("best val_accuracy 0.2 at step 2 is worse than the median 0.5 of "
                        "3 complete trials")
