"""Writing spaces as TOML (tomli-w) and reading them back equal."""

from __future__ import annotations

import math
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.spaces import COND, DIGITS, space_of

from hpsearch.space import Space, dump_toml, load_space, parse_space

@pytest.fixture
def digits_space() -> Space:
    return load_space(DIGITS)


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
    assert text.startswith("[t]\n")
    assert tomllib.loads(text) == {"t": {"a": 1e-05, "b": 1e16, "c": -0.0, "d": math.inf, "e": 3}}


def test_dump_toml_refuses_what_toml_cannot_hold() -> None:
    with pytest.raises(TypeError):
        dump_toml({"t": {"a": None}})


def test_written_space_file_is_a_runnable_file(tmp_path, digits_space: Space) -> None:
    path = tmp_path / "again.toml"
    path.write_text(dump_toml(digits_space.to_dict()))
    again = load_space(path)
    assert again == digits_space and again.source == str(path)
