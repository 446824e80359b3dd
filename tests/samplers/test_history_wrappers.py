"""The samplers that remember (samplers/history.py): priors, grids less finished points,
duplicate redraws, first configurations."""

from __future__ import annotations

from support.spaces import space_of

from hpsearch.samplers import make_sampler
from hpsearch.samplers.history import (
    Deduplicated, FirstConfigs, GridWithout, WithPrior, config_key, has_discrete,
)
from hpsearch.samplers.model import Finished

TWO = 'a = { type = "choice", values = ["x", "y"] }\nb = 3\n'


def test_config_key_ignores_order_and_keeps_types_apart():
    assert config_key({"a": 1, "b": "x"}) == config_key({"b": "x", "a": 1})
    assert len({config_key({"a": 1}), config_key({"a": 1.0}), config_key({"a": True})}) == 3


def test_repeats_are_possible_only_without_an_always_active_continuous_parameter():
    assert has_discrete(space_of(TWO))
    assert has_discrete(space_of(TWO + 'u = { type = "uniform", low = 0, high = 1, '
                                       'when = { a = "x" } }\n'))
    assert has_discrete(space_of('u = { type = "uniform", low = 0, high = 1, step = 0.5 }\n'))
    assert not has_discrete(space_of(TWO + 'u = { type = "uniform", low = 0, high = 1 }\n'))


def test_deduplicated_avoids_the_rounds_configurations_and_repeats_only_when_it_must():
    space = space_of(TWO)
    smp = Deduplicated(make_sampler("random", space, seed=0))
    history: list[Finished] = []
    for i in range(2):
        history.append(Finished(params=smp.propose(history, [], index=i).params, value=0.0))
    assert {h.params["a"] for h in history} == {"x", "y"}
    # two configurations exist: the third proposal has to repeat one, after its redraws
    third = smp.propose(history, [], index=2)
    assert third.params in [h.params for h in history] and third.method == "random"
    # a running trial's configuration is avoided too, and the same inputs give the same output
    first = smp.propose([], [], index=0).params
    other = smp.propose([], [first], index=0).params
    assert other != first and smp.propose([], [first], index=0).params == other


def test_grid_without_its_finished_points():
    space = space_of('a = { type = "choice", values = [1, 2, 3] }\n')
    grid = GridWithout(make_sampler("grid", space, seed=0), [{"a": 2}])
    assert grid.size == 2 and [grid.propose(0), grid.propose(1), grid.propose(2)] == \
        [{"a": 1}, {"a": 3}, None]


def test_first_configs_then_the_samplers_own():
    space = space_of('a = { type = "choice", values = [1, 2, 3] }\n')
    plain = make_sampler("sobol", space, seed=0)
    first = FirstConfigs(make_sampler("sobol", space, seed=0), [{"a": 3}])
    assert first.propose(0) == {"a": 3} and first.propose(1) == plain.propose(0)
    model = FirstConfigs(make_sampler("tpe", space, seed=0), [{"a": 3}])
    assert model.propose([], [], index=0).method == "warm-start"
    assert model.propose([], [], index=1).method == "sobol"


def test_with_prior_skips_the_start_up_once_the_prior_is_enough():
    space = space_of('x = { type = "uniform", low = 0, high = 1 }\n', "n_startup_trials = 3")
    prior = [Finished(params={"x": v}, value=v) for v in (0.1, 0.5, 0.9)]
    warm = WithPrior(make_sampler("tpe", space, seed=0), prior)
    assert warm.propose([], [], index=0).method == "tpe"
    kept = WithPrior(make_sampler("tpe", space, seed=0), prior, keep_startup=True)
    assert kept.propose([], [], index=0).method == "sobol"
    assert kept.propose([], [], index=3).method == "tpe"
