"""Schema version 2 and what the samplers and pruners read: the upgrade of a version-1
database in place, finish(pruned_step, note), claim with a model sampler's history and round_steps()."""

from __future__ import annotations

import dataclasses

import math
import multiprocessing
import sqlite3

import pytest

from hpsearch.storage import (
    SCHEMA_VERSION, ByIndex, FinishedTrial, Proposal, Proposer, RoundHistory, StepSeries, Storage,
    TrialRecord,
)
from support.schema_v1 import make_v1_sqlite, v1_statements


def _study(storage: Storage, name: str = "s", target: int = 10):
    study = storage.create_study(name=name, metric="acc", direction="maximize", sampler="random",
                                 seed=3, space={"params": {}}, source="x.toml", target=target)
    return study, storage.latest_round(study.id)


def _claim(storage, study, round_, params=None, **kw):
    return storage.claim(study, round_, propose=lambda i: params or {"i": i}, limit=None,
                         worker="w", device=None, **kw)


@pytest.fixture
def storage(tmp_path):
    s = Storage(f"sqlite:///{tmp_path}/t.db")
    yield s
    s.dispose()


# ------------------------------------------------------------------ the upgrade from version 1
def _columns(path) -> set[str]:
    con = sqlite3.connect(path)
    try:
        return {r[1] for r in con.execute("PRAGMA table_info(trials)")}
    finally:
        con.close()


def _check_upgraded(storage: Storage) -> None:
    study = storage.get_study("old")
    trials = storage.trials(study, best_first=False)
    assert [(t.number, t.state, t.params, t.value) for t in trials] == [
        (0, "complete", {"x": 0.5}, 0.75), (1, "failed", {"x": 0.1}, None),
        (2, "interrupted", {"x": 0.9}, None)]
    assert {(t.proposed_by, t.pruned_step, t.note) for t in trials} == {(None, None, None)}
    assert storage.trial(study, 0).steps == [(1, {"acc": 0.5}), (2, {"acc": 0.75})]
    # The study goes on: the interrupted trial first, then new ones with the new columns.
    round_ = storage.latest_round(study.id)
    again = _claim(storage, study, round_)
    assert (again.number, again.params) == (2, {"x": 0.9})
    storage.finish(again.id, state="pruned", value=0.2, pruned_step=1, note="cut")
    new = storage.claim(study, round_, propose=ByIndex(lambda i: {"x": 0.3}, "tpe"),
                        limit=None, worker="w", device=None)
    assert (new.number, new.proposed_by) == (3, "tpe")
    got = storage.trial(study, 2)
    assert (got.state, got.pruned_step, got.note) == ("pruned", 1, "cut")


def test_a_version_1_sqlite_database_is_upgraded_in_place(tmp_path):
    path = tmp_path / "v1.db"
    make_v1_sqlite(path)
    assert "proposed_by" not in _columns(path)
    storage = Storage(f"sqlite:///{path}")
    assert {"proposed_by", "pruned_step", "note"} <= _columns(path)
    con = sqlite3.connect(path)
    assert con.execute("SELECT value FROM hpsearch_meta").fetchall() == [(str(SCHEMA_VERSION),)]
    con.close()
    _check_upgraded(storage)
    storage.dispose()
    Storage(f"sqlite:///{path}").dispose()  # opened again: nothing more to do


def _open_and_count(url: str) -> int:
    s = Storage(url)
    n = len(s.trials(s.get_study("old")))
    s.dispose()
    return n


@pytest.mark.slow
def test_processes_opening_a_version_1_database_together_upgrade_it_once(tmp_path):
    path = tmp_path / "v1.db"
    make_v1_sqlite(path)
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        assert pool.map(_open_and_count, [f"sqlite:///{path}"] * 8) == [3] * 8
    assert sorted(c for c in _columns(path) if c in ("proposed_by", "pruned_step", "note")) == [
        "note", "proposed_by", "pruned_step"]


def test_a_version_1_database_opened_read_only_is_refused_not_half_read(tmp_path):
    from hpsearch.errors import StorageError

    path = tmp_path / "v1.db"
    make_v1_sqlite(path)
    with pytest.raises(StorageError, match=f"schema version 1 needs an upgrade to {SCHEMA_VERSION}, which a "
                                           "read-only opening cannot do"):
        Storage(f"sqlite:///{path}?mode=ro", create=False)


# ------------------------------------------------------------------ finish(pruned_step, note)
def test_finish_records_pruned_step_and_note(storage):
    study, round_ = _study(storage)
    t = _claim(storage, study, round_)
    storage.finish(t.id, state="pruned", value=0.4, steps=[(1, {"acc": 0.3}), (2, {"acc": 0.4})],
                   pruned_step=2, note="acc 0.4 at rung 1 is not in the best 1 of 3")
    got = storage.trial(study, t.number)
    assert (got.state, got.value, got.pruned_step, got.note) == (
        "pruned", 0.4, 2, "acc 0.4 at rung 1 is not in the best 1 of 3")
    assert got.steps == [(1, {"acc": 0.3}), (2, {"acc": 0.4})]
    plain = _claim(storage, study, round_)
    storage.finish(plain.id, state="complete", value=0.9)
    assert (storage.trial(study, plain.number).pruned_step, storage.trial(study, plain.number).note) == (None, None)


def test_a_rerun_interrupted_trial_starts_without_the_old_note(storage):
    study, round_ = _study(storage)
    t = _claim(storage, study, round_)
    storage.add_steps(t.id, [(10**20, {"acc": 1.0})])  # leaves a note
    storage.mark_interrupted([t.id])
    again = _claim(storage, study, round_)
    assert again.number == t.number and again.note is None
    storage.finish(again.id, state="complete", value=1.0)
    assert storage.trial(study, t.number).note is None


# ------------------------------------------------------------------ claim with a history
def test_claim_with_history_sees_the_round_in_its_transaction(storage):
    study, round_ = _study(storage)
    seen: list[tuple[int, RoundHistory]] = []

    class Propose(Proposer):
        uses_history = True

        def __call__(self, index, history):
            seen.append((index, history))
            return Proposal({"i": index}, "tpe")

    a, b, c, d = (_claim(storage, study, round_) for _ in range(4))
    storage.finish(c.id, state="complete", value=0.5)
    storage.finish(a.id, state="failed", error="boom")
    storage.finish(b.id, state="pruned", value=0.1, pruned_step=3)
    other, other_round = _study(storage, "other")
    _claim(storage, other, other_round)  # another study's trials are not in the history
    e = storage.claim(study, round_, propose=Propose(), limit=None, worker="w", device=None)
    # each finished trial carries its stored duration and proposer (cost-aware auto, issue 25)
    finished = seen[0][1].finished
    for f, t in zip(finished, (a, b, c)):
        stored = storage.trial(study, t.number)
        assert f.seconds == stored.finished_at - stored.started_at >= 0
        assert f.proposed_by == stored.proposed_by
    seen = [(i, RoundHistory([dataclasses.replace(f, seconds=None, proposed_by=None)
                              for f in h.finished], h.pending)) for i, h in seen]
    assert seen == [(4, RoundHistory(
        finished=[FinishedTrial(0, {"i": 0}, None, "failed"), FinishedTrial(1, {"i": 1}, 0.1, "pruned"),
                  FinishedTrial(2, {"i": 2}, 0.5, "complete")],
        pending=[{"i": 3}]))]
    assert (e.number, e.params, e.proposed_by, e.sample_index) == (4, {"i": 4}, "tpe", 4)
    assert storage.trial(study, 4).proposed_by == "tpe"
    assert d.proposed_by is None


def test_claim_without_history_takes_a_proposal_or_params(storage):
    study, round_ = _study(storage)
    t = storage.claim(study, round_, propose=ByIndex(lambda i: {"i": i}, "sobol"), limit=None,
                      worker="w", device=None)
    assert (t.params, t.proposed_by) == ({"i": 0}, "sobol")
    storage.finish(t.id, state="complete", value=1.0)
    assert storage.trial(study, 0).proposed_by == "sobol"


def test_a_queued_retry_keeps_who_proposed_it(storage):
    import time

    study, round_ = _study(storage)
    t = storage.claim(study, round_, propose=ByIndex(lambda i: {"i": i}, "gp"), limit=None,
                      worker="w", device=None)
    with storage.engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE trials SET heartbeat = {time.time() - 100}")
    assert storage.recover_stale(study.id, older_than_s=10) == [0]
    retry = _claim(storage, study, round_, params={"never": "used"})
    assert (retry.retry_of, retry.params, retry.proposed_by) == (t.number, {"i": 0}, "gp")


def test_history_is_not_read_when_a_queued_trial_is_taken(storage):
    study, round_ = _study(storage)
    t = _claim(storage, study, round_)
    storage.mark_interrupted([t.id])

    class Propose(Proposer):
        uses_history = True

        def __call__(self, index, history):  # pragma: no cover - must not be called
            raise AssertionError("proposed for a queued trial")

    again = storage.claim(study, round_, propose=Propose(), limit=None, worker="w", device=None)
    assert again.number == t.number


# ------------------------------------------------------------------ round_steps
def _curves(storage, study, round_):
    trials = [_claim(storage, study, round_) for _ in range(4)]
    storage.finish(trials[0].id, state="complete", value=0.9,
                   steps=[(1, {"acc": 0.5}), (2, {"acc": float("nan")}), (3, {"loss": 1.0}),
                          (4, {"acc": 0.9})])
    storage.add_steps(trials[1].id, [(1, {"acc": 0.4, "loss": 2.0}), (2, {"acc": None})])
    storage.finish(trials[2].id, state="pruned", value=0.2, pruned_step=1, steps=[(1, {"acc": 0.2})])
    return trials


def test_round_steps_maps_null_to_nan_and_leaves_out_steps_without_the_metric(storage):
    study, round_ = _study(storage)
    trials = _curves(storage, study, round_)
    got = storage.round_steps(study.id, 1, "acc", exclude_trial_id=trials[3].id)
    assert sorted(got) == [0, 1, 2]
    assert isinstance(got[0], StepSeries) and got[0].state == "complete"
    assert got[0].values[1] == 0.5 and math.isnan(got[0].values[2]) and got[0].values[4] == 0.9
    assert 3 not in got[0].values
    assert got[1].state == "running" and got[1].values[1] == 0.4 and math.isnan(got[1].values[2])
    assert got[2] == StepSeries(2, "pruned", {1: 0.2})


def test_round_steps_excludes_the_asking_trial_and_filters_states_and_rounds(storage):
    study, round_ = _study(storage)
    trials = _curves(storage, study, round_)
    assert sorted(storage.round_steps(study.id, 1, "acc", exclude_trial_id=trials[0].id)) == [1, 2]
    assert sorted(storage.round_steps(study.id, 1, "acc", exclude_trial_id=None,
                                      states=["complete"])) == [0]
    assert storage.round_steps(study.id, 2, "acc", exclude_trial_id=None) == {}
    assert sorted(storage.round_steps(study.id, 1, "loss", exclude_trial_id=None)) == [0, 1]


def test_trial_record_has_the_new_fields_with_defaults():
    t = TrialRecord(id=1, number=0, round=1, state="running", params={}, value=None, metrics=None, seed=0)
    assert (t.proposed_by, t.pruned_step, t.note) == (None, None, None)


# ------------------------------------------------------------------ the same on PostgreSQL
@pytest.mark.postgres
def test_a_version_1_postgres_database_is_upgraded_and_read(pg_url):
    from sqlalchemy import create_engine

    from hpsearch.storage.engine import with_pg_driver

    raw = create_engine(with_pg_driver(pg_url))
    with raw.begin() as conn:
        for stmt in v1_statements("postgresql"):
            conn.exec_driver_sql(stmt.replace("%", "%%"))
    raw.dispose()
    storage = Storage(pg_url)
    _check_upgraded(storage)
    study = storage.get_study("old")
    got = storage.round_steps(study.id, 1, "acc", exclude_trial_id=None)
    assert got[0].values == {1: 0.5, 2: 0.75}
    storage.dispose()
