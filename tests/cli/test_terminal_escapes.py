"""Control characters in stored strings reach no terminal (issue 22, item 7): a study name or an
objective's error holding ESC/OSC sequences, BEL or CR is shown escaped (``\\x1b``) by `run`,
`studies`, `report`, `show`, `best` and in error lines, and stored as it came."""

from __future__ import annotations

import logging

from hpsearch.render.text import VisibleFormatter, visible
from hpsearch.storage import Storage
from support.studies import python_study

TITLE = "\x1b]0;pwned\x07"      # OSC: sets the terminal's title
RED = "\x1b[31m"
NAME = f"s{TITLE}{RED}\rX"

OBJECTIVE = f'''
def train(params, report):
    if params["x"] > 0.5:
        raise RuntimeError("boom {TITLE.encode('unicode_escape').decode()}\\x9b2J")
    return {{"score": params["x"]}}
'''


def _no_raw_controls(text: str) -> None:
    for char in ("\x1b", "\x07", "\r", "\x9b"):
        assert char not in text, repr(text)


def test_visible_keeps_tab_and_newline_and_shows_the_rest():
    assert visible("a\tb\nc\x1b[31m\r\x07\x7f\x9b") == "a\tb\nc\\x1b[31m\\r\\x07\\x7f\\x9b"
    assert visible("plain ünïcode ✓") == "plain ünïcode ✓"
    record = logging.LogRecord("x", logging.WARNING, "f", 1, "warn %s", ("\x1b]0;t\x07",), None)
    assert "\\x1b]0;t\\x07" in VisibleFormatter("%(message)s").format(record)


def test_escapes_in_a_study_name_and_an_error_are_shown_not_sent(project, invoke, db_url):
    (project / "proj" / "escobj.py").write_text(OBJECTIVE)
    space = project / "proj" / "space.toml"
    space.write_text(python_study("plain", "escobj:train", trials=4))
    outputs = []
    result = invoke("run", space, "--study", NAME)
    assert result.exit_code == 0, result.output
    outputs.append(result.output)
    assert "s\\x1b]0;pwned\\x07\\x1b[31m\\rX" in result.output
    for args in (["studies"], ["report", NAME], ["best", NAME], ["rounds", NAME],
                 ["report", NAME, "--importance"]):       # the last: an error line (too few)
        result = invoke(*args)
        assert result.exit_code in (0, 3), result.output
        outputs.append(result.output)
    storage = Storage(db_url)
    study = storage.get_study(NAME)                       # stored as it came
    failed = [t for t in storage.trials(study) if t.state == "failed"]
    assert failed and "\x1b]0;pwned\x07" in failed[0].error
    result = invoke("show", NAME, failed[0].number)
    outputs.append(result.output)
    assert "boom \\x1b]0;pwned\\x07" in result.output
    result = invoke("show", NAME, 999)                   # an error line naming the study
    assert result.exit_code != 0
    outputs.append(result.output)
    for text in outputs:
        _no_raw_controls(text)
