"""The SQLite hot path (claim and record on sqlite3 itself) against SQLAlchemy Core's: the same
rows, the same records, each transaction committed before the call returns, rolled back on
an error, and database errors reported as the Core path reports them."""

from __future__ import annotations

import math
import sqlite3

import pytest
from sqlalchemy import event

from hpsearch.errors import HpsearchError, StorageError
from hpsearch.storage import ByIndex, Proposal, Proposer, RoundHistory, Storage

TIMES = ("heartbeat", "started_at", "finished_at", "created_at")


def _study(storage: Storage, target: int = 10):
    study = storage.create_study(name="s", metric="m", direction="maximize", sampler="random",
                                 seed=3, space={"params": {}}, source="x.toml", target=target)
    return study, storage.latest_round(study.id)


def params(i: int) -> dict:
    return {"x": i * 0.5, "c": "a\u00e9", "n": math.nan, "nested": {"l": [1, 2.5, None]}}


class Remembering(Proposer):
    """A model-like proposer: keeps the history each claim read."""

    uses_history = True

    def __init__(self) -> None:
        self.seen: list[RoundHistory | None] = []

    def __call__(self, index: int, history: RoundHistory | None) -> Proposal:
        self.seen.append(history)
        return Proposal({"i": index}, "model")


def scenario(storage: Storage) -> tuple[list, list]:
    """Every write of the hot path once: new claims, each kind of end, steps (one out of
    range), a note, a retry of a stale trial, a result that arrives after it was failed as
    stale, an interrupted trial claimed again, a proposer that reads the history."""
    study, round_ = _study(storage)
    claim = lambda p=params, w="w", d="cpu": storage.claim(  # noqa: E731
        study, round_, propose=p, limit=10, worker=w, device=d)
    records = []
    t0 = claim(d=None, w="w\x00x")
    storage.finish(t0.id, state="complete", value=1.5, metrics={"m": 1.5, "inf": float("inf")},
                   values={"m": 1.5}, feasible=True, steps=[(0, {"m": 1.0}), (1, {"m": 1.5})])
    t1 = claim()
    storage.finish(t1.id, state="failed", error="boom\x00", metrics=None)
    t2 = claim(p=ByIndex(params, "random"))
    storage.finish(t2.id, state="pruned", value=0.2, metrics={"m": 0.2}, pruned_step=3,
                   note="why", steps=[(0, {"m": 0.1}), (2**40, {"m": 0.2})], device="cuda:0")
    t3 = claim()
    storage.recover_stale(study.id, older_than_s=-1)
    storage.finish(t3.id, state="complete", value=2.0, metrics={"m": 2.0}, values={"m": 2.0},
                   feasible=False, violation="c>1")
    t4 = claim()  # not the retry of t3 (failed: t3 finished after all), a new one
    storage.mark_interrupted([t4.id])
    t5 = claim(w="w2", d="gpu")  # t4 again
    storage.finish(t5.id, state="complete", value=3.0, note="n2")
    model = Remembering()
    t6 = claim(p=model)
    storage.finish(t6.id, state="complete", value=0.5, metrics={"m": 0.5}, values={"m": 0.5},
                   feasible=None)
    t7 = claim(p=model)
    records = [t0, t1, t2, t3, t4, t5, t6, t7, storage.get_round(study.id, 1)]
    return records, [*model.seen, storage.round_history(study.id, 1)]


def rows(path) -> dict:
    """Every row of the four tables, with times as "set or not"."""
    conn = sqlite3.connect(path)
    out = {}
    for table in ("studies", "rounds", "trials", "trial_steps"):
        cursor = conn.execute(f"SELECT * FROM {table} ORDER BY id")
        names = [d[0] for d in cursor.description]
        out[table] = [{k: (v is not None) if k in TIMES else (type(v).__name__, v)
                       for k, v in zip(names, row)} for row in cursor]
    conn.close()
    return out


def without_times(record) -> dict:
    return {k: v for k, v in vars(record).items() if k not in TIMES}  # trials and the round


def history_without_times(history: RoundHistory | None):
    if history is None:
        return None
    return ([{**vars(t), "seconds": t.seconds is not None} for t in history.finished],
            history.pending)


def test_the_sqlite_path_writes_and_returns_what_the_core_path_does(tmp_path, caplog):
    fast = Storage(f"sqlite:///{tmp_path}/fast.db")
    core = Storage(f"sqlite:///{tmp_path}/core.db")
    core.fast_sqlite = False
    got = {}
    for name, storage in (("fast", fast), ("core", core)):
        records, seen = scenario(storage)
        storage.dispose()
        got[name] = ([without_times(r) for r in records],
                     [history_without_times(h) for h in seen], rows(tmp_path / f"{name}.db"))
    assert got["fast"][0] == got["core"][0]
    assert got["fast"][1] == got["core"][1]
    assert got["fast"][2] == got["core"][2]
    fast_rows = got["fast"][2]["trials"]
    # What the scenario is about, said once on one side: JSON text, null for None and NaN.
    assert fast_rows[1]["metrics"] == ("str", "null")
    assert fast_rows[0]["params"][1] == '{"x": 0.0, "c": "a\\u00e9", "n": null, "nested": {"l": [1, 2.5, null]}}'
    assert fast_rows[0]["feasible"] == ("int", 1) and fast_rows[3]["feasible"] == ("int", 0)
    finished, pending = got["fast"][1][0]
    assert [t["number"] for t in finished] == [0, 1, 2, 3, 4, 5] and pending == []
    assert finished[3]["feasible"] is False and finished[0]["values"] == {"m": 1.5}
    assert "trial 3 was failed when it finished" in caplog.text
    finished, pending = got["fast"][1][-1]  # read outside a claim: t7 running
    assert len(finished) == 7 and pending == [{"i": 6}]  # its sample index


def test_each_claim_and_record_is_committed_before_it_returns(tmp_path):
    storage = Storage(f"sqlite:///{tmp_path}/t.db")
    study, round_ = _study(storage)
    reader = sqlite3.connect(tmp_path / "t.db")
    through_sqlalchemy: list[str] = []
    event.listen(storage.engine, "before_cursor_execute",
                 lambda conn, cursor, sql, *rest: through_sqlalchemy.append(sql))
    trial = storage.claim(study, round_, propose=params, limit=10, worker="w", device=None)
    assert reader.execute("SELECT state FROM trials WHERE id = ?", (trial.id,)).fetchall() == [
        ("running",)]
    storage.finish(trial.id, state="complete", value=1.0)
    assert reader.execute("SELECT state, value FROM trials").fetchall() == [("complete", 1.0)]
    assert through_sqlalchemy == []  # both went through sqlite3 directly
    reader.close()
    storage.dispose()
    assert storage.engine.pool.checkedout() == 0  # the held connection went back


def test_an_error_in_the_proposer_rolls_the_claim_back(tmp_path):
    storage = Storage(f"sqlite:///{tmp_path}/t.db")
    study, round_ = _study(storage)

    def broken(index: int) -> dict:
        raise ValueError("no proposal")

    with pytest.raises(ValueError, match="no proposal"):
        storage.claim(study, round_, propose=broken, limit=10, worker="w", device=None)
    assert storage.latest_round(study.id).n_claimed == 0
    trial = storage.claim(study, round_, propose=params, limit=10, worker="w", device=None)
    assert (trial.number, trial.sample_index) == (0, 0)
    storage.dispose()


def test_a_locked_database_is_a_storage_error_and_the_next_claim_works(tmp_path, monkeypatch):
    import hpsearch.storage.engine as engine

    monkeypatch.setattr(engine, "SQLITE_BUSY_TIMEOUT_S", 0.2)
    storage = Storage(f"sqlite:///{tmp_path}/l.db")
    study, round_ = _study(storage)
    first = storage.claim(study, round_, propose=params, limit=10, worker="w", device=None)
    holder = sqlite3.connect(tmp_path / "l.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageError) as info:
            storage.claim(study, round_, propose=params, limit=10, worker="w", device=None)
        assert str(info.value) == f"sqlite:///{tmp_path}/l.db: claim failed: database is locked"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    storage.finish(first.id, state="complete", value=1.0)
    again = storage.claim(study, round_, propose=params, limit=10, worker="w", device=None)
    assert again.number == 1
    storage.dispose()


def test_a_read_only_database_refuses_the_hot_path_writes(tmp_path):
    Storage(f"sqlite:///{tmp_path}/t.db").dispose()
    setup = Storage(f"sqlite:///{tmp_path}/t.db")
    study, round_ = _study(setup)
    setup.dispose()
    ro = Storage(f"sqlite:///{tmp_path}/t.db?mode=ro", create=False)
    with pytest.raises(HpsearchError, match="read-only"):
        ro.claim(study, round_, propose=params, limit=10, worker="w", device=None)
    ro.dispose()


def test_a_replaced_record_is_what_dataclasses_replace_gives():
    import dataclasses

    from hpsearch.storage import TrialRecord

    trial = TrialRecord(id=1, number=0, round=1, state="running", params={"x": 1}, value=None,
                        metrics=None, seed=5, worker="w", started_at=1.0)
    changes = dict(state="complete", value=0.5, metrics={"m": 0.5}, finished_at=2.0,
                   values={"m": 0.5}, feasible=True)
    assert trial.replaced(**changes) == dataclasses.replace(trial, **changes)
    assert trial.state == "running"  # the original is unchanged
    with pytest.raises(TypeError, match="no field 'nope'"):
        trial.replaced(nope=1)


def test_a_finished_trial_is_decoded_once_and_read_anew_when_its_row_changes(tmp_path):
    storage = Storage(f"sqlite:///{tmp_path}/h.db")
    study, round_ = _study(storage)
    t0 = storage.claim(study, round_, propose=params, limit=10, worker="w", device="cpu")
    storage.finish(t0.id, state="complete", value=1.5, metrics={"m": 1.5}, values={"m": 1.5},
                   feasible=True)
    t1 = storage.claim(study, round_, propose=params, limit=10, worker="w", device="cpu")
    first = storage.round_history(study.id, round_.number)
    again = storage.round_history(study.id, round_.number)
    assert first == again and first.finished[0] is again.finished[0]  # decoded once
    assert [t.number for t in first.finished] == [0] and len(first.pending) == 1
    # the running trial is failed as stale, then its result arrives: each state read anew
    storage.recover_stale(study.id, older_than_s=-1)
    stale = storage.round_history(study.id, round_.number).finished[1]
    assert (stale.number, stale.state) == (1, "failed")
    storage.finish(t1.id, state="complete", value=2.0, metrics={"m": 2.0}, values={"m": 2.0},
                   feasible=True)
    late = storage.round_history(study.id, round_.number).finished[1]
    assert (late.state, late.value, late.values) == ("complete", 2.0, {"m": 2.0})
    assert late.params["x"] == 0.5 and late.params["nested"] == {"l": [1, 2.5, None]}
