"""Which sampler proposed each trial (issue 13): the run's lines, `report` (table, csv, json)
and `show` of a TPE study with 2 Sobol start-up trials; a random study's trials say "random"
everywhere but in the report table, where a column that only repeats the round's sampler is
left out."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from support.studies import python_study

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", re.M)

MODULE = '''
def f(params, report):
    return {"loss": (params["x"] - 0.3) ** 2}
'''


def write_space(project, sampler: str, name: str):
    proj = project / "proj"
    (proj / "quad.py").write_text(MODULE)
    space = proj / f"{name}.toml"
    space.write_text(python_study(name, "quad:f", trials=4, metric="loss", direction="minimize",
                                  study=f'sampler = "{sampler}"\nn_startup_trials = 2\nseed = 0'))
    return space


@pytest.fixture
def tpe_run(project, invoke, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    r = invoke("run", write_space(project, "tpe", "quad"))
    assert r.exit_code == 0, r.output
    return STAMP.sub("", r.output)


def test_each_run_line_says_which_model_proposed_the_trial(tpe_run):
    """A model's trials say `by tpe`; its Sobol start-up trials (like every trial of a random
    or Sobol study) carry no tag on the run line: `show` and `report` name them."""
    lines = [line for line in tpe_run.splitlines() if "] trial " in line]
    assert [line.endswith(" by tpe") for line in lines] == [False, False, True, True], lines
    assert all(re.fullmatch(r"\[\d/4\] trial \d complete value=\S+ best \S+ \(\S+\)( by tpe)?",
                            line) for line in lines), lines


def test_report_table_csv_and_json_have_proposed_by(tpe_run, invoke):
    r = invoke("report", "quad", "--sort", "number")
    assert r.exit_code == 0, r.output
    header = next(line for line in r.output.splitlines() if "┃ #" in line)
    assert re.fullmatch(r"┃ # +┃ round ┃ state +┃ value +┃ x +┃ duration ┃ proposed_by ┃", header)
    rows = [line for line in r.output.splitlines() if line.startswith("│")]
    assert [row.split("│")[-2].strip() for row in rows] == ["sobol", "sobol", "tpe", "tpe"]
    assert r.output.splitlines()[-1] == (
        "proposed_by: the sampler of each trial (auto: its pick; sobol: start-up)")

    r = invoke("report", "quad", "--format", "csv", "--sort", "number")
    table = list(csv.reader(io.StringIO(r.output)))
    assert table[0] == ["number", "round", "state", "value", "x", "duration", "proposed_by"]
    assert [(row[0], row[-1]) for row in table[1:]] == [
        ("0", "sobol"), ("1", "sobol"), ("2", "tpe"), ("3", "tpe")]

    records = json.loads(invoke("report", "quad", "--format", "json").output)
    assert {t["number"]: t["proposed_by"] for t in records} == {
        0: "sobol", 1: "sobol", 2: "tpe", 3: "tpe"}
    assert list(records[0])[-1] == "proposed_by"  # a new last field: old readers unaffected

    # The column can be asked for by name.
    r = invoke("report", "quad", "--columns", "value,proposed_by", "--sort", "number")
    assert "proposed_by" in r.output and r.exit_code == 0


def test_show_names_the_sampler_of_the_trial(tpe_run, invoke):
    r = invoke("show", "quad", "2")
    assert r.exit_code == 0, r.output
    assert any(re.fullmatch(r"│ proposed by +│ tpe +│", line) for line in r.output.splitlines())
    assert json.loads(invoke("show", "quad", "0", "--format", "json").output)[
        "proposed_by"] == "sobol"


def test_a_random_study_stores_random_but_its_lines_and_table_do_not_repeat_it(
        project, invoke, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    r = invoke("run", write_space(project, "random", "plain"))
    assert r.exit_code == 0, r.output
    lines = [line for line in r.output.splitlines() if "] trial " in line]
    assert len(lines) == 4 and not any(" by " in line for line in lines), lines
    r = invoke("report", "plain")
    assert "proposed_by" not in r.output
    r = invoke("report", "plain", "--format", "csv")
    assert r.output.splitlines()[0] == "number,round,state,value,x,duration,proposed_by"
    records = json.loads(invoke("report", "plain", "--format", "json").output)
    assert [t["proposed_by"] for t in records] == ["random"] * 4
    r = invoke("show", "plain", "0")
    assert any(re.fullmatch(r"│ proposed by +│ random +│", line) for line in r.output.splitlines())
