"""Forbidden combinations: ``[[forbid]]`` parsing, exact errors, evaluation, the safe expressions."""

from __future__ import annotations

import time

import pytest
from support.spaces import space_of

from hpsearch.errors import SpaceError
from hpsearch.space.forbid import Forbid, forbidden_share, parse_forbid

PARAMS = ('optimizer = { type = "choice", values = ["sgd", "adam"] }\n'
          'batch_size = { type = "choice", values = [64, 256, 512] }\n'
          'n_layers = { type = "int", low = 1, high = 4 }\n'
          'hidden_units = { type = "int", low = 50, high = 1000 }\n'
          'momentum = { type = "uniform", low = 0.8, high = 0.99, when = { optimizer = "sgd" } }\n'
          'bn = true\n')
SPACE = space_of(PARAMS)


def forbid(tables) -> Forbid:
    return parse_forbid(tables, SPACE.params, source="space.toml")


def error(tables) -> str:
    with pytest.raises(SpaceError) as info:
        forbid(tables)
    return str(info.value)


# ---------------------------------------------------------------------------------- evaluation
def test_when_needs_every_key_and_any_listed_value() -> None:
    f = forbid([{"when": {"optimizer": "sgd", "batch_size": [256, 512]}}])
    assert f.is_forbidden({"optimizer": "sgd", "batch_size": 256})
    assert f.is_forbidden({"optimizer": "sgd", "batch_size": 512})
    assert not f.is_forbidden({"optimizer": "sgd", "batch_size": 64})
    assert not f.is_forbidden({"optimizer": "adam", "batch_size": 256})


def test_expr_arithmetic_and_comparisons() -> None:
    f = forbid([{"expr": "n_layers * hidden_units > 2000"}])
    assert f.is_forbidden({"n_layers": 3, "hidden_units": 700})
    assert not f.is_forbidden({"n_layers": 2, "hidden_units": 1000})
    g = forbid([{"expr": '(optimizer == "sgd" and not bn) or 1 < n_layers ** 2 / 4 - 1 <= 2'}])
    assert g.is_forbidden({"optimizer": "adam", "bn": True, "n_layers": 3})   # 1 < 1.25 <= 2
    assert not g.is_forbidden({"optimizer": "sgd", "bn": True, "n_layers": 2})
    assert g.is_forbidden({"optimizer": "sgd", "bn": False, "n_layers": 1})


def test_when_and_expr_in_one_table_must_both_hold() -> None:
    f = forbid([{"when": {"optimizer": "sgd"}, "expr": "momentum > 0.95"}])
    assert f.is_forbidden({"optimizer": "sgd", "momentum": 0.97})
    assert not f.is_forbidden({"optimizer": "sgd", "momentum": 0.9})
    assert not f.is_forbidden({"optimizer": "adam"})


def test_a_rule_on_an_absent_parameter_does_not_match() -> None:
    f = forbid([{"expr": "momentum > 0.85"}, {"when": {"momentum": 0.9}}])
    assert not f.is_forbidden({"optimizer": "adam", "n_layers": 2})
    assert f.is_forbidden({"optimizer": "sgd", "momentum": 0.9})


def test_overflow_and_division_by_zero_do_not_match_and_do_not_hang() -> None:
    f = forbid([{"expr": "10 ** 10 ** 10 ** n_layers > 1"}, {"expr": "1 / (n_layers - 1) > 0"}])
    start = time.perf_counter()
    assert not f.is_forbidden({"n_layers": 1})
    # Integer arithmetic would build a 10^10-digit number (a hang); floats overflow at once.
    # The bound (was < 1.0 s) leaves room for a loaded CI machine.
    assert time.perf_counter() - start < 10.0


def test_no_tables_is_an_empty_falsy_forbid() -> None:
    assert not parse_forbid(None, SPACE.params)
    assert not parse_forbid([], SPACE.params).is_forbidden({"optimizer": "sgd"})


def test_round_trip_of_the_tables() -> None:
    tables = [{"when": {"optimizer": "sgd", "batch_size": [256, 512]}},
              {"expr": "n_layers * hidden_units > 2000"}]
    assert forbid(tables).to_list() == tables


def test_forbidden_share_estimates_the_forbidden_fraction() -> None:
    f = forbid([{"when": {"optimizer": "sgd", "batch_size": [256, 512]}}])
    share = forbidden_share(SPACE, f, n=4000, seed=1)
    assert abs(share - 1 / 3) < 0.03   # 1/2 of optimizers x 2/3 of batch sizes
    assert forbidden_share(SPACE, Forbid()) == 0.0
    assert forbidden_share(SPACE, forbid([{"expr": "n_layers >= 1"}]), n=100) == 1.0


# ---------------------------------------------------------------------------------- safety
@pytest.mark.parametrize("expr, what", [
    ("__import__('os')", "calls are not allowed"),
    ("__import__('os').system('true')", "calls are not allowed"),
    ("n_layers.__class__", "attribute access is not allowed"),
    ("(lambda: 1)() > 0", "calls are not allowed"),
    ("[n_layers][0] > 1", "indexing is not allowed"),
    ("n_layers if bn else 0", "if/else is not allowed"),
])
def test_expressions_are_never_evaluated_beyond_the_whitelist(expr: str, what: str) -> None:
    assert error([{"expr": expr}]) == (
        f"space.toml: forbid[0].expr: {what} (only parameter names, numbers, strings, "
        f"true/false, + - * / **, comparisons, and/or/not and parentheses)")


def test_a_comparison_of_booleans_with_a_number_is_refused() -> None:
    assert error([{"expr": "(n_layers > 1) > 2"}]) == ("space.toml: forbid[0].expr: a comparison "
                                                      "needs numbers (got n_layers > 1, a boolean)")


def test_dunder_names_are_unknown_parameters() -> None:
    assert error([{"expr": "__builtins__ > 1"}]) == \
        "space.toml: forbid[0].expr: unknown parameter '__builtins__'"


# ---------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("tables, message", [
    ([{"expr": "foo > 1"}], "forbid[0].expr: unknown parameter 'foo'"),
    ([{"when": {"optimizer": "sgd"}}, {"when": {"optimiser": "sgd"}}],
     "forbid[1].when: unknown parameter 'optimiser'"),
    ([{"when": {"batch_size": 1024}}], "forbid[0].when.batch_size: 1024 is not a value of batch_size"),
    ([{"when": {"optimizer": "SGD"}}], 'forbid[0].when.optimizer: "SGD" is not a value of optimizer'),
    ([{"when": {"optimizer": []}}],
     "forbid[0].when.optimizer: must be a value or a non-empty list of values"),
    ([{"when": {}}], 'forbid[0].when: must be a non-empty table such as { optimizer = "sgd" } (got {})'),
    ([{"when": "sgd"}], 'forbid[0].when: must be a non-empty table such as { optimizer = "sgd" } (got "sgd")'),
    ([{}], 'forbid[0]: needs when = {...} or expr = "..."'),
    ([{"if": "x"}], "forbid[0]: unknown key 'if' (expected when, expr)"),
    ({"when": {}}, 'forbid: must be an array of tables ([[forbid]] with when = {...} or expr = "...")'),
    ([{"expr": ""}], 'forbid[0].expr: must be a non-empty string (got "")'),
    ([{"expr": 3}], "forbid[0].expr: must be a non-empty string (got 3)"),
    ([{"expr": "n_layers >"}], "forbid[0].expr: invalid expression 'n_layers >' (invalid syntax)"),
    ([{"expr": "n_layers * 2"}],
     "forbid[0].expr: must be a condition such as \"a * b > 10\" (got 'n_layers * 2', a number)"),
    ([{"expr": 'optimizer * 2 > 1'}],
     "forbid[0].expr: * needs numbers (got optimizer, a string)"),
    ([{"expr": 'optimizer > "a"'}],
     "forbid[0].expr: a comparison needs numbers (got optimizer, a string)"),
    ([{"expr": "n_layers and bn"}], "forbid[0].expr: and needs booleans (got n_layers, a number)"),
    ([{"expr": "n_layers % 2 == 0"}], "forbid[0].expr: Mod is not allowed (only parameter names, "
     "numbers, strings, true/false, + - * / **, comparisons, and/or/not and parentheses)"),
    ([{"expr": "n_layers in [1, 2]"}], "forbid[0].expr: List is not allowed (only parameter names, "
     "numbers, strings, true/false, + - * / **, comparisons, and/or/not and parentheses)"),
])
def test_errors_name_the_file_and_the_field(tables, message: str) -> None:
    assert error(tables) == f"space.toml: {message}"


def test_without_source_the_loader_adds_the_file() -> None:
    with pytest.raises(SpaceError, match=r"^forbid\[0\]\.expr: unknown parameter 'foo'$"):
        parse_forbid([{"expr": "foo > 1"}], SPACE.params)
