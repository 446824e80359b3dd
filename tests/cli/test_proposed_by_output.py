"""Which sampler proposed each trial (issue 13): the run's lines, `report` (table, csv, json)
and `show` of a TPE study with 2 Sobol start-up trials; a random study's output has no such
column (random/Sobol/grid trials store none)."""

from __future__ import annotations

import csv
import io
import json
import re
import textwrap

import pytest

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", re.M)

MODULE = '''
def f(params, report):
    return {"loss": (params["x"] - 0.3) ** 2}
'''


def write_space(project, sampler: str, name: str):
    proj = project / "proj"
    (proj / "quad.py").write_text(MODULE)
    space = proj / f"{name}.toml"
    space.write_text(textwrap.dedent(f"""\
        [study]
        name = "{name}"
        metric = "loss"
        direction = "minimize"
        sampler = "{sampler}"
        n_startup_trials = 2
        trials = 4
        seed = 0

        [objective]
        kind = "python"
        function = "quad:f"

        [params]
        x = {{ type = "uniform", low = 0.0, high = 1.0 }}
        """))
    return space


@pytest.fixture
def tpe_run(project, invoke, monkeypatch):
    pytest.importorskip("optuna")
    monkeypatch.setenv("COLUMNS", "100")
    r = invoke("run", write_space(project, "tpe", "quad"))
    assert r.exit_code == 0, r.output
    return STAMP.sub("", r.output)


def test_each_run_line_says_which_sampler_proposed_the_trial(tpe_run):
    lines = [line for line in tpe_run.splitlines() if "] trial " in line]
    assert [line.rsplit(" ", 1)[-1] for line in lines] == ["sobol", "sobol", "tpe", "tpe"], lines
    assert all(re.fullmatch(r"\[\d/4\] trial \d complete value=\S+ best \S+ \(\S+\) by \w+", line)
               for line in lines), lines


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


def test_a_random_study_shows_no_proposed_by_column(project, invoke, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    r = invoke("run", write_space(project, "random", "plain"))
    assert r.exit_code == 0, r.output
    assert " by " not in r.output
    r = invoke("report", "plain")
    assert "proposed_by" not in r.output
    r = invoke("report", "plain", "--format", "csv")
    assert r.output.splitlines()[0] == "number,round,state,value,x,duration"
    records = json.loads(invoke("report", "plain", "--format", "json").output)
    assert [t["proposed_by"] for t in records] == [None] * 4
    r = invoke("show", "plain", "0")
    assert "proposed by" not in r.output
