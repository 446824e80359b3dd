"""The same study on a real PostgreSQL server: many workers, every command, ``hpsearch worker``.

The server is started by ``tests/support/pgserver.py`` (one per session, loopback only; its
``pg_url`` fixture is registered for the whole suite); the tests are skipped, saying why, when
the PostgreSQL binaries are missing (and fail instead in CI).
"""

from __future__ import annotations

import json
import signal

import pytest

from support.runs import (assert_contiguous, run_cli, running_trials, spawn_cli, trials_of,
                          wait_until, write_par_space)

from hpsearch.run import RunOptions, run_study
from hpsearch.space import load_space
from hpsearch.storage import SCHEMA_VERSION, Storage

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def par_trials(url: str) -> list:
    return [t for _, t in sorted(trials_of(url, "par").items())]


def test_four_workers_400_trials_postgres(tmp_path, pg_url):
    space = load_space(write_par_space(tmp_path, trials=400))
    summary = run_study(Storage(pg_url), space, RunOptions(workers=4, stale_after=60))
    assert summary.ran == 400 and summary.states == {"complete": 400}, summary
    trials = par_trials(pg_url)
    assert len(trials) == 400 and all(t.state == "complete" for t in trials)
    assert_contiguous(trials, 400)
    assert sorted(t.sample_index for t in trials) == list(range(400))
    assert len({t.worker for t in trials}) >= 2


def test_every_command_on_postgres(tmp_path, pg_url):
    write_par_space(tmp_path, trials=6)
    res = run_cli(pg_url, "run", "space.toml", "--workers", "2", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "ran 6 trials (6 complete)" in res.stdout
    both = [spawn_cli(pg_url, "--quiet", "run", "space.toml", "--add", "10", cwd=tmp_path)
            for _ in range(2)]
    for p in both:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    report = run_cli(pg_url, "report", "par", "--format", "json", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    rows = json.loads(report.stdout)
    assert sorted(r["number"] for r in rows) == list(range(26))
    assert_contiguous(par_trials(pg_url), 26)
    studies = run_cli(pg_url, "studies", "--format", "json", cwd=tmp_path)
    assert studies.returncode == 0, studies.stderr
    (row,) = json.loads(studies.stdout)
    assert row["name"] == "par" and row["complete"] == 26
    show = run_cli(pg_url, "show", "par", "3", "--format", "json", cwd=tmp_path)
    assert show.returncode == 0, show.stderr
    shown = json.loads(show.stdout)
    assert (shown["number"], shown["state"]) == (3, "complete")
    best = run_cli(pg_url, "best", "par", "--format", "json", cwd=tmp_path)
    assert best.returncode == 0, best.stderr
    assert json.loads(best.stdout)["value"] == min(t.value for t in par_trials(pg_url))


def test_worker_joins_and_sigterm_on_postgres(tmp_path, pg_url):
    write_par_space(tmp_path, trials=4)
    assert run_cli(pg_url, "run", "space.toml", "--trials", "2", cwd=tmp_path).returncode == 0
    (tmp_path / "space.toml").unlink()  # another machine: no space file, only the module
    block = tmp_path / "block"
    block.touch()
    proc = spawn_cli(pg_url, "worker", pg_url, "par", "--workers", "2", "--add", "4",
                     cwd=tmp_path, env={"OBJ_BLOCK": str(block)})
    running = wait_until(lambda: running_trials(pg_url, "par", 2), proc=proc,
                         what="2 running trials")
    busy = run_cli(pg_url, "worker", pg_url, "par", "--max-concurrent", "2", cwd=tmp_path)
    assert busy.returncode == 0 and "2 trials already running" in busy.stdout
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    states = {t.number: t.state for t in par_trials(pg_url)}
    assert all(states[t.number] == "interrupted" for t in running)
    block.unlink()
    res = run_cli(pg_url, "worker", pg_url, "par", "--add", "4", "--workers", "2", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    trials = par_trials(pg_url)
    assert len(trials) == 6 and all(t.state == "complete" for t in trials)
    assert_contiguous(trials, 6)


def test_workers_opening_an_empty_database_together_all_succeed(pg_url):
    import threading

    errors: list[BaseException] = []

    def open_it():
        try:
            Storage(pg_url).dispose()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    storage = Storage(pg_url)
    assert storage.study_names() == []
    with storage.engine.connect() as conn:  # the schema was created once
        assert conn.exec_driver_sql("SELECT key, value FROM hpsearch_meta").all() == [
            ("schema_version", str(SCHEMA_VERSION))]
    storage.dispose()


def test_non_finite_metrics_are_stored_on_postgres(tmp_path, pg_url):
    (tmp_path / "nanobj.py").write_text(
        "def f(params, report):\n"
        "    report(1, {'loss': float('nan')})\n"
        "    if params['x'] < 0.5:\n"
        "        return {'score': float('inf'), 'other': float('nan')}\n"
        "    return {'score': params['x'], 'other': float('-inf')}\n")
    (tmp_path / "space.toml").write_text(
        '[study]\nname = "nan"\nmetric = "score"\ntrials = 6\nseed = 3\n[objective]\nkind = "python"\n'
        'function = "nanobj:f"\n[params]\nx = { type = "uniform", low = 0.0, high = 1.0 }\n')
    res = run_cli(pg_url, "run", "space.toml", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    rows = json.loads(run_cli(pg_url, "report", "nan", "--format", "json", cwd=tmp_path).stdout)
    assert len(rows) == 6
    for r in rows:
        if r["params"]["x"] < 0.5:
            assert r["state"] == "failed" and r["error"] == "metric 'score' is inf"
            assert r["metrics"] == {"score": None, "other": None}
        else:
            assert r["state"] == "complete" and r["metrics"]["other"] is None
    assert {r["state"] for r in rows} == {"failed", "complete"}
    shown = json.loads(run_cli(pg_url, "show", "nan", "0", "--format", "json", cwd=tmp_path).stdout)
    assert shown["steps"] == [{"step": 1, "loss": None}]
