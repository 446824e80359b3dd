"""Conditions: which parameters are active, unit coordinates of absent ones, pruning."""

from __future__ import annotations

import numpy as np
import pytest
from support.spaces import COND, space_of

from hpsearch.space import Choice, Space

RNG = np.random.default_rng(12345)


def test_conditional_params_appear_exactly_when_their_condition_holds() -> None:
    space = space_of(COND)
    seen = set()
    for u in RNG.random((2000, space.dim)):
        c = space.from_unit(u)
        assert ("momentum" in c) == (c["opt"] in ("sgd", "rmsprop"))
        assert ("nesterov" in c) == (c["opt"] == "sgd")
        assert ("extra" in c) == (c["opt"] == "sgd" and c.get("nesterov") is True
                                  and c["n_layers"] >= 2)
        assert "bn_momentum" not in c and c["bn"] is False
        seen.add(("momentum" in c, "nesterov" in c, "extra" in c))
        assert all(space.is_active(name, c) for name in c)
    assert seen == {(False, False, False), (True, False, False), (True, True, False),
                    (True, True, True)}


def test_to_unit_is_none_where_absent() -> None:
    space = space_of(COND)
    c = {"opt": "adam", "n_layers": 2, "bn": False}
    units = space.to_unit(c)
    assert units[1] is None and units[2] is None and units[0] == pytest.approx(0.5)


def test_with_params_replaces_and_prunes_conditions() -> None:
    space = space_of(COND)
    narrowed = space.with_params({"opt": Choice("opt", ("adam", "rmsprop"))})
    assert "nesterov" not in narrowed.params and "extra" not in narrowed.params
    assert narrowed.params["momentum"].when == {"opt": ["rmsprop"]}
    assert Space.from_dict(narrowed.to_dict()).params_dict() == narrowed.params_dict()
    assert space.params["nesterov"]  # the original is untouched
