"""Multi-objective pruning (MO-ASHA's rule) against a rung computed by hand."""

from __future__ import annotations

import math

from hpsearch.pruners.multi import mo_promoted, rung_decision, rung_vector

UP = (True, False)  # accuracy up, loss down
# At rung 3, by hand: A, B, E are the first front (none beats another in both); C is beaten by
# A, D by C, F by D. Six vectors, reduction factor 3: the best 2 go on. In the first front the
# crowding distance puts its ends (B: least loss, A: most accuracy) first, E (distance 2) after.
AT_RUNG = {"A": (0.9, 0.3), "B": (0.8, 0.2), "C": (0.7, 0.5), "D": (0.6, 0.6),
           "E": (0.85, 0.25), "F": (0.5, 0.9)}


def steps_of(acc: float, loss: float) -> dict[int, dict[str, float]]:
    # reported every other step: the rung's value is the first step at or past it (4)
    return {2: {"acc": acc / 2, "loss": loss * 2}, 4: {"acc": acc, "loss": loss}}


def test_hand_computed_rung() -> None:
    pts = list(AT_RUNG.values())
    expect = {"A": (True, 0), "B": (True, 0), "E": (False, 0), "C": (False, 1),
              "D": (False, 2), "F": (False, 3)}
    for name, v in AT_RUNG.items():
        ok, rank, k = mo_promoted(v, pts, UP, 3)
        assert (ok, rank) == expect[name], name
        assert k == 2
    # reduction factor 2 (the median rule): the best 3 -- the whole first front
    assert [mo_promoted(v, pts, UP, 2)[0] for v in AT_RUNG.values()] == \
        [True, True, False, False, True, False]


def test_rung_decision_from_stored_steps() -> None:
    steps = {i: steps_of(*v) for i, v in enumerate(AT_RUNG.values())}
    e = steps.pop(4)
    prune, reason = rung_decision(e, steps, ["acc", "loss"], UP, rung=3, reduction_factor=3)
    assert prune and reason == "(acc, loss) at step 3 is on front 1: not in the best 2 of 6"
    a = steps.pop(0)
    steps[4] = e
    assert rung_decision(a, steps, ["acc", "loss"], UP, 3, 3) == \
        (False, "(acc, loss) at step 3 is on front 1: in the best 2 of 6")


def test_objectives_not_reported_per_step() -> None:
    # inference_ms comes only with the result: the rung compares accuracy alone
    trial = {3: {"acc": 0.5}}
    peers = {1: {3: {"acc": 0.9}}, 2: {3: {"acc": 0.8}}, 3: {3: {"acc": 0.7}}}
    prune, reason = rung_decision(trial, peers, ["acc", "inference_ms"], UP, 3, 2)
    assert prune and reason.startswith("(acc) at step 3 is on front 4")
    assert rung_decision({3: {"loss": 1.0}}, peers, ["acc", "ms"], UP, 3, 2) == \
        (False, "no objective reported per step by step 3: no decision")
    assert rung_decision({3: {"acc": None}}, peers, ["acc"], UP, 3, 2)[0]
    assert math.isnan(rung_vector({3: {"acc": None}}, ["acc"], 3)["acc"])


def test_multi_decision_follows_each_pruner_s_schedule() -> None:
    from hpsearch.pruners import PrunerSettings, make_pruner
    from hpsearch.pruners.multi import multi_decision

    metrics = ["acc", "loss"]
    peers = {i: ("complete", steps_of(*v)) for i, v in enumerate(AT_RUNG.values()) if i != 4}
    e = steps_of(*AT_RUNG["E"])
    asha = make_pruner("asha", PrunerSettings(min_resource=3, reduction_factor=3))
    # the trial's latest step (4) is its first past rung 0 (step 3): judged there
    d = multi_decision(asha, 4, e, peers, metrics, UP)
    assert d.prune and d.reason == "rung 0: (acc, loss) at step 3 is on front 1: not in the best 2 of 6"
    # no new rung at step 2 (< 3): no decision, no reason
    assert not multi_decision(asha, 4, {2: e[2]}, peers, metrics, UP)
    # median: factor 2, complete peers only, after start-up
    median = make_pruner("median", PrunerSettings(n_startup_trials=5))
    d = multi_decision(median, 4, e, peers, metrics, UP)
    assert not d.prune and d.reason == "(acc, loss) at step 4 is on front 1: in the best 3 of 6"
    few = {n: p for n, p in peers.items() if n < 2}
    assert multi_decision(median, 4, e, few, metrics, UP).reason == \
        "startup: 2 of 5 complete trials"
    running = {n: ("running", s) for n, (_, s) in peers.items()}
    assert multi_decision(median, 4, e, running, metrics, UP).reason.startswith("startup: 0")
    # hyperband: the same rule within the trial's bracket
    hb = make_pruner("hyperband", PrunerSettings(min_resource=3, reduction_factor=3,
                                                 max_resource=9, brackets=1))
    d = multi_decision(hb, 4, e, peers, metrics, UP)
    assert d.prune and d.reason.startswith("bracket 0: rung 0: (acc, loss) at step 3")
