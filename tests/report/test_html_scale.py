"""The HTML page of a big stored study: the loader holds a bounded sample (the best trials and
an even sample) yet the page's figures about *all* trials (running best, rounds table, counts,
times) are those of every trial; importance imports no scikit-learn or scipy."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap

import pytest

from hpsearch.report.html import load_study_data
from hpsearch.report.html_data import STAT_FIELDS, StudyData, StudyStats
from hpsearch.storage import Storage

SPACE = {
    "study": {"name": "big", "metric": "score", "direction": "minimize", "sampler": "random",
              "trials": 12_000, "seed": 0},
    "objective": {"kind": "python", "function": "m:f"},
    "params": {"lr": {"type": "log_uniform", "low": 1e-5, "high": 1.0},
               "drop": {"type": "uniform", "low": 0.0, "high": 0.5}},
}
N = 12_000


def value_of(i: int) -> float:
    return 1.0 + math.sin(i * 0.37) + 1.0 / (1 + i % 1009)


@pytest.fixture
def big(db_url):
    """12,000 trials in two rounds (the second from number 9,000), bulk-inserted: every 50th
    pruned (with steps for some), every 97th failed."""
    from sqlalchemy import insert

    from hpsearch.storage.tables import TRIAL

    storage = Storage(db_url)
    study = storage.create_study(name="big", metric="score", direction="minimize",
                                 sampler="random", seed=0, space=SPACE, source="big.toml",
                                 target=9_000)
    storage.add_round(study.id, parent=1, space=SPACE, rule={"top": 5}, sampler="random",
                      seed=1, target=N - 9_000)
    rows = []
    for i in range(N):
        state = "failed" if i % 97 == 0 else "pruned" if i % 50 == 0 else "complete"
        rows.append(dict(
            study_id=study.id, round=1 if i < 9_000 else 2, number=i, sample_index=i, state=state,
            params={"lr": 10 ** (-5 * ((i * 7919) % 1000) / 1000), "drop": (i % 500) / 1000},
            value=value_of(i) if state == "complete" else None,
            metrics={"score": value_of(i)} if state == "complete" else None, seed=i,
            worker="w", heartbeat=1e9 + i, started_at=1e9 + i, finished_at=1e9 + i + 0.5))
    with storage.engine.begin() as conn:
        conn.execute(insert(TRIAL), rows)
    pruned = next(t for t in storage.iter_trials(study, states=["pruned"], sort="number",
                                                 descending=True))
    storage.add_steps(pruned.id, [(0, {"score": 3.0}), (1, {"score": 2.5})])
    yield storage, rows
    storage.dispose()


def test_a_big_study_is_sampled_but_its_totals_are_every_trial(big, monkeypatch):
    storage, rows = big

    def everything(*a, **k):
        raise AssertionError("the loader read every trial as a record")

    monkeypatch.setattr(Storage, "trials", everything)
    data = load_study_data(storage, "big", max_points=2_000)
    assert data.n_trials == N and len(data.trials) <= 2_100
    done = [r for r in rows if r["state"] == "complete"]
    best = min(done, key=lambda r: (r["value"], r["number"]))
    assert data.ranked()[0].number == best["number"]        # the best is always on the page
    # The running best over every complete trial, not over the sample.
    xs, ys, running = [], [], math.inf
    for r in done:
        if r["value"] < running:
            running = r["value"]
            xs.append(r["number"])
            ys.append(running)
    if xs[-1] != done[-1]["number"]:
        xs.append(done[-1]["number"])
        ys.append(running)
    assert data.stats.best_so_far == (xs, ys)
    assert data.stats.n_complete == len(done)
    assert data.stats.rounds[1].trials == 9_000 and data.stats.rounds[2].trials == N - 9_000
    assert data.stats.rounds[2].first == 9_000
    assert data.stats.rounds[2].complete == sum(1 for r in done if r["round"] == 2)
    assert data.stats.wall == pytest.approx(N - 1 + 0.5)
    # The latest pruned trial's curve is drawn, its record on the page even outside the sample.
    last_pruned = max(r["number"] for r in rows if r["state"] == "pruned")
    assert last_pruned in data.curves and last_pruned in {t.number for t in data.trials}
    # An even sample of the rest: both rounds and every state are on the page.
    assert {t.round for t in data.trials} == {1, 2}
    assert {t.state for t in data.trials} == {"complete", "pruned", "failed"}


def test_the_page_says_what_every_trial_says(big, tmp_path):
    from hpsearch.report.html import build_html

    storage, rows = big
    text = build_html([load_study_data(storage, "big", max_points=2_000)], max_points=2_000)
    assert f"{N:,}:" in text                                      # trials: 12,000: ...
    assert "(the best and a sample)" in text
    assert f"<td>{N - 9_000:,}</td>" in text                      # the rounds table: round 2


def test_stats_from_records_match_stats_from_rows(big):
    storage, _ = big
    study = storage.get_study("big")
    from_rows = StudyStats.collect(storage.iter_rows(study, STAT_FIELDS), maximize=False)
    records = list(storage.iter_trials(study))
    from_records = StudyData(study=study, rounds=storage.rounds(study.id), trials=records).stats
    assert from_rows == from_records


@pytest.mark.slow  # over a second: out of `make test-fast`
def test_importance_imports_neither_sklearn_nor_scipy():
    code = textwrap.dedent("""
        import random, sys
        from hpsearch.report.importance import param_importance
        from hpsearch.space import Space
        sp = Space.from_dict({"study": {"name": "x", "metric": "v"},
                              "objective": {"kind": "python", "function": "m:f"},
                              "params": {"a": {"type": "uniform", "low": 0, "high": 1},
                                         "b": {"type": "uniform", "low": 0, "high": 1}}}, source="x")
        rng = random.Random(0)
        pairs = [({"a": rng.random(), "b": rng.random()}, None) for _ in range(300)]
        pairs = [(p, p["a"]) for p, _ in pairs]
        ranked = param_importance(sp, pairs, direction="minimize")
        assert ranked[0][0] == "a", ranked
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("sklearn", "scipy"))
        print("HEAVY", heavy[:3])
        # Later in the same process, optuna's fANOVA still works (it imports sklearn afresh).
        try:
            import sklearn  # noqa: F401
        except ImportError:
            print("NO-SKLEARN")
        else:
            from optuna.importance import FanovaImportanceEvaluator
            FanovaImportanceEvaluator()
            print("FANOVA-OK")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "HEAVY []" in out.stdout
    assert "FANOVA-OK" in out.stdout or "NO-SKLEARN" in out.stdout
