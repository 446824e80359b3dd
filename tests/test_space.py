"""Search-space files: parsing, every error, the scales' statistics, conditions, round trips."""

from __future__ import annotations

import dataclasses
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from hpsearch.errors import SpaceError
from hpsearch.space import (
    Choice, Fixed, IntParam, LogOneMinus, LogUniform, Space, Uniform, dump_toml, load_space,
    parse_space,
)

N = 20_000
RNG = np.random.default_rng(12345)
UNITS = RNG.random(N)


DIGITS = Path(__file__).resolve().parents[1] / "search_spaces" / "digits_mlp.toml"


@pytest.fixture
def digits_space() -> Space:
    return load_space(DIGITS)


def space_of(params: str, study: str = "", extra: str = "") -> Space:
    return parse_space(f"[study]\nname = 't'\n{study}\n{extra}\n[params]\n{params}\n",
                       source="space.toml")


def draw(param, units=UNITS):
    return np.array([param.from_unit(u) for u in units])


# ---------------------------------------------------------------------------------------------
# parsing


def test_full_example_parses(digits_space: Space) -> None:
    space = digits_space
    assert space.study.name == "digits-mlp"
    assert space.objective["kind"] == "builtin"
    assert space.trainer["epochs"] == 20
    assert isinstance(space.params["bn_momentum"], LogOneMinus)
    assert isinstance(space.params["batch_norm"], Fixed)
    assert space.dim == len(space.params) - 1
    assert [p.name for p in space.search_params] == [n for n in space.params if n != "batch_norm"]


def test_defaults_and_name_from_file_stem(tmp_path) -> None:
    path = tmp_path / "my-space.toml"
    path.write_text('[params]\nx = { type = "uniform", low = 0, high = 1 }\n')
    space = load_space(path)
    assert space.study == dataclasses.replace(space.study, name="my-space", metric="val_accuracy",
                                              direction="maximize", sampler="random", trials=20,
                                              seed=0)
    assert space.objective == {"kind": "builtin"} and space.trainer == {}


def test_params_are_ordered_after_their_parents() -> None:
    space = space_of('c = { type = "uniform", low = 0, high = 1, when = { b = "y" } }\n'
                     'b = { type = "choice", values = ["x", "y"], when = { a = 1 } }\n'
                     'a = { type = "choice", values = [1, 2] }\n')
    assert list(space.params) == ["a", "b", "c"]


def test_type_of_each_param() -> None:
    space = space_of('u = { type = "uniform", low = 0, high = 1, step = 0.25 }\n'
                     'l = { type = "log_uniform", low = 1e-3, high = 1 }\n'
                     'i = { type = "int", low = 1, high = 64, log = true }\n'
                     'c = { type = "choice", values = [1, "a", true] }\n'
                     'b = { type = "log_one_minus", low = 0.9, high = 0.999 }\n'
                     'f = "fixed"\n'
                     'g = { type = "fixed", value = 3, when = { c = "a" } }\n')
    kinds = {n: p.kind for n, p in space.params.items()}
    assert kinds == {"u": "uniform", "l": "log_uniform", "i": "int", "c": "choice",
                     "b": "log_one_minus", "f": "fixed", "g": "fixed"}
    assert [p.numeric for p in space.params.values()] == [True, True, True, False, True, False,
                                                          False]
    assert space.params["u"].describe() == {"name": "u", "type": "uniform",
                                            "range": "[0, 1] step 0.25", "scale": "linear",
                                            "condition": ""}
    assert space.params["g"].describe()["condition"] == "c = a"


# ---------------------------------------------------------------------------------------------
# errors: every one names the file and the field, and echoes the values

P = "space.toml: params."
ERRORS = [
    ('x = { type = "uniform", low = 0.99, high = 0.8 }', P + "x: low (0.99) must be below high (0.8)"),
    ('x = { type = "uniform", low = 1, high = 1 }', P + "x: low (1) must be below high (1)"),
    ('x = { type = "gaussian", low = 0, high = 1 }', P + "x: unknown type gaussian"),
    ('x = { low = 0, high = 1 }', P + "x: missing type"),
    ('x = { type = "uniform", high = 1 }', P + "x: missing low"),
    ('x = { type = "uniform", low = "a", high = 1 }', P + "x: low must be a finite number (got a)"),
    ('x = { type = "uniform", low = true, high = 1 }', P + "x: low must be a finite number (got true)"),
    ('x = { type = "uniform", low = 0, high = inf }', P + "x: high must be a finite number (got inf)"),
    ('x = { type = "log_uniform", low = 0, high = 1 }', P + "x: log scale needs low > 0 (got low = 0)"),
    ('x = { type = "int", low = 0, high = 8, log = true }', P + "x: log scale needs low > 0"),
    ('x = { type = "int", low = 0.5, high = 8 }', P + "x: low must be an integer (got 0.5)"),
    ('x = { type = "int", low = 1, high = 8, step = 1.5 }', P + "x: step must be a positive integer"),
    ('x = { type = "log_one_minus", low = 0.9, high = 1.0 }',
     P + "x: log_one_minus needs 0 < low < high < 1 (got low = 0.9, high = 1)"),
    ('x = { type = "log_one_minus", low = 0, high = 0.5 }', P + "x: log_one_minus needs 0 < low"),
    ('x = { type = "choice", values = [] }', P + "x: values must be a non-empty list"),
    ('x = { type = "choice", values = ["a", "b", "a"] }', P + 'x: duplicate value a in values [a, b, a]'),
    ('x = { type = "choice", values = [[1], 2] }', P + "x: values must be numbers, strings or booleans"),
    ('x = { type = "uniform", low = 0, high = 1, step = 0 }', P + "x: step must be a positive number (got 0)"),
    ('x = { type = "uniform", low = 0, high = 1, step = 2 }',
     P + "x: step (2) is larger than the range [0, 1]"),
    ('x = { type = "uniform", low = 0, high = 1, stepp = 2 }', P + "x: unknown key 'stepp' for type uniform"),
    ('x = { type = "choice", values = [1, 2], grid_points = 2 }', P + "x: unknown key 'grid_points'"),
    ('x = { type = "uniform", low = 0, high = 1, grid = [2] }',
     P + "x: grid value 2 is not a possible value of this parameter"),
    ('x = { type = "uniform", low = 0, high = 1, when = { y = 1 } }',
     P + "x: when refers to unknown parameter 'y'"),
    ('x = { type = "uniform", low = 0, high = 1, when = { x = 1 } }', P + "x: when refers to the parameter itself"),
    ('o = { type = "choice", values = ["sgd", "adam"] }\n'
     'm = { type = "uniform", low = 0, high = 1, when = { o = "sgdd" } }',
     P + "m: when.o = sgdd is not a value of o ([sgd, adam])"),
    ('o = { type = "choice", values = ["sgd", "adam"] }\n'
     'm = { type = "uniform", low = 0, high = 1, when = { o = ["sgd", "rmsprop"] } }',
     P + "m: when.o = rmsprop is not a value of o"),
    ('a = { type = "choice", values = [1, 2], when = { b = 1 } }\n'
     'b = { type = "choice", values = [1, 2], when = { a = 1 } }',
     P + "a: conditions form a cycle (a -> b -> a)"),
    ('x = { type = "uniform", low = 0, high = 1, when = {} }', P + "x: when must be a non-empty table"),
    ('"my-param" = 1', P + "my-param: a parameter name must be an identifier"),
    ("x = { type = 'fixed', value = 1979-05-27 }", P + "x: a fixed value must be a number"),
]


@pytest.mark.parametrize("params, message", ERRORS, ids=[m.split(": ", 2)[-1][:40] for _, m in ERRORS])
def test_param_errors(params: str, message: str) -> None:
    with pytest.raises(SpaceError) as info:
        space_of(params)
    assert str(info.value).startswith(message)


STUDY_ERRORS = [
    ('direction = "maximise"', "space.toml: study.direction: must be maximize or minimize (got maximise)"),
    ('sampler = "tpe2"', "space.toml: study.sampler: unknown sampler tpe2 (known: random, sobol, grid)"),
    ("trials = 0", "space.toml: study.trials: must be an integer >= 1 (got 0)"),
    ("seed = 1.5", "space.toml: study.seed: must be a non-negative integer (got 1.5)"),
    ('seed = "7"', "space.toml: study.seed: must be a non-negative integer (got 7)"),
    ("triasl = 3", "space.toml: study.triasl: unknown key"),
    ("grid_points = 0", "space.toml: study.grid_points: must be an integer >= 1 (got 0)"),
]


@pytest.mark.parametrize("study, message", STUDY_ERRORS)
def test_study_errors(study: str, message: str) -> None:
    with pytest.raises(SpaceError) as info:
        space_of('x = { type = "uniform", low = 0, high = 1 }', study=study)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("text, message", [
    ("[study]\nname = 't'\n[extra]\n", "space.toml: unknown table [extra]"),
    ("name = 't'\n", "space.toml: unknown table [name]"),
    ('[objective]\nkind = "shell"\n', "space.toml: objective.kind: must be one of builtin, command, python"),
    ('[objective]\nkind = "python"\nfunction = "train"\n', "space.toml: objective.function: a python"),
    ('[objective]\nkind = "command"\nargv = "python t.py"\n', "space.toml: objective.argv: a command"),
    ("[study]\nname = 't'\ntrials = \n", "space.toml: invalid TOML: Invalid value (at line 3, column 10)"),
])
def test_file_errors(text: str, message: str) -> None:
    with pytest.raises(SpaceError) as info:
        parse_space(text, source="space.toml")
    assert str(info.value).startswith(message)


def test_missing_file(tmp_path) -> None:
    with pytest.raises(SpaceError, match=r"nope\.toml: no such file"):
        load_space(tmp_path / "nope.toml")


def test_replace_revalidates() -> None:
    p = Uniform("m", 0.8, 0.99)
    assert dataclasses.replace(p, low=0.85).low == 0.85
    with pytest.raises(SpaceError, match=r"params\.m: low \(0\.99\) must be below high \(0\.8\)"):
        dataclasses.replace(p, low=0.99, high=0.8)


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
# conditions


COND = ('opt = { type = "choice", values = ["sgd", "adam", "rmsprop"] }\n'
        'momentum = { type = "uniform", low = 0.8, high = 0.99, when = { opt = ["sgd", "rmsprop"] } }\n'
        'nesterov = { type = "choice", values = [true, false], when = { opt = "sgd" } }\n'
        'n_layers = { type = "int", low = 1, high = 3 }\n'
        'extra = { type = "uniform", low = 0, high = 1, when = { nesterov = true, n_layers = [2, 3] } }\n'
        'bn = false\n'
        'bn_momentum = { type = "log_one_minus", low = 0.9, high = 0.999, when = { bn = true } }\n')


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


def test_space_round_trip_through_toml(digits_space: Space) -> None:
    space = space_of(COND + 'g = { type = "uniform", low = 0, high = 1, grid = [0.1, 0.5], '
                     'grid_points = 3, step = 0.1 }\n'
                     'k = { type = "int", low = 1, high = 9, grid_points = 3, log = true }\n'
                     'w = "a \\"quoted\\" string"\n', study="grid_points = 4")
    for s in (space, digits_space):
        text = dump_toml(s.to_dict())
        again = parse_space(text, source="again.toml")
        assert again.params_dict() == s.params_dict()
        assert again.to_dict() == s.to_dict() and again == s
        config = s.from_unit([0.3] * s.dim)
        assert again.from_unit(again.to_unit(config)) == config


scalars = (st.booleans() | st.integers(-(2**63), 2**63 - 1)
           | st.floats(allow_nan=False) | st.text())
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(), inner, max_size=4), max_leaves=12)


@settings(max_examples=200)
@given(st.dictionaries(st.text(), st.dictionaries(st.text(), values, max_size=5) | scalars,
                       max_size=5))
def test_dump_toml_round_trips_through_tomllib(d) -> None:
    assert tomllib.loads(dump_toml(d)) == d


def test_dump_toml_number_forms() -> None:
    text = dump_toml({"t": {"a": 1e-05, "b": 1e16, "c": -0.0, "d": float("inf"), "e": 3}})
    assert "a = 1e-05" in text
    assert tomllib.loads(text) == {"t": {"a": 1e-05, "b": 1e16, "c": -0.0, "d": math.inf, "e": 3}}
