"""Space files: parsing, defaults, the types of each parameter, and every error message."""

from __future__ import annotations

import dataclasses

import pytest
from support.spaces import DIGITS, space_of

from hpsearch.errors import SpaceError
from hpsearch.space import (
    SAMPLER_NAMES, Fixed, IntParam, LogOneMinus, Space, Uniform, load_space, parse_space,
)


@pytest.fixture
def digits_space() -> Space:
    return load_space(DIGITS)


# ---------------------------------------------------------------------------------------------
# parsing


def test_full_example_parses(digits_space: Space) -> None:
    space = digits_space
    assert space.study.name == "digits-mlp"
    assert space.objective["kind"] == "builtin"
    assert space.trainer["epochs"] == 20
    assert space.params["bn_momentum"] == LogOneMinus("bn_momentum", 0.9, 0.999,
                                                      when={"batch_norm": [True]})
    assert space.params["batch_norm"] == Fixed("batch_norm", True)
    assert space.params["hidden_units"] == IntParam("hidden_units", 16, 256, log=True)
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
    ('x = { type = "choice", values = [[1], 2] }', P + "x: values must be finite numbers, strings or booleans"),
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
    ("x = { type = 'fixed', value = 1979-05-27 }", P + "x: a fixed value must be a finite number"),
]


@pytest.mark.parametrize("params, message", ERRORS, ids=[m.split(": ", 2)[-1][:40] for _, m in ERRORS])
def test_param_errors(params: str, message: str) -> None:
    with pytest.raises(SpaceError) as info:
        space_of(params)
    assert str(info.value).startswith(message)


STUDY_ERRORS = [
    ('direction = "maximise"', "space.toml: study.direction: must be maximize or minimize (got maximise)"),
    ('sampler = "tpe2"', "space.toml: study.sampler: unknown sampler tpe2 (known: random, sobol, grid, tpe, gp, cmaes, auto, nsga2)"),
    ("trials = 0", "space.toml: study.trials: must be an integer >= 1 (got 0)"),
    ("seed = 1.5", "space.toml: study.seed: must be a non-negative integer (got 1.5)"),
    ('seed = "7"', "space.toml: study.seed: must be a non-negative integer (got 7)"),
    ("triasl = 3", "space.toml: study.triasl: unknown key"),
    ("grid_points = 0", "space.toml: study.grid_points: must be an integer >= 1 (got 0)"),
    ('metric = ""', "space.toml: study.metric: must be a non-empty string (got )"),
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


def test_every_sampler_name_of_the_grammar_is_accepted() -> None:
    for name in SAMPLER_NAMES:
        assert space_of("x = 1", study=f'sampler = "{name}"').study.sampler == name


def test_directory_and_non_utf8_files(tmp_path) -> None:
    with pytest.raises(SpaceError, match=r": is a directory, not a space file$"):
        load_space(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"[study]\nname = '\xff'\n")
    with pytest.raises(SpaceError, match=r"bad\.toml: not UTF-8 text \(invalid start byte at byte 16\)"):
        load_space(bad)
