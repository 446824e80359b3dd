"""The page's JSON blob against the HTML tokenizer's hostile sequences: a stored string (study
name, metric, parameter and choice values, error text) can neither end the page's script nor
switch the tokenizer into a comment or "script data escaped" state (``<!--<script>``, which
swallowed the page's own script: no figure, an empty table); and the page in a real browser."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hpsearch.report.html import StudyData, build_html
from support import browser as browser_support
from report.test_html import synthetic_study

browser = browser_support.browser  # the fixture, under its name

#: What the HTML tokenizer treats specially inside a <script> (script data, its escaped and
#: double-escaped states), and a few more for good measure.
HOSTILE = ["</script>", "</SCRIPT >", "</script\t", "<!--<script>", "<!--", "-->", "<script>",
           "<!--<script></script>-->", "</scr" + "ipt/", "]]>", "<![CDATA[", "&lt;", "&#60;",
           "\u2028\u2029", "</style>", "<img src=x onerror=alert(1)>", "\\u003c/script>", "'\"`"]


def hostile_study(text: str) -> StudyData:
    """The synthetic study with ``text`` in its name, a choice value and every error."""
    data = synthetic_study(60, seed=7)
    study = dataclasses.replace(data.study, name="n" + text)
    space = json.loads(json.dumps(study.space))
    space["params"]["optimizer"]["values"].append(text)
    study = dataclasses.replace(study, space=space)
    trials = []
    for k, t in enumerate(data.trials):
        params = dict(t.params, optimizer=text) if k % 3 == 0 else t.params
        error = ("Traceback\n" + text) if t.state == "failed" else t.error
        trials.append(dataclasses.replace(t, params=params, error=error))
    trials.append(dataclasses.replace(trials[0], id=999, number=999, state="failed", value=None,
                                      error="boom " + text))
    return StudyData(study=study, rounds=data.rounds, trials=trials)


def blob(page: str) -> str:
    """The page's data block: ``window.HP_FIGS = ...; window.HP_TABLES = ...``."""
    m = re.search(r"<script>(window\.HP_FIGS = .*?)</script>", page, re.S)
    assert m is not None
    return m.group(1)


def decoded(block: str) -> tuple:
    figs, tables = block[len("window.HP_FIGS = "):].rstrip(";").split(";\nwindow.HP_TABLES = ")
    return json.loads(figs), json.loads(tables)


@pytest.mark.parametrize("text", HOSTILE)
def test_no_stored_string_reaches_the_tokenizer(text):
    page = build_html([hostile_study(text)])
    block = blob(page)
    assert "<" not in block and ">" not in block and "&" not in block
    figs, tables = decoded(block)
    rows = tables[0]["rows"]
    shown = ("boom " + text).strip().splitlines()[-1]  # the table's rule: the error's last line
    assert any(r[-1] == shown for r in rows)  # the error back, exactly
    assert any(text in r for r in rows)                 # the choice value back, exactly
    assert len(figs) >= 5
    # The page's own scripts: as many openers as closers (stored text is escaped everywhere).
    assert len(re.findall(r"<script>", page)) == len(re.findall(r"</script>", page))


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>!-/&'\"sScriptSCRIPT[]\\ \n\u2028")), max_size=30))
def test_any_text_round_trips_through_the_blob(text):
    from hpsearch.report.html import _js  # the function under test

    out = _js({"s": text, "nested": [text, {"k": text}]})
    assert "<" not in out and ">" not in out and "&" not in out
    assert json.loads(out) == {"s": text, "nested": [text, {"k": text}]}


@pytest.mark.slow
def test_the_page_with_hostile_strings_draws_everything(tmp_path, browser):
    text = "<!--<script>" + "</script><img src=x onerror=window.__xss=1>"
    page = tmp_path / "p.html"
    page.write_text(build_html([hostile_study(text)]))
    browser.get(page.as_uri())
    end = 60
    import time

    t0 = time.monotonic()
    while browser.execute_script("return document.body.getAttribute('data-ready')") != "1":
        assert time.monotonic() - t0 < end, "the page's script never finished"
        time.sleep(0.1)
    assert browser.execute_script("return window.__xss") is None
    assert browser.execute_script("return document.querySelectorAll('img').length") == 0
    drawn = browser.execute_script(
        "return Array.from(document.querySelectorAll('div.fig .main-svg')).length")
    assert drawn >= 5
    assert browser.find_elements("css selector", ".trials tbody tr")
    assert text in browser.find_element("css selector", "h2").text
