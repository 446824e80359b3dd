"""`refine --sampler tpe|gp|cmaes|auto`: the refined round's space is the narrowed box, so a
model sampler run on it proposes inside the box only, and learns only from trials in the box."""

from __future__ import annotations

import math

import pytest
from support.spaces import space_of

from hpsearch.refine import narrow
from hpsearch.samplers import SobolSampler, make_sampler
from hpsearch.samplers.model import Finished

PARAMS = ('lr = { type = "log_uniform", low = 1e-5, high = 1.0 }\n'
          'width = { type = "int", low = 8, high = 1024, log = true }\n'
          'opt = { type = "choice", values = ["sgd", "adam", "rmsprop"] }\n')


def score(p: dict) -> float:
    return -(math.log10(p["lr"]) + 2.5) ** 2 - (math.log2(p["width"]) - 7) ** 2 / 10 \
        + (0.3 if p["opt"] == "adam" else 0.0)


@pytest.mark.parametrize("name", ["tpe", "cmaes", pytest.param("gp", marks=pytest.mark.slow),
                                  pytest.param("auto", marks=pytest.mark.slow)])
def test_a_model_in_a_refined_box_proposes_inside_it(name: str) -> None:
    space = space_of(PARAMS, 'direction = "maximize"\nn_startup_trials = 4')
    sobol = SobolSampler(space, seed=0)
    first = [sobol.propose(i) for i in range(16)]
    ranked = sorted(first, key=score, reverse=True)
    box, _ = narrow(space, space, ranked[:4], ranked[0])
    lr, width = box.params["lr"], box.params["width"]
    assert (lr.low, lr.high) != (1e-5, 1.0)
    sampler = make_sampler(name, box, seed=1)
    # The round's history: earlier rounds' trials (outside the box) are not the round's, but a
    # value outside the box given anyway is ignored, not a crash.
    history = [Finished(p, score(p)) for p in first]
    for i in range(12):
        p = sampler.propose(history, [], index=i).params
        assert lr.low <= p["lr"] <= lr.high and width.low <= p["width"] <= width.high
        assert box.params["opt"].contains(p["opt"])
        history.append(Finished(p, score(p)))
    assert {sampler.propose(history, [], index=12).method} <= {"tpe", "gp", "cmaes"}
