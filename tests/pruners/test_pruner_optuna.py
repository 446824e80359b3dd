"""Cross-check: on random asynchronous rounds, the median and ASHA decisions taken from stored
curves alone equal Optuna's (MedianPruner, SuccessiveHalvingPruner), which keep their own
records (optuna is a dependency of hpsearch: no skip)."""

from __future__ import annotations

import random

import optuna
import pytest

from hpsearch.pruners import PrunerSettings, StepHistory, make_pruner


def _events(rng: random.Random, n_trials: int, n_steps: int):
    """(time, trial, step, value): trials start staggered and report at random speeds."""
    events = []
    for t in range(n_trials):
        start = t * rng.uniform(0.2, 1.5)
        final, tau = rng.uniform(0.5, 1.0), rng.uniform(1.0, 6.0)
        clock = start
        for step in range(1, n_steps + 1):
            clock += rng.uniform(0.5, 1.5)
            # A noisy rising curve; ties are possible through rounding, on purpose.
            value = round(final * (1 - 0.9 ** (step * 3 / tau)) + rng.gauss(0, 0.03), 2)
            events.append((clock, t, step, value))
    events.sort()
    return events


def _replay(events, n_steps, *, ours, theirs, maximize):
    """Feed the same reports to both; return both lists of (trial, step, pruned)."""
    study = optuna.create_study(direction="maximize" if maximize else "minimize", pruner=theirs)
    asked: dict[int, object] = {}
    stored: dict[int, StepHistory] = {}
    done: set[int] = set()
    mine, optunas = [], []
    for _, t, step, value in events:
        if t in done:
            continue
        if t not in asked:
            asked[t] = study.ask()
        number = asked[t].number
        # the run loop: store the step, then ask with the peers read back from storage
        curve = dict(stored[number].values) if number in stored else {}
        curve[step] = value
        stored[number] = StepHistory(number, "running", curve)
        peers = {n: h for n, h in stored.items() if n != number}
        me = ours.due(stored[number]) and ours.should_prune(stored[number], peers,
                                                            maximize=maximize).prune
        asked[t].report(value, step)
        them = asked[t].should_prune()
        mine.append((t, step, bool(me)))
        optunas.append((t, step, them))
        if them or step == n_steps:  # follow Optuna, so the two rounds stay the same
            done.add(t)
            state = "pruned" if them else "complete"
            stored[number] = StepHistory(number, state, curve)
            if them:
                study.tell(asked[t], state=optuna.trial.TrialState.PRUNED)
            else:
                study.tell(asked[t], value)
    return mine, optunas


@pytest.fixture(autouse=True)
def _quiet():
    optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("maximize", [True, False], ids=["maximize", "minimize"])
def test_median_matches_optuna(seed, maximize):
    rng = random.Random(seed)
    startup, warmup, interval = rng.choice([0, 2, 4]), rng.choice([0, 1, 3]), rng.choice([1, 2])
    events = _events(rng, 14, 10)
    if not maximize:
        events = [(c, t, s, -v) for c, t, s, v in events]
    ours = make_pruner("median", PrunerSettings(n_startup_trials=startup, n_warmup_steps=warmup,
                                                interval_steps=interval))
    theirs = optuna.pruners.MedianPruner(n_startup_trials=startup, n_warmup_steps=warmup,
                                         interval_steps=interval)
    mine, optunas = _replay(events, 10, ours=ours, theirs=theirs, maximize=maximize)
    assert mine == optunas
    assert any(p for *_, p in mine) or startup > 0   # the check has teeth


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("maximize", [True, False], ids=["maximize", "minimize"])
def test_asha_matches_optuna(seed, maximize):
    rng = random.Random(100 + seed)
    min_resource, rf, rate = rng.choice([1, 2]), rng.choice([2, 3, 4]), rng.choice([0, 1])
    events = _events(rng, 16, 12)
    if not maximize:
        events = [(c, t, s, -v) for c, t, s, v in events]
    ours = make_pruner("asha", PrunerSettings(min_resource=min_resource, reduction_factor=rf,
                                              min_early_stopping_rate=rate))
    theirs = optuna.pruners.SuccessiveHalvingPruner(
        min_resource=min_resource, reduction_factor=rf, min_early_stopping_rate=rate)
    mine, optunas = _replay(events, 12, ours=ours, theirs=theirs, maximize=maximize)
    assert mine == optunas
    assert any(p for *_, p in mine)
