"""`run`, `report`, `studies`, `show`, `best` through the CLI against a real SQLite file."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import sys
import textwrap

import pytest
from click.testing import CliRunner

from support.studies import python_study

from hpsearch.cli import cli

OBJECTIVE = '''
import json, math, os, pathlib, signal, time

def train(params, report):
    for step in range(3):
        report(step, {"loss": 1.0 / (step + 1)})
    if params.get("boom"):
        raise ValueError("boom requested")
    stop = pathlib.Path(__file__).with_name("interrupt_at")
    calls = pathlib.Path(__file__).with_name("calls.log")
    with calls.open("a") as f:
        f.write(json.dumps(params, sort_keys=True) + "\\n")
    if stop.exists() and int(stop.read_text()) == sum(1 for _ in calls.open()):
        stop.unlink()
        # A real Ctrl-C (only a signal is an interrupt: a bare KeyboardInterrupt fails the trial)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    return {"score": -(math.log10(params["lr"]) + 2) ** 2 - (params["x"] - 0.3) ** 2, "aux": 1.5}
'''

TOY_PARAMS = ('lr = { type = "log_uniform", low = 1e-4, high = 1.0 }\n'
              'x = { type = "uniform", low = 0.0, high = 1.0 }\n'
              'opt = { type = "choice", values = ["a", "b"] }\n'
              'm = { type = "uniform", low = 0.1, high = 0.2, when = { opt = "a" } }\n')


def toy_space(trials: int, extra: str = "") -> str:
    return python_study("toy", "toyobj:train", trials=trials, direction="maximize", study="seed = 1",
                        params=TOY_PARAMS + extra)


@pytest.fixture
def project(project):
    """The shared project folder (tests/conftest.py) with the toy objective in ``proj/``."""
    (project / "proj" / "toyobj.py").write_text(OBJECTIVE)
    return project


def write_space(project, trials=8, extra="", name="space.toml"):
    path = project / "proj" / name
    path.write_text(toy_space(trials=trials, extra=extra))
    return path


def numbers(project):
    con = sqlite3.connect(project / "h.db")
    try:
        return con.execute("select number, state from trials order by number").fetchall()
    finally:
        con.close()


def test_run_then_report_in_every_format(project, invoke):
    space = write_space(project)
    r = invoke("run", space)
    assert r.exit_code == 0, r.output
    assert "study toy round 1: ran 8 trials (8 complete); stopped: target; best trial" in r.stdout
    assert r.stdout.count(" complete value=") == 8  # plain lines off a terminal

    rows = json.loads(invoke("report", "toy", "--format", "json").stdout)
    assert [r["number"] for r in rows] != list(range(8))  # best first, not by number
    assert sorted(r["number"] for r in rows) == list(range(8))
    values = [r["value"] for r in rows]
    assert values == sorted(values, reverse=True)
    first = rows[0]
    assert set(first) >= {"number", "state", "round", "params", "value", "metrics", "seed", "started", "finished"}
    assert first["metrics"]["aux"] == 1.5 and first["round"] == 1 and first["state"] == "complete"
    assert ("m" in first["params"]) == (first["params"]["opt"] == "a")

    top = list(csv.DictReader(io.StringIO(invoke("report", "toy", "--top", "3", "--format", "csv").stdout)))
    assert [int(r["number"]) for r in top] == [r["number"] for r in rows[:3]]
    assert set(top[0]) == {"number", "round", "state", "value", "lr", "x", "opt", "m", "duration",
                           "proposed_by"}
    assert float(top[0]["value"]) == pytest.approx(rows[0]["value"])

    md = invoke("report", "toy", "--top", "2", "--format", "markdown").stdout.splitlines()
    assert md[0] == "| number | round | state | value | lr | x | opt | m | duration | proposed_by |"
    assert len(md) == 4 and md[2].startswith(f"| {rows[0]['number']} | 1 | complete |")

    table = invoke("report", "toy", "--top", "2").stdout
    assert "toy: maximize score; 8 complete" in table and str(rows[0]["number"]) in table

    by_x = json.loads(invoke("report", "toy", "--sort", "x", "--top", "5", "--format", "json").stdout)
    assert [r["params"]["x"] for r in by_x] == sorted(r["params"]["x"] for r in rows)[:5]
    by_number = json.loads(invoke("report", "toy", "--sort", "number", "--format", "json").stdout)
    assert [r["number"] for r in by_number] == list(range(8))
    by_score = json.loads(invoke("report", "toy", "--sort", "score", "--format", "json").stdout)
    assert [r["number"] for r in by_score] == [r["number"] for r in rows]


def test_studies_show_and_best_export_retrains(project, invoke):
    space = write_space(project, trials=5)
    assert invoke("run", space).exit_code == 0
    (study,) = json.loads(invoke("studies", "--format", "json").stdout)
    assert study["name"] == "toy" and study["trials"] == 5 and study["complete"] == 5
    best = json.loads(invoke("best", "toy", "--format", "json").stdout)
    assert best["value"] == study["best_value"] and best["number"] == study["best_trial"]

    shown = json.loads(invoke("show", "toy", str(best["number"]), "--format", "json").stdout)
    assert shown["params"] == best["params"]
    assert [s["step"] for s in shown["steps"]] == [0, 1, 2] and shown["steps"][1]["loss"] == 0.5
    text = invoke("show", "toy", str(best["number"])).stdout
    assert "per-step metrics" in text and "seed" in text

    export = project / "proj" / "best.toml"
    r = invoke("best", "toy", "--export", export)
    assert r.exit_code == 0 and export.exists()
    r = invoke("run", export)
    assert r.exit_code == 0, r.output
    retrained = json.loads(invoke("best", "toy-best", "--format", "json").stdout)
    assert retrained["params"] == best["params"]
    assert retrained["value"] == pytest.approx(best["value"])
    md = invoke("studies", "--format", "markdown").stdout
    assert "| toy-best |" in md


def test_failing_trial_is_recorded_and_the_study_goes_on(project, invoke):
    space = write_space(project, trials=4, extra='boom = { type = "choice", values = [true, false] }')
    r = invoke("run", space)
    assert r.exit_code == 0
    rows = json.loads(invoke("report", "toy", "--format", "json").stdout)
    failed = [x for x in rows if x["state"] == "failed"]
    assert len(rows) == 4 and failed, "the seed should draw boom=true at least once"
    assert all(x["params"]["boom"] for x in failed)
    assert all(x["error"].startswith("ValueError: boom requested") for x in failed)
    assert all(x["value"] is None for x in failed)
    only_failed = json.loads(invoke("report", "toy", "--state", "failed", "--format", "json").stdout)
    assert [x["number"] for x in only_failed] == sorted(x["number"] for x in failed)


def test_interrupt_then_resume_loses_and_duplicates_nothing(project, invoke):
    space = write_space(project, trials=6)
    (project / "proj" / "interrupt_at").write_text("3")  # the 3rd call raises KeyboardInterrupt
    r = invoke("run", space)
    assert r.exit_code == 130
    assert "interrupted by SIGINT; trial 2 marked interrupted; run the same command again to resume" in r.stderr
    assert numbers(project) == [(0, "complete"), (1, "complete"), (2, "interrupted")]
    r = invoke("run", space)
    assert r.exit_code == 0, r.output
    assert "[1/4] trial 2 complete" in r.stdout and "[4/4] trial 5 complete" in r.stdout
    assert numbers(project) == [(n, "complete") for n in range(6)]
    calls = [json.loads(line) for line in (project / "proj" / "calls.log").read_text().splitlines()]
    rows = {x["number"]: x["params"] for x in json.loads(invoke("report", "toy", "--format", "json").stdout)}
    assert calls[2] == calls[3] == rows[2]  # trial 2 re-ran with its own params


def test_trials_option_and_add(project, invoke):
    space = write_space(project, trials=3)
    assert invoke("run", space).exit_code == 0
    again = invoke("run", space).stdout
    assert "study toy round 1: nothing to run, the round has its target" in again
    r = invoke("run", space, "--trials", "5")
    assert r.exit_code == 0 and "[1/2] trial 3 complete" in r.stdout and "[2/2] trial 4" in r.stdout
    assert len(numbers(project)) == 5
    assert invoke("run", space, "--add", "2").exit_code == 0
    assert numbers(project) == [(n, "complete") for n in range(7)]
    # a change of `trials` in the file alone is fine
    write_space(project, trials=9)
    r = invoke("run", space)
    assert r.exit_code == 0 and len(numbers(project)) == 9


def test_same_seed_gives_same_configurations_in_another_database(project, tmp_path, invoke):
    space = write_space(project, trials=4)
    invoke("run", space)
    a = json.loads(invoke("report", "toy", "--format", "json").stdout)
    other = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path}/other.db", "run", str(space)])
    assert other.exit_code == 0
    b = json.loads(CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path}/other.db", "report", "toy",
                                            "--format", "json"]).stdout)
    assert {x["number"]: x["params"] for x in a} == {x["number"]: x["params"] for x in b}


@pytest.mark.parametrize(
    "change, expected",
    [
        ('x = { type = "uniform", low = 0.0, high = 2.0 }',
         "parameter 'x' changed from {'type': 'uniform', 'low': 0.0, 'high': 1.0} to {'type': 'uniform', 'low': 0.0, 'high': 2.0}"),
        ('extra = 3', "parameter 'extra' was added"),
    ],
)
def test_space_change_is_refused_with_what_changed(project, change, expected, invoke):
    space = write_space(project, trials=2)
    assert invoke("run", space).exit_code == 0
    text = toy_space(trials=2, extra="")
    if change.startswith("x ="):
        text = text.replace('x = { type = "uniform", low = 0.0, high = 1.0 }', change)
    else:
        text += change + "\n"
    space.write_text(text)
    before = numbers(project)
    r = invoke("run", space)
    assert r.exit_code == 3
    assert expected in r.stderr
    assert "--study NEW-NAME" in r.stderr and "hpsearch refine toy" in r.stderr
    assert numbers(project) == before
    # ... and a new study name is the way out
    r = invoke("run", space, "--study", "toy-v2")
    assert r.exit_code == 0 and "study toy-v2" in r.stdout


def test_removed_parameter_is_refused(project, invoke):
    space = write_space(project, trials=2)
    invoke("run", space)
    space.write_text(toy_space(trials=2, extra="").replace('x = { type = "uniform", low = 0.0, high = 1.0 }\n', ""))
    r = invoke("run", space)
    assert r.exit_code == 3 and "parameter 'x' was removed" in r.stderr


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["report", "nope"], 3, "no study named 'nope'"),
        (["show", "toy", "99"], 3, "study 'toy' has no trial 99"),
        (["best", "nope"], 3, "no study named 'nope'"),
        (["run", "missing.toml"], 2, "missing.toml"),
        (["run", "SPACE", "--trials", "0"], 2, "--trials"),
        (["run", "SPACE", "--timeout", "soon"], 2, "not a duration: 'soon'"),
        (["run", "SPACE", "--trials", "3", "--add", "2"], 2, "--trials and --add cannot be used together"),
        (["report", "toy", "--format", "xml"], 2, "'xml' is not one of"),
    ],
)
def test_exit_codes_and_messages(project, args, code, message, invoke):
    space = write_space(project, trials=1)
    assert invoke("run", space).exit_code == 0
    args = [str(space) if a == "SPACE" else a for a in args]
    r = invoke(*args)
    assert r.exit_code == code, r.output
    assert message in r.stderr
    assert "Traceback" not in r.output


def test_read_commands_do_not_create_a_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["report", "x"])
    assert r.exit_code == 3 and "no database at hpsearch.db" in r.stderr
    assert not (tmp_path / "hpsearch.db").exists()


def test_newer_schema_exits_4(project, invoke):
    space = write_space(project, trials=1)
    invoke("run", space)
    con = sqlite3.connect(project / "h.db")
    con.execute("update hpsearch_meta set value='7' where key='schema_version'")
    con.commit()
    con.close()
    r = invoke("studies")
    assert r.exit_code == 4 and "schema version 7 is newer" in r.stderr


def test_unimportable_objective_exits_5_before_any_trial(project, invoke):
    space = write_space(project, trials=2)
    space.write_text(space.read_text().replace("toyobj:train", "nosuchmodule:train"))
    r = invoke("run", space)
    assert r.exit_code == 5
    # named like every other error of the file (issue 12 item 14)
    assert f"error: {space}: objective.function: cannot import 'nosuchmodule': " \
           "ModuleNotFoundError" in r.stderr
    space.write_text(space.read_text().replace("nosuchmodule:train", "toyobj:nothere"))
    r = invoke("run", space)
    assert r.exit_code == 5 and "'toyobj' has no attribute 'nothere'" in r.stderr
    assert numbers(project) == []


def test_objective_returning_a_number_or_missing_metric(project, invoke):
    (project / "proj" / "numobj.py").write_text(textwrap.dedent('''
        def number(params, report):
            return params["x"]
        def missing(params, report):
            return {"other": 1.0}
    '''))
    space = write_space(project, trials=2)
    space.write_text(space.read_text().replace("toyobj:train", "numobj:number"))
    assert invoke("run", space).exit_code == 0
    rows = json.loads(invoke("report", "toy", "--format", "json").stdout)
    assert all(r["value"] == r["params"]["x"] and r["metrics"] == {"score": r["value"]} for r in rows)
    space.write_text(space.read_text().replace("numobj:number", "numobj:missing"))
    assert invoke("run", space, "--study", "t2").exit_code == 0
    rows = json.loads(invoke("report", "t2", "--format", "json").stdout)
    assert {r["state"] for r in rows} == {"failed"}
    assert rows[0]["error"] == "metric 'score' missing from the result (got: 'other')"


@pytest.mark.slow  # over a second: out of `make test-fast`
def test_timeout_stops_starting_trials(project, invoke):
    (project / "proj" / "slow.py").write_text("import time\ndef f(p, r):\n    time.sleep(0.3)\n    return 1.0\n")
    space = write_space(project, trials=50)
    space.write_text(space.read_text().replace("toyobj:train", "slow:f"))
    r = invoke("run", space, "--timeout", "1s")
    assert r.exit_code == 0 and "stopped: timeout" in r.stdout
    assert 2 <= len(numbers(project)) <= 5


def test_refine_from_another_directory_uses_the_files_folder_and_latest_settings(project, monkeypatch, invoke):
    space = write_space(project, trials=6)
    assert invoke("run", space).exit_code == 0
    # the user edits a setting that does not change what a trial means: the next run stores it
    (project / "proj" / "toyobj2.py").write_text((project / "proj" / "toyobj.py").read_text())
    space.write_text(space.read_text().replace("toyobj:train", "toyobj2:train"))
    assert invoke("run", space).exit_code == 0
    elsewhere = project / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delitem(sys.modules, "toyobj2", raising=False)
    r = invoke("refine", "toy", "--top", "3", "--trials", "2")
    assert r.exit_code == 0, r.output
    assert "toyobj2" in sys.modules
    assert sys.modules["toyobj2"].__file__ == str(project / "proj" / "toyobj2.py")
    rows = json.loads(invoke("report", "toy", "--round", "2", "--format", "json").stdout)
    assert len(rows) == 2 and {r["state"] for r in rows} == {"complete"}
    sys.modules.pop("toyobj2", None)


def test_report_of_a_round_that_does_not_exist_is_an_error(project, invoke):
    space = write_space(project, trials=2)
    assert invoke("run", space).exit_code == 0
    r = invoke("report", "toy", "--round", "5")
    assert r.exit_code == 3 and "the study has no round 5 (it has only round 1)" in r.stderr


def test_studies_counts_every_state(project, invoke):
    space = write_space(project, trials=3)
    (project / "proj" / "interrupt_at").write_text("2")
    assert invoke("run", space).exit_code == 130
    (row,) = json.loads(invoke("studies", "--format", "json").stdout)
    assert (row["trials"], row["complete"], row["interrupted"], row["queued"]) == (2, 1, 1, 0)
    csv_text = invoke("studies", "--format", "csv").stdout
    assert csv_text.splitlines()[0].startswith("name,metric,direction,trials,queued,running,complete")


def test_rounds_export_writes_the_narrowed_space_as_a_runnable_file(project, invoke):
    from hpsearch.space import load_space

    space = write_space(project, trials=8)
    assert invoke("run", space).exit_code == 0
    assert invoke("refine", "toy", "--top", "3", "--trials", "2").exit_code == 0
    out = project / "proj" / "round2.toml"
    r = invoke("rounds", "toy", "--export", out)
    assert r.exit_code == 0, r.output
    exported = load_space(out)
    rounds = json.loads(invoke("rounds", "toy", "--format", "json").stdout)
    assert exported.study.name == "toy-round2" and exported.study.sampler == "auto"
    lr = exported.params["lr"]
    assert 1e-4 <= lr.low < lr.high <= 1.0 and (lr.low, lr.high) != (1e-4, 1.0)
    assert [r["round"] for r in rounds["rounds"]] == [1, 2]
    r = invoke("run", out)
    assert r.exit_code == 0 and "study toy-round2 round 1: ran 2 trials (2 complete)" in r.stdout
