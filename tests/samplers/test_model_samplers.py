"""Model-based samplers: pinned proposals, conditions, pending trials, start-up, forbid, auto."""

from __future__ import annotations

import math

import pytest
from support.spaces import SAMPLER_COND, space_of

from hpsearch.samplers import SobolSampler
from hpsearch.samplers.auto import AutoSampler, pick
from hpsearch.samplers.cmaes import CmaEsSampler
from hpsearch.samplers.coords import Coordinates
from hpsearch.samplers.gp import GPSampler
from hpsearch.samplers.model import Finished, allowed_random, history_of
from hpsearch.storage.records import FinishedTrial, RoundHistory
from hpsearch.samplers.tpe import TPESampler
from hpsearch.space.forbid import parse_forbid

NUMERIC = ('lr = { type = "log_uniform", low = 1e-4, high = 1e-1 }\n'
           'beta = { type = "log_one_minus", low = 0.9, high = 0.999 }\n'
           'n = { type = "int", low = 1, high = 4 }\n'
           'width = { type = "int", low = 16, high = 512, log = true }\n'
           'dropout = { type = "uniform", low = 0.0, high = 0.5, step = 0.1 }\n')
MIXED = NUMERIC + "\n".join(line for line in SAMPLER_COND.splitlines()
                                if not line.startswith("lr "))


def score(p: dict) -> float:
    v = -(math.log10(p["lr"]) + 2.5) ** 2 - (math.log10(1 - p["beta"]) + 2) ** 2 \
        - 0.1 * (p["n"] - 2) ** 2 - (math.log2(p["width"]) - 7) ** 2 / 10 - p["dropout"]
    if "opt" in p:
        v += 0.3 if p["opt"] == "sgd" else 0.0
        v -= (p.get("momentum", 0.9) - 0.9) ** 2
    return v


def seeded_history(space, n: int = 12) -> list[Finished]:
    sobol = SobolSampler(space, seed=5)
    return [Finished(c, score(c)) for c in (sobol.propose(i) for i in range(n))]


def run(sampler, n: int) -> list[Finished]:
    history: list[Finished] = []
    for i in range(n):
        p = sampler.propose(history, [], index=i).params
        history.append(Finished(p, score(p)))
    return history


# ---------------------------------------------------------------------------- reproducibility
def test_tpe_proposal_is_pinned_for_a_seeded_history() -> None:
    space = space_of(MIXED)
    proposal = TPESampler(space, seed=3).propose(seeded_history(space), [], index=12)
    assert proposal.method == "tpe"
    assert proposal.params == pytest.approx(PINNED_TPE)


def test_cmaes_proposal_is_pinned_for_a_seeded_history() -> None:
    space = space_of(NUMERIC)
    history = seeded_history(space, 24)
    proposal = CmaEsSampler(space, seed=3).propose(history, [], index=24)
    assert proposal.method == "cmaes"
    assert proposal.params == pytest.approx(PINNED_CMAES)


@pytest.mark.parametrize("cls", [TPESampler, GPSampler, CmaEsSampler, AutoSampler])
def test_same_seed_and_history_give_the_same_proposal_in_a_new_sampler(cls) -> None:
    space = space_of(NUMERIC)
    history = seeded_history(space)
    a = cls(space, seed=4).propose(history, [], index=12)
    b = cls(space, seed=4).propose(history, [], index=12)
    assert a == b
    assert cls(space, seed=4).propose(history, [], index=13) != a


@pytest.mark.parametrize("cls", [TPESampler, CmaEsSampler,
                                 pytest.param(GPSampler, marks=pytest.mark.slow),
                                 pytest.param(AutoSampler, marks=pytest.mark.slow)])
def test_a_warm_sampler_proposes_what_a_new_one_does(cls) -> None:
    # A worker's sampler caches converted trials (and CMA-ES its replayed state) between
    # proposals. Histories that grow, reorder (a trial finishing out of number order) and
    # shrink back, with pruned and failed trials and running ones, must still give exactly a new
    # sampler's proposal for each.
    space = space_of(MIXED)
    history = seeded_history(space, 30)
    history[4] = Finished(history[4].params, None, "failed")
    history[7] = Finished(history[7].params, -3.0, "pruned")
    reordered = history[:10] + [history[12], history[10], history[11]] + history[13:]
    pending = [history[0].params, history[20].params]
    warm = cls(space, seed=4)
    for n, hist, running in [(20, history[:20], []), (30, history, pending), (30, reordered, []),
                             (25, reordered[:25], pending[:1]), (31, history, [])]:
        fresh = cls(space, seed=4).propose(hist, running, index=n)
        assert warm.propose(hist, running, index=n) == fresh


def test_the_cache_keeps_one_apart_from_true() -> None:
    # 1 == True in Python, not in a space: two trials that differ only there, swapped, must
    # not reuse each other's conversion. They tie for the best value, so their order decides
    # which one TPE's "good" group holds.
    space = space_of('flag = { type = "choice", values = [1, true] }\n'
                     'x = { type = "uniform", low = 0.0, high = 1.0 }\n', 'direction = "minimize"')
    rest = [Finished({"flag": f, "x": x}, 1 + x) for f, x in ((1, 0.2), (True, 0.9), (1, 0.6))]
    a = [Finished({"flag": 1, "x": 0.5}, 0.0), Finished({"flag": True, "x": 0.5}, 0.0)] + rest
    b = [a[1], a[0]] + rest
    warm = TPESampler(space, seed=2, n_startup=0)
    for index in range(5, 25):
        warm.propose(a, [], index=index)
        fresh = TPESampler(space, seed=2, n_startup=0).propose(b, [], index=index)
        assert warm.propose(b, [], index=index) == fresh


def test_cached_trials_come_out_of_proposals_unchanged() -> None:
    # Optuna's storage holds the cached trials without copying them (samplers/shared.py): no
    # proposal, forbidden re-asks included, may change one.
    space = space_of(NUMERIC)
    space.forbid = parse_forbid([{"expr": "lr > 1e-3 and lr < 1e-2"}], space.params)
    history = seeded_history(space, 20)
    history[3] = Finished(history[3].params, None, "failed")
    sampler = TPESampler(space, seed=3)
    for index in range(20, 26):
        sampler.propose(history, [history[0].params], index=index)
    cached = sampler._last  # (finished trial, its conversion) of the last proposal's study
    assert len(cached) == 20 and [h for h, _ in cached] == history
    for i, (finished, trial) in enumerate(cached):
        again = sampler._convert(finished)
        assert (trial.number, trial.state, trial.value, trial.params, trial.distributions,
                trial.intermediate_values, trial.user_attrs, trial.system_attrs) == \
               (i, again.state, again.value, again.params, again.distributions,
                again.intermediate_values, again.user_attrs, again.system_attrs)


def test_history_of_gives_one_view_per_record_and_a_new_one_for_a_new_record() -> None:
    records = [FinishedTrial(number=n, params={"x": n / 10}, value=float(n), state="complete",
                             seconds=1.0, proposed_by="tpe") for n in range(3)]
    seen: dict = {}
    first, pending = history_of(RoundHistory(finished=records, pending=[{"x": 0.5}]), seen)
    again, _ = history_of(RoundHistory(finished=list(records)), seen)
    assert pending == [{"x": 0.5}] and all(a is b for a, b in zip(first, again))
    assert first[1] == Finished({"x": 0.1}, 1.0, "complete", seconds=1.0, proposed_by="tpe")
    changed = FinishedTrial(number=1, params={"x": 0.1}, value=9.0, state="complete")
    third, _ = history_of(RoundHistory(finished=[records[0], changed, records[2]]), seen)
    assert third[0] is first[0] and third[2] is first[2] and third[1].value == 9.0
    assert len(seen) == 3 and records[1] not in [r for r, _ in seen.values()]  # this history's
    fresh, _ = history_of(RoundHistory(finished=records))  # no memory: new views
    assert fresh == first and all(a is not b for a, b in zip(fresh, first))


def test_a_changed_trial_at_a_known_position_is_converted_again() -> None:
    # The conversion is reused for the same object at the same position only.
    space = space_of(NUMERIC)
    history = seeded_history(space, 12)
    warm = TPESampler(space, seed=4, n_startup=0)
    warm.propose(history, [], index=12)
    changed = list(history)
    changed[5] = Finished(history[5].params, -100.0)
    assert warm.propose(changed, [], index=13) == \
        TPESampler(space, seed=4, n_startup=0).propose(changed, [], index=13)
    assert warm._last[5][1].value == -100.0


def test_proposals_are_values_of_the_space() -> None:
    space = space_of(MIXED)
    for p in (t.params for t in run(TPESampler(space, seed=0), 30)):
        for name, value in p.items():
            assert space.params[name].contains(value), (name, value)
        assert p["fixed"] == 7


# ---------------------------------------------------------------------------- start-up
def test_startup_indices_are_the_sobol_points() -> None:
    space = space_of(MIXED)
    sampler = TPESampler(space, seed=2, n_startup=5)
    sobol = SobolSampler(space, seed=2)
    history = seeded_history(space)
    for i in range(5):
        proposal = sampler.propose(history, [], index=i)
        assert proposal == type(proposal)(sobol.propose(i), "sobol")
    assert sampler.propose(history, [], index=5).method == "tpe"


def test_without_a_completed_trial_the_model_waits() -> None:
    space = space_of(NUMERIC)
    failed = [Finished(SobolSampler(space, seed=0).propose(i), None, "failed") for i in range(12)]
    assert TPESampler(space, seed=0).propose(failed, [], index=12).method == "sobol"


# ---------------------------------------------------------------------------- conditions
@pytest.mark.slow  # over a second: out of `make test-fast`
def test_conditions_are_respected_over_thousands_of_draws() -> None:
    space = space_of(MIXED)
    coords = Coordinates(space)
    history = run(TPESampler(space, seed=1, n_startup=5), 25)
    import optuna

    study = TPESampler(space, seed=1)._study(history, [], 9)
    seen = set()
    for _ in range(2000):
        trial = study.ask()
        config = coords.suggest(trial)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)  # not a pending point: O(1) each
        assert ("momentum" in config) == (config["opt"] == "sgd")
        seen.add(config["opt"])
    assert seen == {"sgd", "adam"}
    assert isinstance(study.sampler, optuna.samplers.TPESampler)


def test_model_proposals_keep_conditions_and_absent_values_stay_absent() -> None:
    space = space_of(MIXED)
    for t in run(AutoSampler(space, seed=7, n_startup=4), 40):
        assert ("momentum" in t.params) == (t.params["opt"] == "sgd")


# ---------------------------------------------------------------------------- pending trials
@pytest.mark.parametrize("cls", [TPESampler, GPSampler])
def test_pending_trials_move_the_next_proposal(cls) -> None:
    space = space_of(NUMERIC)
    history = seeded_history(space)
    sampler = cls(space, seed=0)
    alone = sampler.propose(history, [], index=12).params
    busy = sampler.propose(history, [alone] * 4, index=12).params
    assert busy != alone


def test_four_workers_at_once_propose_four_different_points() -> None:
    space = space_of(MIXED)
    history = seeded_history(space)
    sampler = TPESampler(space, seed=0)
    pending: list[dict] = []
    for index in range(12, 16):
        pending.append(sampler.propose(history, pending, index=index).params)
    assert len({tuple(sorted(p.items())) for p in pending}) == 4


def test_trials_outside_the_round_box_are_left_out() -> None:
    space = space_of(NUMERIC)
    history = seeded_history(space) + [Finished({"lr": 5.0, "beta": 0.95, "n": 2, "width": 64,
                                                 "dropout": 0.1}, 100.0)]
    proposal = TPESampler(space, seed=0).propose(history, [{"lr": 9.0}], index=13)
    assert space.params["lr"].contains(proposal.params["lr"])


# ---------------------------------------------------------------------------- forbidden combinations
@pytest.mark.parametrize("cls", [TPESampler, CmaEsSampler])
def test_model_samplers_never_propose_a_forbidden_configuration(cls) -> None:
    space = space_of(NUMERIC)
    # The optimum (lr ~ 3e-3, n = 2) is forbidden: the model keeps being pulled there.
    space.forbid = parse_forbid([{"expr": "lr > 1e-3 and lr < 1e-2"}, {"when": {"n": 2}}],
                                space.params)
    history = run(cls(space, seed=3, n_startup=6), 60)
    assert not any(space.forbid.is_forbidden(t.params) for t in history)


def test_a_model_that_only_finds_forbidden_points_falls_back_to_random() -> None:
    space = space_of(NUMERIC)
    history = seeded_history(space)
    space.forbid = parse_forbid([{"expr": "n < 4"}], space.params)
    proposal = TPESampler(space, seed=0, max_retries=0).propose(history, [], index=12)
    assert proposal.params["n"] == 4
    assert proposal.method in ("tpe", "random")
    fallback = allowed_random(space, space.forbid, seed=0, index=12)
    assert fallback["n"] == 4 and fallback == allowed_random(space, space.forbid, seed=0, index=12)


# ---------------------------------------------------------------------------- auto
def test_auto_alternates_tpe_and_gp_then_tpe_alone_past_gp_max_trials() -> None:
    from hpsearch.samplers.auto import GP_MAX_TRIALS

    assert [pick(20, i) for i in (12, 13)] == ["tpe", "gp"]
    assert pick(GP_MAX_TRIALS - 1, 13) == "gp"
    assert pick(GP_MAX_TRIALS, 13) == "tpe"
    space = space_of(NUMERIC)
    history = seeded_history(space)
    auto = AutoSampler(space, seed=0)
    assert auto.propose(history, [], index=13).method == "gp"
    assert auto.propose(history, [], index=12).method == "tpe"
    assert auto.propose(history, [], index=3).method == "sobol"
    gp = GPSampler(space, seed=0).propose(history, [], index=13)
    assert auto.propose(history, [], index=13).params == gp.params


def test_auto_gives_the_proposal_of_the_model_it_picked() -> None:
    space = space_of(MIXED)
    history = seeded_history(space)
    auto = AutoSampler(space, seed=6).propose(history, [], index=12)
    tpe = TPESampler(space, seed=6).propose(history, [], index=12)
    assert auto.params == tpe.params and auto.method == "tpe"
    auto = AutoSampler(space, seed=6).propose(history, [], index=13)
    gp = GPSampler(space, seed=6).propose(history, [], index=13)
    assert auto.params == gp.params and auto.method == "gp"


# ---------------------------------------------------------------------------- the coordinates
def test_coordinates_round_trip_every_value() -> None:
    space = space_of(MIXED)
    coords = Coordinates(space)
    for config in (SobolSampler(space, seed=1).propose(i) for i in range(64)):
        params, dists = coords.optuna_params(config)
        assert set(params) == {n for n in config if n != "fixed"}
        assert coords.config(params) == config
        assert all(dists[n]._contains(dists[n].to_internal_repr(v)) for n, v in params.items())


# Printed once and pasted: a change here is a change of behaviour (Optuna's TPE, or our mapping).
PINNED_TPE = {"lr": 0.0011036766332965322, "beta": 0.9888301810760808, "n": 3, "width": 411,
              "dropout": 0.0, "opt": "adam", "fixed": 7}
PINNED_CMAES = {"lr": 0.0026697136751293996, "beta": 0.9761227734706994, "n": 3, "width": 123,
                "dropout": 0.3}


# ---------------------------------------------------------------------------- GP's value warp
def test_power_warp_keeps_the_order_and_spreads_values_that_span_decades() -> None:
    from hpsearch.samplers.gp import power_warp

    values = [1e-30, 1e-12, 3e-6, 0.02, 0.4]
    history = [Finished({"x": i}, v) for i, v in enumerate(values)]
    history.insert(2, Finished({"x": 9}, None, "failed"))
    warped = power_warp(history)
    assert warped[2] == history[2]                       # not a completed trial: as it was
    out = [t.value for t in warped if t.usable]
    assert out == sorted(out) and len(set(out)) == 5     # monotone: same ranking, same best
    # Raw, the two smallest are 1e-12 apart in a range of 0.4: flat to a GP. Warped (Box-Cox,
    # lambda near 0: about a log) they are a third of the range apart.
    assert (values[1] - values[0]) / (values[-1] - values[0]) < 1e-10
    assert (out[1] - out[0]) / (out[-1] - out[0]) > 0.3


def test_power_warp_handles_negative_values_and_leaves_too_few_alone() -> None:
    from hpsearch.samplers.gp import power_warp

    neg = [Finished({"x": i}, v) for i, v in enumerate([-3.3, -1.0, -0.2, -0.01, 0.0])]
    out = [t.value for t in power_warp(neg)]             # Yeo-Johnson: zero and below are fine
    assert out == sorted(out) and all(math.isfinite(v) for v in out)
    two = [Finished({"x": 0}, 5.0), Finished({"x": 1}, 5.0), Finished({"x": 2}, 1.0)]
    assert power_warp(two) == two                        # fewer than three distinct values


@pytest.mark.slow  # GP: over a second
def test_optunas_log_lines_stay_out_of_the_run_and_its_level_is_restored(capfd) -> None:
    import optuna

    class Chatty(GPSampler):  # GP's fallback warning, on demand
        def _optuna_sampler(self, seed):
            inner = super()._optuna_sampler(seed)
            original = inner.sample_relative

            def sample_relative(study, trial, search_space):
                optuna.logging.get_logger("optuna._gp.gp").warning(
                    "The optimization of kernel parameters failed")
                return original(study, trial, search_space)

            inner.sample_relative = sample_relative
            return inner

    space = space_of(NUMERIC)
    optuna.logging.set_verbosity(optuna.logging.INFO)
    try:
        Chatty(space, seed=0).propose(seeded_history(space), [], index=12)
        assert optuna.logging.get_verbosity() == optuna.logging.INFO
    finally:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
    err = capfd.readouterr().err
    assert "kernel parameters" not in err and "A new study created" not in err
