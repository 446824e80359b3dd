"""The HTML page of a study with several objectives (the front on a scatter, infeasible trials
apart, the hypervolume), opened in a headless browser; a single-objective page keeps its
figures; importance per objective; the rounds table says each round's space, what changed and
what its model used."""

from __future__ import annotations

import json
import re

import pytest
from support import browser as browser_support
from support.multi import run_mo_study
from support.studies import python_study

from hpsearch import open_storage
from hpsearch.report.html import build_html, load_study_data, write_html
from hpsearch.run import run_study
from hpsearch.space import load_space

browser = browser_support.browser  # the fixture, under its name


def figures(text: str) -> list[dict]:
    """The page's HP_FIGS (what the script draws)."""
    m = re.search(r"window\.HP_FIGS = (.*?);\nwindow\.HP_TABLES", text, re.S)
    assert m
    return json.loads(m.group(1))


@pytest.mark.slow  # a browser: out of `make test-fast`
def test_the_front_on_the_page_in_a_real_browser(project, browser):
    from selenium.webdriver.support.ui import WebDriverWait

    storage = run_mo_study(project)
    data = load_study_data(storage, "mo")
    storage.dispose()
    page = write_html(project / "out" / "mo.html", [data])
    text = page.read_text()
    assert "Pareto front: acc against ms" in text and "Hypervolume of the feasible front" in text
    assert "<dt>objectives</dt><dd>acc (maximize), ms (minimize)</dd>" in text
    assert "<dt>Pareto front</dt><dd>3 trials (2 complete trials infeasible)</dd>" in text

    browser.get(page.as_uri())
    browser.implicitly_wait(0)
    WebDriverWait(browser, 60, poll_frequency=0.1).until(
        lambda d: d.execute_script("return document.body.getAttribute('data-ready')") == "1",
        "the page never set data-ready")

    def drawn(d):
        # every plotly figure's traces as plotly holds them, once all are drawn
        got = d.execute_script(
            "return Array.from(document.querySelectorAll('div.fig')).map(function (f) {"
            " return f.data ? f.data.map(function (t) { return [t.name, t.x ? Array.from(t.x)"
            " : null]; }) : null; });")
        return got if got and all(g is not None for g in got) else False

    traces = WebDriverWait(browser, 60, poll_frequency=0.2).until(drawn, "figures not drawn")
    scatter = next(t for t in traces if any(n.startswith("Pareto front") for n, _ in t))
    by_name = {n.split(" (")[0]: x for n, x in scatter}
    # the hand-computed front (tests/support/multi.py), the infeasible trials in their own trace
    assert by_name["Pareto front"] == [0.1, 0.3, 0.5]
    assert by_name["infeasible"] == [0.85, 0.85]
    assert 0.85 not in by_name["other feasible"] and 0.85 not in by_name["Pareto front"]
    hv = next(t for t in traces if t and t[0][0] == "hypervolume")
    assert hv[0][1] == list(range(10))  # one point per trial, in trial order
    # one importance chart per objective, drawn: acc depends on x alone (bars from the bottom)
    i = traces.index([[None, [0, 1]]])  # acc: x alone (the bars from the bottom: y, then x)
    ms = traces[i + 1]                  # ms, the next chart: both matter
    assert len(ms) == 1 and ms[0][0] is None and sum(ms[0][1]) == pytest.approx(1)
    assert min(ms[0][1]) > 0.2


def test_pareto_figures_are_drawn_once_and_only_with_several_objectives(project):
    storage = run_mo_study(project)
    mo = figures(build_html([load_study_data(storage, "mo")]))
    storage.dispose()
    pareto = [f for f in mo if "Pareto front" in str(f["fig"]["data"])
              or "hypervolume" in str(f["fig"]["data"])]
    assert len(pareto) == 2 and all(f["kind"] is None for f in pareto)

    (project / "proj" / "one.py").write_text(
        "def train(params, report):\n    return {'score': params['x']}\n")
    f = project / "proj" / "one.toml"
    f.write_text(python_study("one", "one:train", trials=4, direction="maximize",
                              params='x = { type = "uniform", low = 0.0, high = 1.0 }\n'))
    storage = open_storage(f"sqlite:///{project}/one.db")
    run_study(storage, load_space(f))
    text = build_html([load_study_data(storage, "one")])
    storage.dispose()
    one = figures(text)
    # the single-objective page: the same figures as before, no front, no objectives line
    assert [f["kind"] for f in one] == ["history", "params", None, None]
    cards = re.findall(r"<h3>(.*?)</h3>", text)
    assert len(cards) == 9 and cards[:2] == ["Summary", "Optimisation history"]
    assert cards[-2:] == ["Rounds", "Trials"]
    assert "Pareto" not in text and "hypervolume" not in text.lower()
    assert "<dt>metric</dt><dd>score (maximize)</dd>" in text


def test_the_page_shows_each_objective_s_importance(project):
    storage = run_mo_study(project)
    data = load_study_data(storage, "mo")
    storage.dispose()
    text = build_html([data])
    bars = [f["fig"] for f in figures(text) if f["fig"]["data"][0]["type"] == "bar"]
    # one chart per objective, in the study's order, titled with its metric and direction
    assert [re.sub("<[^>]+>", "", h) for h in re.findall(r"<h3>(Parameter importance.*?)</h3>",
                                                          text)] == [
        "Parameter importance for acc (maximize) (PED-ANOVA: what its top 10 % differ in)",
        "Parameter importance for ms (minimize) (PED-ANOVA: what its top 10 % differ in)"]
    assert len(bars) == 2
    by_objective = [dict(zip(b["data"][0]["y"], b["data"][0]["x"])) for b in bars]
    # acc = x only; ms = x² + y/2 (tests/support/multi.py): y matters to ms alone
    assert by_objective[0] == {"x": 1.0, "y": 0.0}
    assert by_objective[1]["y"] > 0.2 and by_objective[1]["x"] > 0.2
    assert [m for m, _, _ in data.importances] == ["acc", "ms"]
    assert data.importance == data.importances[0][2]  # the heat map's pair: the first's
    # the two charts side by side, after the heat map
    assert re.search(r'<div class="row2"><div class="card"><h3>Parameter importance for acc'
                     r'.*?</div></div><div class="card"><h3>Parameter importance for ms', text)


EVOLVE_OBJECTIVE = '''
import math

def train(params, report):
    return {"score": -(math.log10(params["lr"]) + 2) ** 2}
'''


def test_the_rounds_table_says_each_round_s_space_changes_and_carried_trials(project):
    (project / "proj" / "evobj.py").write_text(EVOLVE_OBJECTIVE)
    f = project / "proj" / "ev.toml"

    def write(high: str, trials: int) -> None:
        f.write_text(python_study(
            "ev", "evobj:train", trials=trials, direction="maximize",
            study='sampler = "tpe"\nn_startup_trials = 4\non_change = "evolve"',
            params=f'lr = {{ type = "log_uniform", low = 1e-4, high = {high} }}\n'
                   'tag = { type = "choice", values = ["<b>a</b>", "b"] }\n'))

    storage = open_storage(f"sqlite:///{project}/ev.db")
    write("1e-3", 5)
    run_study(storage, load_space(f))
    write("1.0", 7)  # widened: the 5 earlier trials lie inside and are carried
    run_study(storage, load_space(f))
    data = load_study_data(storage, "ev")
    storage.dispose()
    text = build_html([data])
    table = text[text.index("<h3>Rounds</h3>"):text.index("<h3>Trials</h3>")]
    assert "<th class=s>kind</th>" in table and "<th>earlier trials used</th>" in table
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1])
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in rows]
    assert [c[8] for c in cells] == ["file", "evolve"]
    assert cells[0][9] == "lr [0.0001, 0.001]; tag &lt;b&gt;a&lt;/b&gt; | b"  # text, not HTML
    assert cells[1][9].startswith("lr [0.0001, 1]")
    assert cells[0][10] == "-"
    assert cells[1][10] == "lr: widened [0.0001, 0.001] -&gt; [0.0001, 1]"  # escaped text
    assert cells[0][11] == "-" and cells[1][11] == "5"
    assert "<b>a</b>" not in text.split("window.HP_FIGS")[0]
