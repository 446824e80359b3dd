"""Hostile inputs to space loading and sampling, as property tests: deep nesting, huge numbers and lists, unicode, NaN/inf everywhere, malformed
TOML, non-UTF-8 bytes. Every input gives a Space or a one-line SpaceError, within a time bound.

The quick versions run in the edit-test loop; the ``slow`` ones run thousands of examples.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import bounds

from hpsearch.errors import SpaceError
from hpsearch.samplers import SAMPLERS, make_sampler
from hpsearch.space import Space, load_space, parse_space

BOUND_S = 5.0  # per example; far above what a valid space of this size needs

BASE = """[study]
name = "h"
sampler = "grid"
grid_points = 3
[objective]
kind = "command"
argv = ["true"]
[params]
opt = { type = "choice", values = ["sgd", "adam"] }
momentum = { type = "uniform", low = 0.8, high = 0.99, when = { opt = "sgd" } }
lr = { type = "log_uniform", low = 1e-4, high = 1e-1, step = 1e-4 }
beta = { type = "log_one_minus", low = 0.9, high = 0.999 }
n = { type = "int", low = 1, high = 64, log = true }
fixed = 3
[[forbid]]
expr = "n * lr > 1"
"""


def time_bound(seconds: float = BOUND_S):
    """Fail (not hang) when the body runs longer than ``seconds``."""
    return bounds.time_bound(seconds)


def check_one_line(exc: SpaceError) -> None:
    text = str(exc)
    assert "\n" not in text and "\r" not in text and len(text) <= 1000, text[:300]


def exercise(space: Space) -> None:
    """What validate and run do with a loaded space: round trip, sample with its sampler."""
    assert Space.from_dict(space.to_dict(), source=space.source).params_dict().keys() \
        == space.params.keys()
    name = space.study.sampler
    if SAMPLERS[name].uses_history:
        name = "sobol"  # the model samplers' start-up; their models have tests of their own
    try:
        sampler = make_sampler(name, space, seed=space.study.seed)
        for i in range(3):
            config = sampler.propose(i)
            if config is not None:
                assert all(space.params[k].contains(v) for k, v in config.items())
    except SpaceError as exc:
        check_one_line(exc)


def load_text(text: str) -> None:
    with time_bound():
        try:
            space = parse_space(text, source="h.toml")
        except SpaceError as exc:
            check_one_line(exc)
            return
        exercise(space)


def load_dict(d: Any) -> None:
    with time_bound():
        try:
            space = Space.from_dict(d, source="h.toml")
        except SpaceError as exc:
            check_one_line(exc)
            return
        exercise(space)


# ------------------------------------------------------------------------------ strategies
NUMBERS = (st.integers() | st.integers(min_value=-2**63, max_value=2**63 - 1)
           | st.floats(allow_nan=True, allow_infinity=True)
           | st.sampled_from([0, -1, 2**31, 2**63 - 1, 1e308, -1e308, 5e-324, math.nan, math.inf,
                              1000000000, 21202]))
TEXT = st.text(max_size=30) | st.sampled_from(["a\nb", "\x00", "é", "𝔘", "\u202e", "1e-4", "sgd",
                                                 "choice", "uniform", "log_uniform", "int",
                                                 "log_one_minus", "fixed", "grid", "random"])
SCALARS = NUMBERS | TEXT | st.booleans()
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=6)
                      | st.dictionaries(TEXT, inner, max_size=4), max_leaves=25)
KEYS = st.sampled_from(["type", "low", "high", "step", "log", "values", "value", "when", "grid",
                        "grid_points"]) | TEXT


@st.composite
def mutated_dicts(draw: st.DrawFn) -> dict[str, Any]:
    """The BASE space as a dict with a few fields replaced, added or removed."""
    import tomllib

    d = tomllib.loads(BASE)
    for _ in range(draw(st.integers(1, 4))):
        table = draw(st.sampled_from(["study", "params", "params", "params", "pruner", "forbid",
                                      "objective"]))
        if table == "params":
            name = draw(st.sampled_from(list(d["params"]) + ["new"]))
            entry = d["params"].get(name)
            if isinstance(entry, dict) and draw(st.booleans()):
                entry = dict(entry)
                entry[draw(KEYS)] = draw(VALUES)
                d["params"][name] = entry
            else:
                d["params"][name] = draw(VALUES)
        elif table == "forbid":
            d["forbid"] = draw(st.lists(st.dictionaries(st.sampled_from(["when", "expr"]) | TEXT,
                                                        VALUES | st.text(max_size=40),
                                                        max_size=2), max_size=3) | VALUES)
        elif table == "study":
            d["study"][draw(st.sampled_from(["sampler", "seed", "trials", "grid_points", "pruner",
                                             "n_startup_trials", "tie_breaker", "metric",
                                             "max_consecutive_failures"]) | TEXT)] = draw(VALUES)
        else:
            d[table] = draw(VALUES)
    return d


def deep(depth: int, kind: str) -> str:
    if kind == "list":
        return "x = " + "[" * depth + "1" + "]" * depth
    if kind == "table":
        return "x = " + "{ a = " * depth + "1" + " }" * depth
    if kind == "chain":
        return "p0 = 1\n" + "".join(f"p{i} = {{ type = 'int', low = 0, high = 2, when = "
                                    f"{{ p{i - 1} = 1 }} }}\n" for i in range(1, depth))
    return "x = { type = 'choice', values = [" + ", ".join(map(str, range(depth))) + "] }"


@st.composite
def mutated_text(draw: st.DrawFn) -> str:
    """BASE with characters inserted, deleted or replaced (malformed TOML most of the time)."""
    text = BASE
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.sampled_from(['"', "'", "[", "]", "{", "}", "=", "\n", ",", "nan", "inf",
                                      "1e999", "-", "0x", "#", "\\", "[[forbid]]\n", "é", "\x7f"])
                     | st.text(max_size=5))
        if op == "insert":
            text = text[:i] + piece + text[i:]
        elif op == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 20)):]
        else:
            text = text[:i] + piece + text[i + len(piece):]
    return text


# make test-fresh (HPSEARCH_FRESH_SEEDS=1): new examples in FAST too.
FAST = settings(max_examples=150, deadline=None,
                derandomize=not os.environ.get("HPSEARCH_FRESH_SEEDS"),
                suppress_health_check=list(HealthCheck))
SLOW = settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))


# ------------------------------------------------------------------------------ the tests
@pytest.mark.slow  # over a second: out of `make test-fast`
@FAST
@given(mutated_dicts())
def test_mutated_tables(d: dict[str, Any]) -> None:
    load_dict(d)


@FAST
@given(mutated_text())
def test_mutated_text(text: str) -> None:
    load_text(text)


@pytest.mark.parametrize("kind", ["list", "table", "chain", "choice"])
@pytest.mark.parametrize("depth", [10, 400, 3000])
def test_deep_and_long(kind: str, depth: int) -> None:
    load_text("[study]\nname = 'd'\n[params]\n" + deep(depth, kind) + "\n")


@FAST
@given(st.binary(max_size=300))
def test_bytes_from_a_file(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.toml"
        path.write_bytes(BASE.encode()[:50] + data)
        with time_bound():
            try:
                load_space(path)
            except SpaceError as exc:
                check_one_line(exc)


@pytest.mark.slow
@SLOW
@given(mutated_dicts() | mutated_dicts().map(lambda d: {"params": d["params"]}))
def test_mutated_tables_thousands(d: dict[str, Any]) -> None:
    load_dict(d)


@pytest.mark.slow
@SLOW
@given(mutated_text() | st.text(max_size=300)
       | st.binary(max_size=300).map(lambda b: b.decode("utf-8", "surrogateescape")))
def test_mutated_text_thousands(text: str) -> None:
    load_text(text)
