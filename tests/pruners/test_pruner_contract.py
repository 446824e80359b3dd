"""What every registered pruner promises."""

from __future__ import annotations


import pytest

from hpsearch.pruners import (
    PRUNERS, Decision, Pruned, Pruner, PrunerSettings, StepHistory, make_pruner,
)
from hpsearch.errors import SpaceError


def _make(name: str) -> Pruner:
    return make_pruner(name, PrunerSettings(max_resource=27, n_startup_trials=0), seed=3)


def test_registry():
    assert list(PRUNERS) == ["none", "median", "asha", "hyperband"]
    for name, cls in PRUNERS.items():
        assert cls.name == name and isinstance(_make(name), cls)
    with pytest.raises(SpaceError, match=r"^study.pruner: unknown pruner tpe \(known: none, "):
        make_pruner("tpe")


@pytest.mark.parametrize("name", list(PRUNERS))
def test_alone_or_empty_never_pruned(name):
    pruner = _make(name)
    assert not pruner.due(StepHistory(0, "running", {}))
    # a trial alone in its round is never pruned (nothing to compare with)
    for step in range(1, 28):
        trial = StepHistory(0, "running", {s: 0.0 for s in range(1, step + 1)})
        assert not pruner.should_prune(trial, {}, maximize=True).prune


@pytest.mark.parametrize("name", list(PRUNERS))
def test_pure(name):
    # the same rows give the same decision, and nothing is mutated
    peers = {n: StepHistory(n, "complete", {s: n / 10 + s / 100 for s in range(1, 10)})
             for n in range(1, 8)}
    before = {n: dict(p.values) for n, p in peers.items()}
    trial = StepHistory(0, "running", {1: 0.05})
    decisions = {_make(name).should_prune(trial, peers, maximize=True) for _ in range(3)}
    assert len(decisions) == 1
    assert {n: dict(p.values) for n, p in peers.items()} == before


def test_decision_and_pruned():
    assert not Decision(False) and Decision(True, "why")
    exc = Pruned("val_accuracy 0.1 below the median", step=3)
    assert (exc.step, exc.reason, str(exc)) == (3, "val_accuracy 0.1 below the median",
                                                "val_accuracy 0.1 below the median")


def test_peer_states():
    # what the storage query may filter on: the median rule reads complete trials only
    assert {name: cls.peer_states for name, cls in PRUNERS.items()} == {
        "none": None, "median": ("complete",), "asha": None, "hyperband": None}
