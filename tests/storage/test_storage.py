"""Storage: schema version, claims and numbering, finish, interrupts, stale recovery, reads,
and database errors as StorageError."""

from __future__ import annotations

import pickle
import sqlite3
import time

import pytest

from hpsearch.errors import HpsearchError, StorageError, StudyBusy, StudyError
from hpsearch.storage import SCHEMA_VERSION, Storage, trial_seed
from hpsearch.storage import StudyBusy as StudyBusyFromStorage
from hpsearch.storage.engine import redact_url, with_pg_driver


def _study(storage: Storage, name: str = "s", target: int = 5, direction: str = "maximize"):
    study = storage.create_study(name=name, metric="m", direction=direction, sampler="random",
                                 seed=3, space={"params": {}}, source="x.toml", target=target)
    return study, storage.latest_round(study.id)


@pytest.fixture
def storage(tmp_path):
    s = Storage(f"sqlite:///{tmp_path}/t.db")
    yield s
    s.dispose()


def test_new_database_records_schema_version(tmp_path):
    Storage(f"sqlite:///{tmp_path}/v.db").dispose()
    con = sqlite3.connect(tmp_path / "v.db")
    assert con.execute("select value from hpsearch_meta where key='schema_version'").fetchone() == (
        str(SCHEMA_VERSION),)
    assert con.execute("pragma journal_mode").fetchone() == ("wal",)


def test_newer_schema_is_refused(tmp_path):
    Storage(f"sqlite:///{tmp_path}/v.db").dispose()
    con = sqlite3.connect(tmp_path / "v.db")
    con.execute("update hpsearch_meta set value='99' where key='schema_version'")
    con.commit()
    con.close()
    with pytest.raises(StorageError) as info:
        Storage(f"sqlite:///{tmp_path}/v.db")
    assert str(info.value) == (f"sqlite:///{tmp_path}/v.db: schema version 99 is newer than this "
                               f"hpsearch understands ({SCHEMA_VERSION}); upgrade hpsearch")


def test_a_missing_folder_is_named_and_nothing_is_created(tmp_path):
    # issue 11 item 15: not SQLite's "unable to open database file".
    url = f"sqlite:///{tmp_path}/no/such/dir/x.db"
    with pytest.raises(StorageError) as info:
        Storage(url)
    assert str(info.value) == (f"{url}: cannot create x.db: the folder {tmp_path}/no/such/dir "
                               f"does not exist (create it first)")
    assert info.value.exit_code == 4
    assert not (tmp_path / "no").exists()


def test_unreachable_server_is_a_storage_error_without_the_password():
    # Port 1 on loopback: refused at once, no server needed.
    with pytest.raises(StorageError) as info:
        Storage("postgresql://hp:s3cret@127.0.0.1:1/sweeps")
    assert str(info.value).startswith(
        "postgresql://hp:***@127.0.0.1:1/sweeps: cannot open the database: ")
    assert "s3cret" not in str(info.value)


def test_unparsable_url_is_named_as_given():
    with pytest.raises(StorageError) as info:
        Storage("not a url")
    assert str(info.value) == (
        "not a url: cannot open the database: Could not parse SQLAlchemy URL from given URL string")


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://hp:secret@db.example.org/sweeps", "postgresql://hp:***@db.example.org/sweeps"),
    ("postgresql://hp@db.example.org:5433/sweeps", "postgresql://hp@db.example.org:5433/sweeps"),
    ("sqlite:///hpsearch.db", "sqlite:///hpsearch.db"),
    ("nonsense", "nonsense"),
])
def test_urls_in_messages_hide_the_password(url, shown):
    assert redact_url(url) == shown


def test_bare_postgresql_url_gets_the_installed_driver():
    pytest.importorskip("psycopg2")
    assert with_pg_driver("postgresql://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert with_pg_driver("postgres://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert with_pg_driver("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert with_pg_driver("sqlite:///x.db") == "sqlite:///x.db"


def test_every_public_method_translates_database_errors():
    # The translation is a decorator written at each method; a new query without it would let
    # a "database is locked" traceback reach the user.
    public = {name: attr for name, attr in vars(Storage).items()}
    for cls in Storage.__mro__[1:]:
        for name, attr in vars(cls).items():
            public.setdefault(name, attr)
    methods = sorted(n for n, a in public.items()
                     if not n.startswith("_") and callable(a) and n != "dispose")
    assert "claim" in methods and "find_study" in methods
    # iter_trials returns a stream whose first batch is read by a translated method.
    streams = {"iter_trials"}
    assert [n for n in methods if not hasattr(public[n], "__wrapped__") and n not in streams] == []


def test_a_database_error_after_opening_names_the_operation(storage, tmp_path):
    with storage.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE trials")
    study, _ = _study(storage)
    with pytest.raises(StorageError) as info:
        storage.counts(study)
    assert str(info.value) == f"sqlite:///{tmp_path}/t.db: counts failed: no such table: trials"


def test_claims_are_numbered_contiguously_up_to_the_limit(storage):
    study, round_ = _study(storage)
    got = []
    while (t := storage.claim(study, round_, propose=lambda i: {"i": i}, limit=5, worker="w",
                              device=None)) is not None:
        assert t.state == "running" and t.params == {"i": t.sample_index}
        assert t.seed == trial_seed(3, t.number)
        storage.finish(t.id, state="complete", value=float(t.number), metrics={"m": float(t.number)})
        got.append(t.number)
    assert got == [0, 1, 2, 3, 4]
    assert storage.counts(study) == {"complete": 5}
    assert storage.best(study).number == 4
    assert [t.number for t in storage.trials(study, limit=2)] == [4, 3]


def test_minimize_orders_ascending_and_nulls_last(storage):
    study, round_ = _study(storage, direction="minimize")
    for v in (3.0, None, 1.0, 2.0):
        t = storage.claim(study, round_, propose=lambda i: {}, limit=None, worker="w", device=None)
        storage.finish(t.id, state="complete" if v is not None else "failed", value=v,
                       metrics=None if v is None else {"m": v}, error=None if v is not None else "x")
    assert [t.value for t in storage.trials(study)] == [1.0, 2.0, 3.0, None]
    assert storage.best(study).value == 1.0


def test_interrupted_trial_is_reclaimed_with_same_number_params_and_seed(storage):
    study, round_ = _study(storage, target=3)
    first = storage.claim(study, round_, propose=lambda i: {"i": i}, limit=3, worker="w", device=None)
    storage.mark_interrupted([first.id])
    assert storage.trial(study, first.number).state == "interrupted"
    again = storage.claim(study, round_, propose=lambda i: {"i": i}, limit=3, worker="w2", device=None)
    assert (again.id, again.number, again.params, again.seed) == (first.id, first.number, first.params, first.seed)
    assert again.worker == "w2" and again.state == "running"


def _age_heartbeats(storage: Storage, seconds: float = 100.0) -> None:
    """Every running trial last heard of ``seconds`` ago (instead of sleeping that long)."""
    with storage.engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE trials SET heartbeat = heartbeat - {seconds}")


def test_stale_trial_is_failed_and_retried_up_to_the_bound(storage):
    study, round_ = _study(storage, target=3)
    t = storage.claim(study, round_, propose=lambda i: {"i": 7}, limit=3, worker="dead", device=None)
    _age_heartbeats(storage)
    assert storage.recover_stale(study.id, older_than_s=30) == [t.number]
    stale = storage.trial(study, t.number)
    assert stale.state == "failed"
    assert stale.error == "stale: no heartbeat for 100 s (worker dead died?)"
    retry = storage.claim(study, round_, propose=lambda i: {"i": -1}, limit=3, worker="w", device=None)
    assert retry.retry_of == t.number and retry.params == {"i": 7} and retry.seed == t.seed
    assert (retry.number, retry.sample_index) == (1, None)
    # the retry goes stale too: with max_retries = 1 (two attempts in all), given up
    _age_heartbeats(storage)
    assert storage.recover_stale(study.id, older_than_s=30, max_retries=1) == [retry.number]
    assert storage.counts(study) == {"failed": 2}
    assert [g.number for g in storage.given_up(study)] == [retry.number]
    nxt = storage.claim(study, round_, propose=lambda i: {"i": i}, limit=3, worker="w", device=None)
    assert nxt.retry_of is None and nxt.sample_index == 1


def test_fresh_heartbeat_is_not_stale(storage):
    study, round_ = _study(storage)
    beating, silent = (storage.claim(study, round_, propose=lambda i: {}, limit=3, worker="w",
                                     device=None) for _ in range(2))
    _age_heartbeats(storage)  # both last heard of 100 s ago
    storage.heartbeat([beating.id])
    assert storage.recover_stale(study.id, older_than_s=30) == [silent.number]
    assert storage.trial(study, beating.number).state == "running"


def test_steps_are_stored_in_order_and_replaced_on_rerun(storage):
    study, round_ = _study(storage)
    t = storage.claim(study, round_, propose=lambda i: {}, limit=3, worker="w", device=None)
    storage.add_steps(t.id, [(1, {"a": 1.0}), (2, {"a": 2.0})])
    storage.finish(t.id, state="complete", value=1.0, metrics={"m": 1.0}, steps=[(2, {"a": 2.5}), (3, {"a": 3.0})])
    assert storage.trial(study, t.number).steps == [(1, {"a": 1.0}), (2, {"a": 2.5}), (3, {"a": 3.0})]


def test_unknown_study_and_trial_are_study_errors(storage, tmp_path):
    with pytest.raises(StudyError) as info:
        storage.get_study("nope")
    assert str(info.value) == f"no study named 'nope' in sqlite:///{tmp_path}/t.db; the database has no studies"
    _study(storage, name="known")
    with pytest.raises(StudyError) as info:
        storage.get_study("nope")
    assert str(info.value) == f"no study named 'nope' in sqlite:///{tmp_path}/t.db; studies here: known"
    with pytest.raises(StudyError) as info:
        storage.trial(storage.get_study("known"), 12)
    assert str(info.value) == "study 'known' has no trial 12"
    with pytest.raises(StudyError) as info:
        storage.get_round(storage.get_study("known").id, 3)
    assert str(info.value) == "the study has no round 3 (it has only round 1)"


def test_create_study_twice_returns_the_first(storage):
    a, _ = _study(storage, name="dup")
    b = storage.create_study(name="dup", metric="other", direction="minimize", sampler="random",
                             seed=0, space={}, source="", target=1)
    assert b.id == a.id and b.metric == "m"


def test_summaries_count_states_and_best(storage):
    study, round_ = _study(storage, target=3)
    for state, v in (("complete", 0.5), ("failed", None), ("complete", 0.9)):
        t = storage.claim(study, round_, propose=lambda i: {}, limit=3, worker="w", device=None)
        storage.finish(t.id, state=state, value=v, metrics=None if v is None else {"m": v})
    (s,) = storage.summaries()
    assert (s.name, s.n_trials, s.counts, s.best_value, s.best_number, s.rounds) == (
        "s", 3, {"complete": 2, "failed": 1}, 0.9, 2, 1)


def test_result_of_a_trial_failed_as_stale_still_counts_and_its_retry_is_not_run(storage):
    study, round_ = _study(storage, target=3)
    slow = storage.claim(study, round_, propose=lambda i: {"i": i}, limit=3, worker="late", device=None)
    _age_heartbeats(storage)
    assert storage.recover_stale(study.id, older_than_s=30) == [slow.number]
    storage.finish(slow.id, state="complete", value=1.0, metrics={"m": 1.0})
    done = storage.trial(study, slow.number)
    assert (done.state, done.value, done.error) == ("complete", 1.0, None)
    retry = storage.trials(study, best_first=False)[1]
    assert retry.retry_of == slow.number and retry.state == "failed"
    assert retry.error == f"not run: trial {slow.number}, which it retried, finished after all"
    nxt = storage.claim(study, round_, propose=lambda i: {"i": i}, limit=3, worker="w", device=None)
    assert nxt.number == 2 and nxt.retry_of is None  # numbers stay contiguous


def test_database_locked_past_the_busy_timeout_is_a_storage_error(tmp_path, monkeypatch):
    import hpsearch.storage.engine as engine

    monkeypatch.setattr(engine, "SQLITE_BUSY_TIMEOUT_S", 0.2)
    s = Storage(f"sqlite:///{tmp_path}/l.db")
    study, round_ = _study(s)
    holder = sqlite3.connect(tmp_path / "l.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageError) as info:
            s.claim(study, round_, propose=lambda i: {}, limit=3, worker="w", device=None)
        assert str(info.value) == f"sqlite:///{tmp_path}/l.db: claim failed: database is locked"
        assert info.value.exit_code == 4
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert s.claim(study, round_, propose=lambda i: {}, limit=3, worker="w", device=None).number == 0


def test_opening_a_database_another_process_is_writing_waits_for_it(tmp_path):
    # Switching a new file to WAL needs it to itself, and SQLite answers "locked" at once
    # (no busy handler) while another connection writes: workers, cron and report opening
    # one new database together failed that way in CI.
    import threading

    path = tmp_path / "w.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    # Rolled back: a committed table of its own would make the file a foreign database.
    holder.execute("CREATE TABLE other (a)")
    release = threading.Timer(0.3, lambda: holder.execute("ROLLBACK"))
    release.start()
    t0 = time.monotonic()
    try:
        s = Storage(f"sqlite:///{path}")
    finally:
        release.join()
        holder.close()
    assert time.monotonic() - t0 >= 0.25  # it waited for the writer rather than failing
    assert s.find_study("nothing") is None
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    s.dispose()


def test_opening_a_database_locked_past_the_busy_timeout_is_a_storage_error(tmp_path, monkeypatch):
    import hpsearch.storage.engine as engine

    monkeypatch.setattr(engine, "SQLITE_BUSY_TIMEOUT_S", 0.2)
    path = tmp_path / "l.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE other (a)")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO other VALUES (1)")
    try:
        t0 = time.monotonic()
        with pytest.raises(StorageError) as info:
            Storage(f"sqlite:///{path}")
        assert str(info.value) == f"sqlite:///{path}: cannot open the database: database is locked"
        # It waited the (shortened) busy timeout, and no more than a fraction of the default 60 s.
        assert 0.2 <= time.monotonic() - t0 < 30
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_queued_trials_of_an_earlier_round_are_claimed_in_a_later_one(storage):
    study, round1 = _study(storage, target=2)
    t = storage.claim(study, round1, propose=lambda i: {"r": 1}, limit=2, worker="w", device=None)
    storage.mark_interrupted([t.id])
    round2 = storage.add_round(study.id, parent=1, space={"params": {}}, rule={}, sampler="sobol",
                               seed=1, target=2)
    again = storage.claim(study, round2, propose=lambda i: {"r": 2}, limit=2, worker="w", device=None)
    assert (again.number, again.round, again.params) == (t.number, 1, {"r": 1})


def test_claim_beyond_max_running_raises_study_busy(storage):
    study, round_ = _study(storage)
    first = storage.claim(study, round_, propose=lambda i: {}, limit=5, worker="w", device=None,
                          max_running=1)
    with pytest.raises(StudyBusy) as info:
        storage.claim(study, round_, propose=lambda i: {}, limit=5, worker="w2", device=None,
                      max_running=1)
    assert (info.value.running, info.value.limit) == (1, 1)
    assert str(info.value) == "1 trial already running (limit 1)"
    assert isinstance(info.value, HpsearchError) and StudyBusyFromStorage is StudyBusy
    again = pickle.loads(pickle.dumps(info.value))
    assert (type(again), again.running, again.limit, str(again)) == (
        StudyBusy, 1, 1, "1 trial already running (limit 1)")
    assert storage.counts(study) == {"running": 1}  # the refused claim drew nothing
    storage.finish(first.id, state="complete", value=1.0, metrics={"m": 1.0})
    nxt = storage.claim(study, round_, propose=lambda i: {}, limit=5, worker="w2", device=None,
                        max_running=1)
    assert (nxt.number, nxt.sample_index) == (1, 1)
