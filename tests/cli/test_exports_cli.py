"""`best --export` and `rounds --export` write files that run from where they are written
(issue 12 item 3), and `best --test` (item 5)."""

from __future__ import annotations

import json
import textwrap

import pytest

from support.runs import run_cli
from support.studies import python_study

OBJECTIVE = textwrap.dedent('''
    def train(params, report):
        return {"score": params["x"]}
''')

SPACE = python_study("far", "farobj:train", trials=3)

CSV_SPACE = textwrap.dedent('''
    [study]
    name = "csvstudy"
    metric = "val_accuracy"
    trials = 1
    [trainer]
    dataset = "data/tiny.csv"
    epochs = 1
    [params]
    learning_rate = 0.01
''')


def tiny_csv(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = ["a,b,label"] + [f"{i % 7},{(i * 3) % 5},{'yes' if i % 2 else 'no'}" for i in range(40)]
    path.write_text("\n".join(rows) + "\n")


@pytest.mark.parametrize("command", ["best", "rounds"])
def test_export_of_a_python_objective_runs_from_a_third_folder(project, invoke, db_url, command):
    (project / "proj" / "farobj.py").write_text(OBJECTIVE)
    (project / "proj" / "space.toml").write_text(SPACE)
    assert invoke("run", project / "proj" / "space.toml").exit_code == 0
    out = project / "exports" / "out.toml"
    out.parent.mkdir()
    r = invoke(command, "far", "--export", out)
    assert r.exit_code == 0, r.output
    assert 'base_dir = "../proj"' in out.read_text()
    third = project / "elsewhere"
    third.mkdir()
    # a fresh process (this one has the module imported already), from a third folder
    proc = run_cli(f"sqlite:///{project}/other.db", "run", "../exports/out.toml", cwd=third)
    assert proc.returncode == 0, proc.stderr
    assert "1 complete" in proc.stdout or "3 complete" in proc.stdout, proc.stdout


@pytest.mark.slow  # over a second: out of `make test-fast`
def test_export_of_a_relative_dataset_validates_from_a_third_folder(project, invoke, monkeypatch):
    """The built-in trainer's `dataset = "data/tiny.csv"` still names the file from the
    exported copy: `validate` (which reads the dataset) passes from a third folder."""
    tiny_csv(project / "proj" / "data" / "tiny.csv")
    (project / "proj" / "space.toml").write_text(CSV_SPACE)
    r = invoke("run", project / "proj" / "space.toml")
    assert r.exit_code == 0 and "1 complete" in r.stdout, r.output
    out = project / "exports" / "best.toml"
    out.parent.mkdir()
    assert invoke("best", "csvstudy", "--export", out).exit_code == 0
    third = project / "elsewhere"
    third.mkdir()
    monkeypatch.chdir(third)
    r = invoke("validate", "../exports/best.toml")
    assert r.exit_code == 0, r.output


def test_export_next_to_the_space_file_is_unchanged(project, invoke):
    (project / "proj" / "farobj.py").write_text(OBJECTIVE)
    (project / "proj" / "space.toml").write_text(SPACE)
    assert invoke("run", project / "proj" / "space.toml").exit_code == 0
    out = project / "proj" / "best.toml"
    assert invoke("best", "far", "--export", out).exit_code == 0
    assert "base_dir" not in out.read_text()


@pytest.mark.slow
def test_best_test_prints_test_metrics_of_the_chosen_model_only(project, invoke):
    tiny_csv(project / "proj" / "data" / "tiny.csv")
    (project / "proj" / "space.toml").write_text(
        CSV_SPACE.replace("epochs = 1", "epochs = 1\ntest_fraction = 0.2"))
    r = invoke("run", project / "proj" / "space.toml")
    assert r.exit_code == 0, r.output
    rows = json.loads(invoke("report", "csvstudy", "--format", "json").stdout)
    assert not any(k.startswith("test_") for k in rows[0]["metrics"])  # no trial sees the test split
    r = invoke("best", "csvstudy", "--test")
    assert r.exit_code == 0, r.output
    assert "test split (the chosen model only): " in r.stdout and "test_accuracy=" in r.stdout
    record = json.loads(invoke("best", "csvstudy", "--test", "--format", "json").stdout)
    assert set(record["test_metrics"]) >= {"test_accuracy", "test_loss"}
