"""Reports of a study with two objectives and a constraint (tests/support/multi.py: the front
is known by hand): the table's front column and order, best (the front, --pick, --export),
json/csv/markdown with values, pareto and feasible, studies with the front's size."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner
from support.multi import run_mo_study

from hpsearch.cli import cli
from hpsearch.space import load_space

FRONT = [(0.5, 0), (0.3, 0), (0.1, 0)]


@pytest.fixture
def mo(project):
    storage = run_mo_study(project)
    storage.dispose()
    url = f"sqlite:///{project}/mo.db"

    def invoke(*args: str):
        return CliRunner().invoke(cli, ["--db", url, *args], catch_exceptions=False)

    return invoke


def test_json_keeps_value_and_adds_values_pareto_feasible(mo) -> None:
    r = mo("report", "mo", "--format", "json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert [(t["params"]["x"], t["params"]["y"]) for t in rows if t["pareto"]] == FRONT
    # front order: the front, the second front, then the rest by number
    assert [t["params"]["y"] for t in rows[:6]] == [0, 0, 0, 1, 1, 1]
    by = {(t["params"]["x"], t["params"]["y"]): t for t in rows}
    assert by[(0.3, 1)]["value"] == 0.3 and by[(0.3, 1)]["values"]["acc"] == 0.3
    assert by[(0.3, 1)]["values"]["ms"] == pytest.approx(0.59)
    assert (by[(0.85, 0)]["feasible"], by[(0.85, 0)]["pareto"]) == (False, False)
    assert by[(0.97, 0)]["feasible"] is None and by[(0.5, 0)]["feasible"] is True


def test_csv_and_markdown_have_the_same_columns(mo) -> None:
    r = mo("report", "mo", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(r.output)))
    assert list(rows[0])[:8] == ["number", "round", "state", "value", "acc", "ms", "pareto",
                                 "feasible"]
    assert [(r["x"], r["pareto"]) for r in rows[:4]] == [("0.5", "true"), ("0.3", "true"),
                                                         ("0.1", "true"), ("0.5", "false")]
    md = mo("report", "mo", "--format", "markdown").output
    assert md.splitlines()[0].startswith("| number | round | state | value | acc | ms | pareto "
                                         "| feasible |")


def test_table_marks_the_front(mo) -> None:
    r = mo("report", "mo")
    assert r.exit_code == 0, r.output
    lines = [line for line in r.output.splitlines() if "│" in line and "★" in line]
    assert len(lines) == 3
    assert "feasible fronts first" in r.output and "infeasible" in r.output


def test_best_prints_the_front_and_picks(mo, project) -> None:
    r = mo("best", "mo")
    assert r.exit_code == 0, r.output
    assert "the feasible Pareto front (3 trials" in r.output
    assert "2 complete trial(s) broke a constraint" in r.output
    r = mo("best", "mo", "--format", "json")
    assert [(t["params"]["x"], t["params"]["y"]) for t in json.loads(r.output)] == FRONT
    r = mo("best", "mo", "--pick", "ms")
    assert r.exit_code == 0 and "the front's best in ms" in r.output
    assert "x = 0.1" in r.output
    out = project / "fast.toml"
    r = mo("best", "mo", "--pick", "acc", "--export", str(out))
    assert r.exit_code == 0, r.output
    exported = load_space(out)
    assert exported.params["x"].value == 0.5
    assert exported.study.metrics == ("acc", "ms") and len(exported.constraints) == 1
    r = mo("best", "mo", "--export", str(out))
    assert r.exit_code == 2 and "--pick METRIC" in r.output
    r = mo("best", "mo", "--pick", "n")
    assert r.exit_code == 2 and "--pick n: not an objective" in r.output


def test_studies_shows_the_front_size(mo) -> None:
    rows = json.loads(mo("studies", "--format", "json").output)
    assert rows[0]["front"] == 3 and rows[0]["metric"] == "acc,ms"


def test_pareto_figures(project) -> None:
    """The scatter holds the hand-computed front as stars, infeasible trials apart; the
    hypervolume only grows and ends at the front's (reference: 10% beyond the worst)."""
    from hpsearch.pareto import hypervolume, reference_point
    from hpsearch.report.front import study_front
    from hpsearch.report.pareto_figures import hypervolume_figure, pareto_figures

    storage = run_mo_study(project)
    front = study_front(storage, "mo")
    trials = storage.trials(storage.get_study("mo"))
    figs = pareto_figures(front, trials)
    assert len(figs) == 2
    scatter = {t["name"].split(" (")[0]: t for t in figs[0]["data"]}
    assert scatter["Pareto front"]["x"] == [0.1, 0.3, 0.5]
    assert scatter["infeasible"]["x"] == [0.85, 0.85]
    assert len(scatter["other feasible"]["x"]) == 3
    hv = hypervolume_figure(front, trials)["data"][0]["y"]
    assert hv == sorted(hv) and len(hv) == 10
    pts = [[t.values["acc"], t.values["ms"]] for t in front.trials]
    ref = reference_point(pts, (True, False))
    assert hv[-1] == pytest.approx(hypervolume(pts, (True, False), ref))
    storage.dispose()


def test_show_names_the_objectives_and_the_broken_constraint(mo) -> None:
    rows = json.loads(mo("report", "mo", "--format", "json").output)
    infeasible = next(t["number"] for t in rows if t["feasible"] is False)
    out = mo("show", "mo", str(infeasible)).output
    assert "objectives" in out and "acc=0.85" in out
    assert "n = 0.85 > max 0.8" in out
