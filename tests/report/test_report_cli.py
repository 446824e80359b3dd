"""`hpsearch report` as a user reads it: sort keys in their own sense, unknown keys refused,
-o FILE in the format its suffix names, a table that fits the width without cutting a number,
a value or a name, ties broken by the validation loss, --html, --importance, --columns."""

from __future__ import annotations

import csv
import io
import json
import math
import random
import re

import pytest

from hpsearch.space import Space
from hpsearch.storage import Storage

LONG = "a_rather_long_parameter_name_for_the_terminal"
SPACE = {
    "study": {"name": "wide", "metric": "val_accuracy", "direction": "maximize",
              "sampler": "random", "trials": 40, "seed": 1},
    "objective": {"kind": "builtin"},
    "params": {
        "learning_rate": {"type": "log_uniform", "low": 1e-5, "high": 1e-1},
        "dropout": {"type": "uniform", "low": 0.0, "high": 0.5},
        "hidden_units": {"type": "int", "low": 16, "high": 512, "log": True},
        "optimizer": {"type": "choice", "values": ["adam", "sgd", "rmsprop"]},
        "weight_decay": {"type": "log_uniform", "low": 1e-6, "high": 1e-2},
        LONG: {"type": "uniform", "low": 0.0, "high": 1.0},
        "batch_size": {"type": "choice", "values": [32, 64, 128]},
        "label_smoothing": {"type": "uniform", "low": 0.0, "high": 0.2},
    },
}


def make_study(db_url: str, n: int = 40, *, ties: bool = False, name: str = "wide",
               space: dict | None = None) -> None:
    """A study through the public Storage API: val_accuracy depends on learning_rate only
    (``ties``: half the trials reach exactly 1.0), val_loss falls as it rises, and a metric of
    unknown sense, ``odd``."""
    spec = dict(space or SPACE)
    spec["study"] = {**spec["study"], "name": name}
    sp = Space.from_dict(spec, source="wide.toml")
    storage = Storage(db_url)
    study = storage.create_study(name=name, metric=spec["study"]["metric"],
                                 direction=spec["study"]["direction"], sampler="random", seed=1,
                                 space=sp.to_dict(), source="wide.toml", target=n)
    rnd = storage.latest_round(study.id)
    rng = random.Random(5)
    for i in range(n):
        t = storage.claim(study, rnd, propose=lambda _i: sp.from_unit([rng.random() for _ in range(sp.dim)]),
                          limit=None, worker="w", device="cpu")
        acc = round(1 - abs(math.log10(t.params["learning_rate"]) + 3) / 4, 6)
        if ties and i % 2 == 0:
            acc = 1.0
        loss = round(1.0 - 0.5 * acc + 0.001 * ((i * 37 + 11) % 40), 6)
        metrics = {"val_accuracy": acc, "val_loss": loss, "odd": (i * 7) % 11}
        storage.finish(t.id, state="complete", value=metrics[spec["study"]["metric"]],
                       metrics=metrics)
    storage.dispose()


@pytest.fixture
def study(db_url):
    make_study(db_url)
    return db_url


def rows_json(invoke, *args):
    r = invoke("report", "wide", "--format", "json", *args)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


# ------------------------------------------------------------------------------ 12.1 sort
def test_sort_follows_the_metrics_own_sense(study, invoke):
    losses = [t["metrics"]["val_loss"] for t in rows_json(invoke, "--sort", "val_loss")]
    assert losses == sorted(losses)  # a loss: lowest first, although the study maximizes
    accs = [t["metrics"]["val_accuracy"] for t in rows_json(invoke, "--sort", "val_accuracy")]
    assert accs == sorted(accs, reverse=True)
    odd = [t["metrics"]["odd"] for t in rows_json(invoke, "--sort", "odd")]
    assert odd == sorted(odd, reverse=True)  # unknown sense: descending...
    assert [t["metrics"]["odd"] for t in rows_json(invoke, "--sort", "odd", "--asc")] == sorted(odd)
    assert [t["metrics"]["val_loss"] for t in rows_json(invoke, "--sort", "-val_loss")] == sorted(losses, reverse=True)
    assert [t["metrics"]["val_loss"] for t in rows_json(invoke, "--sort", "val_loss", "--desc")] == sorted(losses, reverse=True)
    # --top keeps the first N of that order
    assert [t["metrics"]["val_loss"] for t in rows_json(invoke, "--sort", "val_loss", "--top", "3")] == losses[:3]


def test_table_header_says_how_it_is_sorted(study, invoke):
    r = invoke("report", "wide", "--sort", "val_loss")
    assert r.exit_code == 0, r.output
    assert "sorted by val_loss ascending (lower is better)" in " ".join(r.stdout.split())
    r = invoke("report", "wide")
    assert "best first (maximize val_accuracy; ties by val_loss ascending)" in " ".join(r.stdout.split())


def test_the_study_metric_on_a_minimize_study_sorts_ascending(db_url, invoke):
    spec = {**SPACE, "study": {**SPACE["study"], "metric": "val_loss", "direction": "minimize"}}
    make_study(db_url, space=spec)
    losses = [t["metrics"]["val_loss"] for t in rows_json(invoke, "--sort", "val_loss")]
    accs = [t["metrics"]["val_accuracy"] for t in rows_json(invoke, "--sort", "val_accuracy")]
    assert losses == sorted(losses) and accs == sorted(accs, reverse=True)


# ------------------------------------------------------------------------------ 12.2 unknown key
def test_unknown_sort_key_is_an_error_listing_the_known_ones(study, invoke):
    r = invoke("report", "wide", "--sort", "val_los")
    assert r.exit_code == 2
    assert "--sort val_los: study 'wide' has no such metric or parameter (known: " in r.stderr
    for key in ("val_loss", "val_accuracy", "odd", "learning_rate", "number", "duration"):
        assert key in r.stderr
    assert r.stdout == ""


# ------------------------------------------------------------------------------ 12.4 -o suffix
@pytest.mark.parametrize("suffix", [".csv", ".json", ".md", ".html", ".txt"])
def test_output_file_format_from_its_suffix(study, invoke, project, suffix):
    path = project / "work" / f"out{suffix}"
    r = invoke("report", "wide", "-o", path)
    assert r.exit_code == 0, r.output
    assert r.stdout == ""  # nothing on stdout: it went to the file
    text = path.read_text()
    if suffix == ".csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        assert len(rows) == 40 and "learning_rate" in rows[0]
    elif suffix == ".json":
        assert len(json.loads(text)) == 40
    elif suffix == ".md":
        assert text.startswith("| number | round | state | value |") and len(text.splitlines()) == 42
    elif suffix == ".html":
        assert text.startswith("<!DOCTYPE html>") and "wide" in text
    else:
        assert "wide: maximize val_accuracy" in text  # the table, as text
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_json_stream_is_the_same_text_as_before(study, db_url):
    from hpsearch.report import export_study, select_trials, trial_json

    storage = Storage(db_url)
    out = io.StringIO()
    assert export_study(storage, "wide", out, "json") == 40
    trials = select_trials(storage, "wide", top=None).trials
    assert out.getvalue() == json.dumps([trial_json(t) for t in trials], indent=1) + "\n"
    empty = io.StringIO()
    assert export_study(storage, "wide", empty, "json", states=["failed"]) == 0
    assert empty.getvalue() == "[]\n"
    storage.dispose()


# ------------------------------------------------------------------------------ 12.6 ties
def test_ties_go_to_the_validation_loss(db_url, invoke):
    make_study(db_url, ties=True)
    rows = rows_json(invoke)
    tied = [t for t in rows if t["value"] == 1.0]
    assert len(tied) == 20
    assert [t["metrics"]["val_loss"] for t in tied] == sorted(t["metrics"]["val_loss"] for t in tied)
    best = json.loads(invoke("best", "wide", "--format", "json").stdout)
    lowest = min(tied, key=lambda t: (t["metrics"]["val_loss"], t["number"]))
    assert best["number"] == lowest["number"] and best["number"] != min(t["number"] for t in tied)


def test_studies_best_trial_follows_the_tie_breaker(db_url, invoke):
    make_study(db_url, ties=True)
    make_study(db_url, name="plain")
    r = invoke("studies", "--format", "json")
    assert r.exit_code == 0, r.output
    rows = {s["name"]: s for s in json.loads(r.stdout)}
    best = json.loads(invoke("best", "wide", "--format", "json").stdout)
    assert rows["wide"]["best_value"] == 1.0 and rows["wide"]["best_trial"] == best["number"]
    assert rows["wide"]["best_trial"] == rows_json(invoke)[0]["number"]  # the report's first row
    plain = json.loads(invoke("best", "plain", "--format", "json").stdout)
    assert rows["plain"]["best_trial"] == plain["number"]


def test_study_summary_best_number_honours_the_tie_breaker(db_url):
    """Issue 22, item 14: StudySummary.best_number was the lowest number among the tied."""
    from hpsearch.report import get_best

    make_study(db_url, ties=True)
    storage = Storage(db_url)
    (summary,) = storage.summaries()
    _study, best = get_best(storage, "wide")
    assert summary.best_number == best.number
    assert summary.best_number != storage.best(storage.get_study("wide")).number


def test_tie_breaker_setting_and_refine_warns_on_mostly_ties(db_url, invoke, caplog):
    from hpsearch.refine import refine_study

    spec = {**SPACE, "study": {**SPACE["study"], "tie_breaker": "-odd"}}
    make_study(db_url, ties=True, space=spec)
    tied = [t for t in rows_json(invoke) if t["value"] == 1.0]
    assert [t["metrics"]["odd"] for t in tied] == sorted((t["metrics"]["odd"] for t in tied), reverse=True)
    storage = Storage(db_url)
    with caplog.at_level("WARNING", logger="hpsearch.refine"):
        new = refine_study(storage, "wide", top=6, trials=2)
    assert new.rule["top_trials"] == [t["number"] for t in tied[:6]]
    assert "6 of the top 6 trials tie on val_accuracy" in caplog.text
    assert "tie breaker (odd descending)" in caplog.text
    storage.dispose()


# ------------------------------------------------------------------------------ 15: the table
def numbers_and_values_whole(text: str, rows: list[dict]) -> None:
    from hpsearch.report import fmt_value

    assert "…" not in text
    for t in rows:
        line = next(l for l in text.splitlines() if re.match(rf"^│ +{t['number']} +│", l))
        assert f" {fmt_value(t['value'])} " in line


def test_table_fits_80_columns_without_cutting(study, invoke, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    r = invoke("report", "wide")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    table = [l for l in lines if l[:1] in "┏┃┡│└"]
    assert max(len(l) for l in table) <= 80
    best = rows_json(invoke)[:20]
    numbers_and_values_whole(r.stdout, best)
    assert len([l for l in table if re.match(r"^│ +\d+ +│", l)]) == 20  # the best 20
    words = " ".join(r.stdout.split())
    assert "20 more trials not shown (--top N shows more; --format csv -o trials.csv writes them all)" in words
    assert "parameter columns not shown" in r.stdout and "--all-columns" in r.stdout
    header = next(l for l in table if l.startswith("┃"))
    for col in ("#", "round", "state", "value", "duration"):
        assert f" {col} " in header


def test_table_prefers_the_important_parameters(study, invoke, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    r = invoke("report", "wide")
    header = next(l for l in r.stdout.splitlines() if l.startswith("┃"))
    assert "learning_rate" in header  # the one parameter that matters
    assert "(the most important shown)" in r.stdout


def test_columns_and_all_columns(study, invoke, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    r = invoke("report", "wide", "--columns", "value,dropout,val_loss", "--top", "40")
    assert r.exit_code == 0, r.output
    header = next(l for l in r.stdout.splitlines() if l.startswith("┃"))
    assert [c.strip() for c in header.strip("┃").split("┃")] == ["#", "value", "dropout", "val_loss"]
    numbers_and_values_whole(r.stdout, rows_json(invoke))
    r = invoke("report", "wide", "--all-columns", "--top", "5")
    header = next(l for l in r.stdout.splitlines() if l.startswith("┃"))
    assert LONG in header and "label_smoothing" in header and "…" not in r.stdout
    r = invoke("report", "wide", "--columns", "nope,dropout")
    assert r.exit_code == 2 and "--columns: unknown column nope (known: number, round" in r.stderr


def test_off_a_terminal_without_columns_the_table_is_100_wide(study, invoke, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    r = invoke("report", "wide")
    table = [l for l in r.stdout.splitlines() if l[:1] in "┏┃┡│└"]
    assert 60 < max(len(l) for l in table) <= 100


def test_studies_at_80_columns_keeps_names_whole(db_url, invoke, monkeypatch):
    make_study(db_url, n=3, name="digits-mlp-coarse-search")
    make_study(db_url, n=3, name="digits-mlp-coarse-search-2")
    monkeypatch.setenv("COLUMNS", "80")
    r = invoke("studies")
    assert r.exit_code == 0, r.output
    assert "digits-mlp-coarse-search " in r.stdout and "digits-mlp-coarse-search-2" in r.stdout
    assert "…" not in r.stdout and max(len(l) for l in r.stdout.splitlines()) <= 80


# ------------------------------------------------------------------------------ 15: html, importance
def test_html_of_two_studies_is_written_atomically(db_url, invoke, project):
    make_study(db_url, name="a")
    make_study(db_url, name="b", ties=True)
    r = invoke("report", "a", "b", "--html", "cmp.html")
    assert r.exit_code == 0, r.output
    assert r.stdout == "" and "wrote cmp.html" in r.stderr
    page = (project / "work" / "cmp.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and 'href="#study-1"' in page
    assert sorted(p.name for p in (project / "work").iterdir()) == ["cmp.html"]
    r = invoke("report", "a", "b")
    assert r.exit_code == 2 and "several studies go only with --html FILE" in r.stderr


def test_importance_as_json(study, invoke, db_url):
    """Issue 22, item 13: --format json was ignored (text printed)."""
    r = invoke("report", "wide", "--importance", "--format", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert (data["study"], data["completed_trials"], data["top_trials"]) == ("wide", 40, 4)
    assert data["caution"].startswith("the top 10 % of 40 completed trials is 4 trials")
    assert data["importance"][0]["name"] == "learning_rate"
    assert abs(sum(p["share"] for p in data["importance"]) - 1) < 1e-9
    make_study(db_url, n=120, name="big")
    assert json.loads(invoke("report", "big", "--importance", "--format", "json").stdout)[
        "caution"] is None
    r = invoke("report", "wide", "--importance", "--format", "csv")
    assert r.exit_code == 2 and "--importance prints a table or --format json" in r.stderr


def test_importance_in_the_terminal(study, invoke, db_url):
    r = invoke("report", "wide", "--importance")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].startswith("wide: parameter importance for maximize val_accuracy")
    assert lines[1].split()[0] == "learning_rate" and len(lines) == 2 + len(SPACE["params"])
    # 40 trials: the top 10 % is 4 of them, and the report says what that is worth.
    assert lines[-1] == ("  note: the top 10 % of 40 completed trials is 4 trials: these shares are "
                         "a rough guess (a few more trials may reorder them; 100 or more give a "
                         "steadier answer)")
    make_study(db_url, n=4, name="small")
    r = invoke("report", "small", "--importance")
    assert r.exit_code == 3
    assert "study 'small' has 4 completed trials: parameter importance needs at least 10" in r.stderr
