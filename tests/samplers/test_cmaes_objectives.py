"""cmaes with several objectives and constraints: each generation told its places in NSGA-II's
order (feasible first, front rank, crowding), from the points known when it completed; the
proposals reproducible and moving toward the front; a study run from the CLI."""

from __future__ import annotations

import math

import pytest

from hpsearch.pareto import front_ranks, hypervolume
from hpsearch.samplers import Finished, make_sampler
from hpsearch.samplers.cmaes import CmaEsSampler, generation_fitness
from hpsearch.space import parse_space

SPACE = '''
[study]
metric = ["error", "cost"]
direction = ["minimize", "maximize"]
sampler = "cmaes"
n_startup_trials = 8
[objective]
kind = "python"
function = "cm:f"
[params]
a = { type = "uniform", low = 0.0, high = 1.0 }
b = { type = "uniform", low = 0.0, high = 1.0 }
c = { type = "uniform", low = 0.0, high = 1.0 }
'''


def problem(p: dict) -> tuple[float, float]:
    """Two objectives that pull apart on ``a``; ``b`` and ``c`` only hurt away from 0.3 and 0.7
    (the front has b = 0.3, c = 0.7). ``cost`` is maximised (a negated cost)."""
    off = (p["b"] - 0.3) ** 2 + (p["c"] - 0.7) ** 2
    return p["a"] + off, -((1 - p["a"]) + off)


def run(smp, n: int, start: int = 0, history: list[Finished] | None = None) -> list[Finished]:
    history = list(history or [])
    for i in range(start, n):
        params = smp.propose(history, [], index=i).params
        e, c = problem(params)
        history.append(Finished(params, e, "complete", values={"error": e, "cost": c},
                                feasible=True))
    return history


@pytest.fixture(scope="module")
def space():
    return parse_space(SPACE, source="cm.toml")


def test_the_generation_is_ranked_feasible_first_then_front_then_crowding() -> None:
    up = (False, True)  # minimise the first, maximise the second
    # earlier points: the front's two ends and one near the upper end
    known = [((0.0, 0.0), True), ((1.0, 1.0), True), ((0.8, 0.8), True)]
    members = [((0.9, 0.9), True),    # on the front, between 0.8 and 1: little room
               ((0.5, 0.5), True),    # on the front, between 0 and 0.8: much room
               ((0.6, 0.4), True),    # dominated by (0.5, 0.5): the second front
               ((0.0, 2.0), False)]   # dominates everything, but infeasible
    assert generation_fitness(known + members, len(members), up) == [1.0, 0.0, 2.0, 3.0]
    # the directions are respected: with both minimised, (0.6, 0.4) is on the front
    flipped = generation_fitness(known + members[:3], 3, (False, False))
    assert flipped[2] == 0.0
    # an earlier point that dominates a member lowers its front, not its feasibility
    assert generation_fitness([((0.0, 0.0), True), ((0.1, 0.1), True)], 1, (False, False)) \
        == [0.0]


def test_cmaes_is_swapped_in_for_several_objectives(space) -> None:
    smp = make_sampler("cmaes", space, seed=3)
    assert type(smp) is CmaEsSampler and smp.popsize() == 7
    h = run(smp, 30)
    assert smp.propose(h, [], index=1).method == "sobol"
    again = make_sampler("cmaes", space, seed=3)
    assert [again.propose(h[:i], [], index=i) for i in range(8, 30)] == \
        [smp.propose(h[:i], [], index=i) for i in range(8, 30)]
    # a new sampler (no cache) at the end agrees with the one that replayed step by step
    assert again.propose(h, [], index=30) == make_sampler("cmaes", space, seed=3).propose(
        h, [], index=30)


def test_a_trial_finished_out_of_order_replays_from_its_generation_on(space) -> None:
    smp = make_sampler("cmaes", space, seed=3)
    history = run(smp, 8 + 7 * 6)                  # 50 trials: 7 generations of 7, and one
    smp.propose(history, [], index=50)
    kept = list(smp._states)
    late = history[:30] + history[31:45] + [history[30]] + history[45:]  # 30 finished late
    got = smp.propose(late, [], index=50)
    assert got == make_sampler("cmaes", space, seed=3).propose(late, [], index=50)
    assert [a is b for a, b in zip(smp._states, kept)] == [True] * 4 + [False] * 3


def test_the_proposals_move_toward_the_front(space) -> None:
    smp = make_sampler("cmaes", space, seed=11)
    history = run(smp, 8 + 7 * 12)  # start-up, then twelve generations of seven
    points = [(t.values["error"], t.values["cost"]) for t in history]
    ranks = front_ranks(points, (False, True))
    first, last = ranks[8:8 + 21], ranks[-21:]  # the first and last three generations
    assert sum(last) / len(last) < sum(first) / len(first)
    reference = (3.0, -3.0)
    assert hypervolume(points[-21:], (False, True), reference) > \
        hypervolume(points[8:29], (False, True), reference)
    # the model's proposals sit nearer the front's b and c than the start-up's uniform ones
    def off(trials: list[Finished]) -> float:
        return sum(math.hypot(t.params["b"] - 0.3, t.params["c"] - 0.7) for t in trials) \
            / len(trials)

    assert off(history[8:]) < 0.75 * off(history[:8])


def test_infeasible_trials_are_ranked_last(space) -> None:
    text = SPACE.replace("[params]", '[[constraint]]\nmetric = "error"\nmax = 0.5\n[params]')
    constrained = parse_space(text, source="cmc.toml")
    smp = make_sampler("cmaes", constrained, seed=5)
    history: list[Finished] = []
    for i in range(8 + 7 * 8):
        params = smp.propose(history, [], index=i).params
        e, c = problem(params)
        history.append(Finished(params, e, "complete", values={"error": e, "cost": c},
                                feasible=e <= 0.5))
    share = [sum(not t.feasible for t in history[g:g + 21]) / 21 for g in (8, len(history) - 21)]
    assert share[1] < share[0]


OBJECTIVE = '''
def f(params, report):
    off = (params["b"] - 0.3) ** 2 + (params["c"] - 0.7) ** 2
    return {"error": params["a"] + off, "cost": -((1 - params["a"]) + off)}
'''


def test_a_two_objective_cmaes_study_runs_from_the_cli(project, invoke) -> None:
    import hpsearch

    (project / "proj" / "cm.py").write_text(OBJECTIVE)
    (project / "proj" / "cm.toml").write_text(SPACE.replace("[study]",
                                                             '[study]\nname = "cm"\ntrials = 22'))
    result = invoke("run", project / "proj" / "cm.toml")
    assert result.exit_code == 0, result.output
    storage = hpsearch.open_storage(f"sqlite:///{project}/h.db")
    trials = storage.trials(storage.get_study("cm"))
    assert len(trials) == 22 and all(t.state == "complete" for t in trials)
    by_number = sorted(trials, key=lambda t: t.number)
    assert [t.proposed_by for t in by_number] == ["sobol"] * 8 + ["cmaes"] * 14
    assert hpsearch.study_front(storage, "cm").members
    storage.dispose()
