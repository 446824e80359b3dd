"""The scales of the parameter types: pinned values, statistics, clamping, unit round trips."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from hpsearch.space import LOG, LOG_ONE_MINUS, Choice, IntParam, LogOneMinus, LogUniform, Uniform

N = 20_000
RNG = np.random.default_rng(12345)
UNITS = RNG.random(N)


def draw(param, units=UNITS):
    return np.array([param.from_unit(u) for u in units])


# ---------------------------------------------------------------------------------------------
# pinned values: u = 0, 1/4, 1/2, 3/4, 1 on each scale (printed once, pasted)


@pytest.mark.parametrize("param, values", [
    (Uniform("u", -2.0, 5.0), [-2.0, -0.25, 1.5, 3.25, 5.0]),
    (LogUniform("l", 1e-4, 1e-1), [0.0001, 0.0005623413251903495, 0.003162277660168382,
                                   0.01778279410038924, 0.1]),
    (LogUniform("ls", 1e-3, 1.0, step=1e-3), [0.001, 0.006, 0.032, 0.178, 1.0]),
    (LogOneMinus("b", 0.9, 0.999), [0.9, 0.9683772233983162, 0.99, 0.9968377223398316, 0.999]),
    (IntParam("h", 1, 1000, log=True), [1, 3, 22, 150, 1000]),
    (IntParam("i", 10, 50, step=10), [10, 20, 30, 40, 50]),
], ids=lambda x: getattr(x, "name", ""))
def test_pinned_values_along_each_scale(param, values) -> None:
    assert [param.from_unit(u) for u in (0.0, 0.25, 0.5, 0.75, 1.0)] == values


def test_both_log_scales_share_one_transform() -> None:
    assert LogUniform.transform is LOG and LogOneMinus.transform is LOG_ONE_MINUS
    # log(1-x) on [0.9, 0.999] is log x on [0.001, 0.1] mirrored through 1 - x
    lu, lom = LogUniform("l", 1e-3, 1e-1), LogOneMinus("b", 0.9, 0.999)
    for u in (0.1, 0.5, 0.9):
        assert 1 - lom.from_unit(u) == pytest.approx(lu.from_unit(1 - u), rel=1e-12)
    assert LogUniform("l", 1e-3, 1e-1).describe()["scale"] == "log"
    assert lom.describe()["scale"] == "log(1-x)"


# ---------------------------------------------------------------------------------------------
# statistics of the scales


def test_log_uniform_puts_a_quarter_in_each_decade() -> None:
    x = draw(LogUniform("lr", 1e-4, 1.0))
    assert x.min() >= 1e-4 and x.max() <= 1.0
    for lo in (1e-4, 1e-3, 1e-2, 1e-1):
        assert abs(np.mean((x >= lo) & (x < lo * 10)) - 0.25) < 0.02


def test_log_one_minus_spends_half_in_the_last_decade() -> None:
    x = draw(LogOneMinus("beta", 0.9, 0.999))
    assert x.min() >= 0.9 and x.max() <= 0.999
    assert abs(np.mean(x >= 0.99) - 0.5) < 0.02


def test_uniform_passes_ks() -> None:
    x = draw(Uniform("d", -1.0, 3.0))
    assert stats.kstest(x, stats.uniform(loc=-1, scale=4).cdf).pvalue > 0.001


@pytest.mark.parametrize("param, values", [
    (IntParam("n", 1, 6), list(range(1, 7))),
    (IntParam("n", 10, 50, step=10), [10, 20, 30, 40, 50]),
    (IntParam("n", 0, 9, step=4), [0, 4, 8]),
    (Uniform("s", 0.0, 1.0, step=0.25), [0.0, 0.25, 0.5, 0.75, 1.0]),
    (Choice("c", ("a", "b", True, 3)), ["a", "b", True, 3]),
])
def test_discrete_types_are_uniform_over_their_values(param, values) -> None:
    x = [param.from_unit(u) for u in UNITS]
    counts = [sum(1 for v in x if type(v) is type(w) and v == w) for w in values]
    assert sum(counts) == N  # every value is one of these, bounds inclusive, steps respected
    assert stats.chisquare(counts).pvalue > 0.001
    assert param.from_unit(0.0) == values[0] and param.from_unit(1.0) == values[-1]


def test_log_int_is_log_spaced_and_inclusive() -> None:
    x = draw(IntParam("h", 1, 1000, log=True))
    assert x.min() == 1 and x.max() == 1000 and x.dtype.kind == "i"
    # each integer v owns [v - 1/2, v + 1/2] on the log axis
    expected = math.log(31.5 / 0.5) / math.log(1000.5 / 0.5)
    assert abs(np.mean(x <= 31) - expected) < 0.02


def test_from_unit_clamps() -> None:
    assert Uniform("x", 2.0, 3.0).from_unit(-0.5) == 2.0
    assert Uniform("x", 2.0, 3.0).from_unit(1.5) == 3.0
    assert Choice("c", ("a", "b")).from_unit(1.0) == "b"


# ---------------------------------------------------------------------------------------------
# round trips


ALL_TYPES = [
    Uniform("u", -2.0, 5.0), Uniform("us", 0.1, 0.9, step=0.1), LogUniform("l", 1e-6, 1e-1),
    LogUniform("ls", 1e-3, 1.0, step=1e-3), LogOneMinus("b", 0.9, 0.9999), IntParam("i", -5, 17),
    IntParam("il", 1, 4096, log=True), IntParam("is", 8, 256, step=8), Choice("c", ("a", 2, False)),
]


@pytest.mark.parametrize("param", ALL_TYPES, ids=lambda p: p.name)
def test_unit_round_trip(param) -> None:
    for u in [0.0, 1.0, *RNG.random(500)]:
        v = param.from_unit(u)
        assert param.contains(v)
        w = param.to_unit(v)
        assert 0.0 <= w <= 1.0
        assert param.from_unit(w) == v


@given(st.floats(0, 1), st.sampled_from(ALL_TYPES))
def test_unit_round_trip_property(u: float, param) -> None:
    v = param.from_unit(u)
    assert param.from_unit(param.to_unit(v)) == v
