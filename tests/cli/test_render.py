"""The value formatters every table and line of the CLI shares."""

from __future__ import annotations

from hpsearch.render import fmt_seconds, fmt_value, range_text


def test_fmt_value_pins_each_kind():
    assert [fmt_value(v) for v in (None, True, False, 0.000123456, 12345678.9, 3, "adam")] == [
        "-", "true", "false", "0.0001235", "1.235e+07", "3", "adam"]


def test_fmt_seconds_switches_to_minutes_at_60():
    assert [fmt_seconds(s) for s in (None, 0.04, 59.94, 60, 125.5)] == [
        "-", "0.0s", "59.9s", "1m00s", "2m05s"]


def test_range_text_gives_the_share_of_the_files_range():
    assert range_text(None, None) == "-"
    assert range_text("[0, 1]", 1.0) == "[0, 1]"
    assert range_text("[0.2, 0.5]", 0.3) == "[0.2, 0.5] (30%)"
    assert range_text("[0.2, 0.25]", 0.05) == "[0.2, 0.25] (5%)"
