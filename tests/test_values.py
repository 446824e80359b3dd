"""The one value formatter (hpsearch/values.py) in each caller's style."""

from __future__ import annotations

from hpsearch.values import MAX_SHOWN, fmt, one_line


def test_defaults_are_the_space_messages_style():
    assert fmt(True) == "true" and fmt(False) == "false"
    assert fmt(0.1 + 0.2) == "0.3" and fmt(3) == "3" and fmt("a b") == "a b"
    assert fmt([1, 0.5, "x", [True]]) == "[1, 0.5, x, [true]]"
    assert fmt("a\nb") == "a\\nb"  # one line
    assert fmt(None) == "None"


def test_long_values_are_cut_early():
    text = fmt(list(range(100_000)))
    assert len(text) == MAX_SHOWN and text.endswith("...")
    assert fmt("x" * 500, limit=None) == "x" * 500


def test_a_forbid_expression_quotes_strings():
    assert fmt("adam", quote=True, limit=None) == '"adam"'
    assert fmt(["a", 1, False], quote=True, limit=None) == '["a", 1, false]'


def test_the_table_style():
    assert fmt(None, none="-") == "-"
    assert fmt(0.123456789, digits=4) == "0.1235"
    assert fmt("a\x1bb", escape=False, limit=None) == "a\x1bb"  # the table escapes for itself


def test_one_line():
    assert one_line("a\nb") == "a\\nb" and len(one_line("y" * 5000)) == 1000
