"""Cost-aware ``auto``: GP's turns only while GP proposals stay within PROPOSAL_SHARE of the
round's trial time. The durations are fabricated: the picks depend on nothing else."""

from __future__ import annotations

import dataclasses

from support.spaces import space_of
from test_model_samplers import NUMERIC, seeded_history

from hpsearch.samplers.auto import (PROPOSAL_SHARE, AutoSampler, gp_seconds, pick,
                                    round_cost)
from hpsearch.samplers.model import Finished


def timed(history: list[Finished], seconds: float, by: str = "sobol") -> list[Finished]:
    return [dataclasses.replace(t, seconds=seconds, proposed_by=by) for t in history]


def test_the_rule_with_fabricated_durations() -> None:
    n = 20
    cost = gp_seconds(n)
    assert pick(n, 13) == "gp"  # no durations known: the plain alternation
    assert pick(n, 12, trial_seconds=1e6) == "tpe"  # TPE's turns stay TPE's
    enough = cost / PROPOSAL_SHARE
    assert pick(n, 13, trial_seconds=enough) == "gp"
    assert pick(n, 13, trial_seconds=enough * 0.99) == "tpe"
    # GP already took 3 turns: 4 proposals' worth of trial time is needed for the next
    assert pick(n, 13, trial_seconds=3.5 * enough, gp_proposed=3) == "tpe"
    assert pick(n, 13, trial_seconds=4 * enough, gp_proposed=3) == "gp"


def test_round_cost_reads_durations_and_proposers() -> None:
    history = [Finished({}, 1.0, seconds=2.0, proposed_by="gp"),
               Finished({}, 1.0, seconds=3.0, proposed_by="tpe"),
               Finished({}, None, state="failed", seconds=None, proposed_by="gp")]
    assert round_cost(history) == (5.0, 2)
    assert round_cost([Finished({}, 1.0)]) == (None, 0)


def test_instant_trials_get_tpe_and_slow_ones_keep_gps_turns() -> None:
    space = space_of(NUMERIC)
    history = seeded_history(space)
    auto = AutoSampler(space, seed=0)
    assert auto.propose(timed(history, 0.002), [], index=13).method == "tpe"
    assert auto.propose(timed(history, 60.0), [], index=13).method == "gp"


def simulated_picks(trial_seconds: float, trials: int = 60) -> list[str]:
    """The picks of indices 10.. of a round whose trials each take ``trial_seconds``, from the
    rule alone (as the claims would make them)."""
    history: list[Finished] = [Finished({}, 1.0, seconds=trial_seconds, proposed_by="sobol")
                               for _ in range(10)]
    picks = []
    for index in range(10, trials):
        seconds, gp = round_cost(history)
        picks.append(pick(len(history), index, trial_seconds=seconds, gp_proposed=gp))
        history.append(Finished({}, 1.0, seconds=trial_seconds, proposed_by=picks[-1]))
    return picks


def test_tenth_of_a_second_trials_get_a_gp_turn_now_and_then() -> None:
    picks = simulated_picks(0.1)
    share = picks.count("gp") * gp_seconds(60) / (60 * 0.1)
    assert 0 < picks.count("gp") < 25 and share <= PROPOSAL_SHARE * 1.01
    assert simulated_picks(0.1) == picks  # the same history and durations: the same picks


def test_one_second_trials_keep_every_gp_turn() -> None:
    # GP's proposals (0.75-1.5 s estimated here) fit in the trials' own time: the alternation.
    assert simulated_picks(1.0) == ["tpe", "gp"] * 25
