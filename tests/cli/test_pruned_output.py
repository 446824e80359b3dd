"""What people see of a pruned trial (issue 14): the run's lines, `report` (table, csv, json),
`show`, `studies` and `best`, on one study built through the CLI with `--pruner median`.

The median pruner's defaults judge from the sixth trial on (5 complete ones before it): trials
0-4 run their 8 steps; trial 5 (x = 0.1) reports 0.0125 at step 1, below the median 0.1 of
the complete trials' values there (0.1125, 0.0625, 0.1, 0.11875, 0.0875), so it is pruned at
step 1."""

from __future__ import annotations

import json
import re
import textwrap

import pytest

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", re.M)

CURVES = '''
from hpsearch.pruners import Pruned

XS = [0.9, 0.5, 0.8, 0.95, 0.7, 0.1]

def train(params, report):
    x = XS[params["i"]]
    for step in range(1, 9):
        if report(step, {"score": x * step / 8}):
            raise Pruned("told to stop", step=step)
    return {"score": x}
'''

NOTE = "best score 0.0125 at step 1 is worse than the median 0.1 of 5 complete trials"


@pytest.fixture
def pruned_study(project, invoke, monkeypatch):
    """The study ``curves`` (5 complete, trial 5 pruned at step 1) and the run's output."""
    monkeypatch.setenv("COLUMNS", "100")
    proj = project / "proj"
    (proj / "curves.py").write_text(CURVES)
    space = proj / "space.toml"
    space.write_text(textwrap.dedent("""\
        [study]
        name = "curves"
        metric = "score"
        direction = "maximize"
        sampler = "grid"
        trials = 6
        seed = 0

        [objective]
        kind = "python"
        function = "curves:train"

        [params]
        i = { type = "choice", values = [0, 1, 2, 3, 4, 5] }
        """))
    r = invoke("run", space, "--pruner", "median")
    assert r.exit_code == 0, r.output
    return STAMP.sub("", r.output)


def test_the_run_lines_say_where_the_trial_was_pruned(pruned_study):
    lines = pruned_study.splitlines()
    assert any("trial 5 pruned at step 1 value=0.0125" in line for line in lines), lines
    # "; start-up 0.2s" ends the line when the run's start-up took 0.1 s or more (a busy
    # machine): what it says is checked elsewhere, not here.
    last, _, startup = lines[-1].partition("; start-up ")
    assert last == ("study curves round 1: ran 6 trials (5 complete, 1 pruned); "
                    "stopped: exhausted; best trial 3: 0.95 (the study's best)")
    assert not startup or startup[0].isdigit(), lines[-1]


def test_report_table_shows_the_pruned_step_and_that_the_value_is_partial(pruned_study, invoke):
    r = invoke("report", "curves", "--columns", "round,state,value,i")
    assert r.exit_code == 0, r.output
    # The title is centred over the table, wrapped at its width (rich).
    assert r.output.splitlines() == [
        'curves: maximize score; 5 complete, 1 pruned;',
        '         best first (maximize score)         ',
        '┏━━━┳━━━━━━━┳━━━━━━━━━━━━━━━━━━┳━━━━━━━━┳━━━┓',
        '┃ # ┃ round ┃ state            ┃ value  ┃ i ┃',
        '┡━━━╇━━━━━━━╇━━━━━━━━━━━━━━━━━━╇━━━━━━━━╇━━━┩',
        '│ 3 │ 1     │ complete         │ 0.95   │ 3 │',
        '│ 0 │ 1     │ complete         │ 0.9    │ 0 │',
        '│ 2 │ 1     │ complete         │ 0.8    │ 2 │',
        '│ 4 │ 1     │ complete         │ 0.7    │ 4 │',
        '│ 1 │ 1     │ complete         │ 0.5    │ 1 │',
        '│ 5 │ 1     │ pruned at step 1 │ 0.0125 │ 5 │',
        '└───┴───────┴──────────────────┴────────┴───┘',
        'pruned trials: value = their best before the stop, not a final value '
        '(best skips them)',
    ]
    # Without a pruned trial among the rows, no word about them.
    r = invoke("report", "curves", "--state", "complete", "--columns", "value")
    assert "pruned trials" not in r.output


def test_report_exports_keep_the_state_and_json_has_step_and_reason(pruned_study, invoke):
    r = invoke("report", "curves", "--format", "csv", "--state", "pruned")
    rows = r.output.splitlines()
    assert rows[0] == "number,round,state,value,i,duration,proposed_by"
    assert rows[1].startswith("5,1,pruned,0.0125,5,") and len(rows) == 2
    r = invoke("report", "curves", "--format", "json")
    records = {t["number"]: t for t in json.loads(r.output)}
    assert (records[5]["state"], records[5]["value"]) == ("pruned", 0.0125)
    assert (records[5]["pruned_step"], records[5]["note"]) == (1, NOTE)
    assert (records[3]["state"], records[3]["pruned_step"], records[3]["note"]) == (
        "complete", None, None)


def test_show_gives_the_step_the_partial_value_and_the_reason(pruned_study, invoke):
    r = invoke("show", "curves", "5")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == ("curves trial 5 (round 1): pruned at step 1, score = 0.0125 "
                        "(its best before it was stopped: not a final value)")
    assert any(re.fullmatch(rf"│ note +│ {re.escape(NOTE)} +│", line) for line in lines), lines
    assert "metrics: score=0.0125" in lines
    data = json.loads(invoke("show", "curves", "5", "--format", "json").output)
    assert (data["state"], data["pruned_step"], data["note"]) == ("pruned", 1, NOTE)
    assert data["steps"] == [{"step": 1, "score": 0.0125}]
    # A complete trial's headline is as before.
    assert invoke("show", "curves", "3").output.splitlines()[0] == (
        "curves trial 3 (round 1): complete, score = 0.95")


def test_studies_counts_pruned_trials_and_best_ignores_them(pruned_study, invoke):
    r = invoke("studies", "--format", "csv")
    assert r.output.splitlines() == [
        "name,metric,direction,trials,queued,running,complete,pruned,failed,interrupted,rounds,"
        "best_value,best_trial",
        "curves,score,maximize,6,0,0,5,1,0,0,1,0.95,3",
    ]
    table = invoke("studies").output
    header = next(line for line in table.splitlines() if "complete" in line)
    assert re.search(r"trials .* complete .* pruned .* best_value", header), table
    assert invoke("best", "curves").output == "best trial 3 (round 1): score = 0.95\n  i = 3\n"


def test_best_ignores_a_pruned_trial_whose_partial_value_is_better(project, invoke):
    """A pruned trial with a better (partial) value than every complete one is never the best."""
    from hpsearch.space import load_space
    from hpsearch.storage import Storage

    space = project / "proj" / "space.toml"
    space.write_text(textwrap.dedent("""\
        [study]
        name = "partial"
        metric = "loss"
        direction = "minimize"
        trials = 2
        [objective]
        kind = "python"
        function = "nothing:train"
        [params]
        x = { type = "uniform", low = 0.0, high = 1.0 }
        """))
    s = Storage(f"sqlite:///{project}/h.db")
    try:
        loaded = load_space(space)
        study = s.create_study(name=loaded.study.name, metric="loss", direction="minimize",
                               sampler="random", seed=0, space=loaded.to_dict(),
                               source=str(space), target=2)
        rnd = s.latest_round(study.id)
        a = s.claim(study, rnd, propose=lambda i: {"x": 0.1}, limit=2, worker="w", device=None)
        s.finish(a.id, state="pruned", value=0.01, metrics={"loss": 0.01}, pruned_step=1,
                 note="told")
        b = s.claim(study, rnd, propose=lambda i: {"x": 0.2}, limit=2, worker="w", device=None)
        s.finish(b.id, state="complete", value=0.5, metrics={"loss": 0.5})
    finally:
        s.dispose()
    r = invoke("best", "partial")
    assert r.output.splitlines()[0] == "best trial 1 (round 1): loss = 0.5"
