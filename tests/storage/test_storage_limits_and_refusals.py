"""Storage at its limits: what the database cannot hold never loses a trial (steps out of
range, NaN in JSON, NUL in text), URLs that would store nothing are refused, read-only and
foreign databases are recognised, and full or unwritable disks give one line that says so."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from hpsearch.cli import cli
from hpsearch.errors import ConfigError, StorageError, StudyError
from hpsearch.storage import DB_LIMITS, Storage
from support.runs import run_cli


def _study(storage: Storage, name: str = "s"):
    study = storage.create_study(name=name, metric="acc", direction="maximize", sampler="random",
                                 seed=3, space={"params": {}}, source="x.toml", target=10)
    return study, storage.latest_round(study.id)


def _claim(storage, study, round_, params=None):
    return storage.claim(study, round_, propose=lambda i: params or {"i": i}, limit=None,
                         worker="w", device=None)


def _cli(db: str, *args: str):
    return CliRunner().invoke(cli, ["--db", db, *args], catch_exceptions=False)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


SPACE = ('[study]\nname = "s"\nmetric = "score"\ntrials = 2\nseed = 3\n'
         '[objective]\nkind = "python"\nfunction = "obj:f"\n'
         '[params]\nx = { type = "uniform", low = 0.0, high = 1.0 }\n')


def _project(folder: Path, body: str = "def f(params, report):\n    return {'score': params['x']}\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "obj.py").write_text(body)
    (folder / "space.toml").write_text(SPACE)
    return folder


# ------------------------------------------------------------------ item 1: steps out of range
BAD_STEPS = [(10**20, {"acc": 1.0}), (2**31, {"acc": 1.0}), ("3", {"acc": 1.0}), (2.5, {"acc": 1.0})]


def test_a_step_the_database_cannot_hold_is_left_out_and_the_trial_still_recorded(tmp_path, caplog):
    storage = Storage(f"sqlite:///{tmp_path}/t.db")
    study, round_ = _study(storage)
    t = _claim(storage, study, round_)
    with caplog.at_level(logging.WARNING):
        storage.add_steps(t.id, [(1, {"acc": 0.1}), (10**20, {"acc": 0.2})])
        storage.finish(t.id, state="complete", value=0.5, steps=[(2, {"acc": 0.5}), *BAD_STEPS],
                       pruned_step=2**40)
    got = storage.trial(study, t.number)
    assert (got.state, got.value, got.pruned_step) == ("complete", 0.5, None)
    assert got.steps == [(1, {"acc": 0.1}), (2, {"acc": 0.5})]
    assert got.note == (
        "step not stored (100000000000000000000): a step must be an integer from -2147483648 to "
        "2147483647; 4 steps not stored (100000000000000000000, 2147483648, '3', ...): a step must "
        "be an integer from -2147483648 to 2147483647; pruned_step 1099511627776 not stored: not "
        "an integer in the database's range")
    assert [r.getMessage() for r in caplog.records][0].startswith("trial 0: step not stored")
    # The study goes on.
    assert _claim(storage, study, round_).number == 1
    storage.dispose()


# ------------------------------------------------------------------ item 2: URLs
@pytest.mark.parametrize("url", [
    "sqlite://", "sqlite:///", "sqlite:///:memory:", "sqlite:///file::memory:?uri=true",
    "sqlite:///x.db?mode=memory",
])
def test_in_memory_and_empty_sqlite_urls_are_refused(url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args in (["studies"], ["report", "s"]):
        r = _cli(url, *args)
        assert r.exit_code == 2, r.output
        assert "keeps nothing once the command ends" in r.stderr
    with pytest.raises(ConfigError):
        Storage(url)


def test_a_run_on_an_in_memory_url_runs_nothing(tmp_path):
    proj = _project(tmp_path / "p")
    r = run_cli("sqlite:///", "run", "space.toml", cwd=proj)
    assert r.returncode == 2, r.stderr
    assert "error: sqlite:///: no file named" in r.stderr and "complete" not in r.stdout
    assert sorted(p.name for p in proj.iterdir()) == ["obj.py", "space.toml"]


def test_mode_ro_lets_reading_commands_read_and_refuses_writing_ones(tmp_path):
    path = tmp_path / "h.db"
    storage = Storage(f"sqlite:///{path}")
    study, round_ = _study(storage, "s")
    storage.finish(_claim(storage, study, round_).id, state="complete", value=0.5)
    storage.dispose()
    before = _digest(path)
    url = f"sqlite:///{path}?mode=ro"
    r = _cli(url, "studies")
    assert r.exit_code == 0 and "s" in r.output
    assert _cli(url, "best", "s").exit_code == 0
    proj = _project(tmp_path / "p")
    r = run_cli(url, "run", "space.toml", cwd=proj)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == (
        f"error: {url}: opened read-only (the URL says ?mode=ro), and this command writes to the "
        f"database; drop ?mode=ro")
    assert _digest(path) == before
    ro = Storage(url, create=False)
    with pytest.raises(ConfigError, match=r"read-only \(the URL says \?mode=ro\)"):
        _claim(ro, ro.get_study("s"), ro.latest_round(study.id))
    ro.dispose()
    assert _digest(path) == before


def test_unknown_sqlite_url_options_are_refused_by_name(tmp_path):
    r = _cli(f"sqlite:///{tmp_path}/h.db?cache=shared&timeout=5", "studies")
    assert r.exit_code == 2
    assert "unknown SQLite URL options cache, timeout: hpsearch understands ?mode=ro" in r.stderr
    assert not (tmp_path / "h.db").exists()


# ------------------------------------------------------------------ item 15: what is wrong with the file
def test_a_directory_as_db_says_so(tmp_path):
    (tmp_path / "d").mkdir()
    url = f"sqlite:///{tmp_path}/d"
    r = _cli(url, "studies")
    assert r.exit_code == 4
    assert r.stderr.strip() == f"error: {url}: {tmp_path}/d is a directory, not a database file"
    with pytest.raises(StorageError, match="is a directory"):
        Storage(url)


def test_a_missing_folder_says_so(tmp_path):
    url = f"sqlite:///{tmp_path}/no/h.db"
    with pytest.raises(StorageError, match="the folder .*/no does not exist"):
        Storage(url)
    with pytest.raises(StudyError, match="no database at"):
        Storage(url, create=False)


def _skip_or_fail(reason: str) -> None:
    """CI runs as root and must run these: there a missing tmpfs fails, elsewhere it skips."""
    if os.environ.get("CI"):
        pytest.fail(f"CI needs this test: {reason}")
    pytest.skip(reason)


@contextlib.contextmanager
def _tmpfs(path: Path, size: str):
    """A small tmpfs at ``path`` (a real full or read-only file system); root only."""
    if os.geteuid() != 0:
        _skip_or_fail("mounting a small file system needs root")
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        _skip_or_fail(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _fill(folder: Path) -> None:
    with contextlib.suppress(OSError), open(folder / "filler", "wb") as f:
        while True:
            f.write(b"x" * 65536)
            f.flush()


@pytest.mark.slow  # over a second: out of `make test-fast`
def test_a_database_on_a_read_only_file_system_is_read_and_not_written(tmp_path):
    with _tmpfs(tmp_path / "ro", "4m") as mnt:
        url = f"sqlite:///{mnt}/h.db"
        storage = Storage(url)
        _study(storage, "s")
        storage.dispose()
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        r = _cli(url, "studies")
        assert r.exit_code == 0 and "s" in r.output, r.stderr
        assert _cli(url + "?mode=ro", "studies").exit_code == 0
        proj = _project(tmp_path / "p")
        r = run_cli(url, "run", "space.toml", cwd=proj)
        assert r.returncode == 4
        assert r.stderr.strip() == f"error: {url}: the database is read-only ({mnt}/h.db is not writable)"
        r = run_cli(f"sqlite:///{mnt}/new.db", "run", "space.toml", cwd=proj)
        assert r.stderr.strip() == (f"error: sqlite:///{mnt}/new.db: cannot create new.db: the "
                                    f"folder {mnt} is not writable")


def test_a_full_disk_at_start_up_says_so_and_leaves_no_empty_database(tmp_path):
    with _tmpfs(tmp_path / "full", "256k") as mnt:
        _fill(mnt)
        proj = _project(tmp_path / "p")
        r = run_cli(f"sqlite:///{mnt}/h.db", "run", "space.toml", cwd=proj)
        assert r.returncode == 4
        assert "Traceback" not in r.stderr
        assert r.stderr.strip() == (f"error: sqlite:///{mnt}/h.db: cannot open the database: no "
                                    f"space left on the disk of {mnt} (database or disk is full)")
        assert sorted(p.name for p in mnt.iterdir()) == ["filler"]


def test_a_full_disk_while_recording_is_one_error_line(tmp_path):
    with _tmpfs(tmp_path / "full", "1m") as mnt:
        body = ("import os\n"
                "def f(params, report):\n"
                f"    try:\n"
                f"        with open({str(mnt / 'filler')!r}, 'ab') as fh:\n"
                "            while True:\n"
                "                fh.write(b'x' * 65536); fh.flush()\n"
                "    except OSError:\n"
                "        pass\n"
                "    return {'score': params['x'], 'blob': 'y' * 200000}\n")
        proj = _project(tmp_path / "p", body)
        r = run_cli(f"sqlite:///{mnt}/h.db", "run", "space.toml", cwd=proj)
        assert r.returncode == 4, r.stderr
        assert "Traceback" not in r.stderr
        errors = [line for line in r.stderr.splitlines() if line.strip()]
        assert errors[-1].startswith(f"error: sqlite:///{mnt}/h.db: finish failed: database or disk is full")
        assert len(errors) == 1, r.stderr


def test_finish_on_a_full_disk_fails_at_once_without_a_traceback(tmp_path, caplog):
    with _tmpfs(tmp_path / "full", "512k") as mnt:
        storage = Storage(f"sqlite:///{mnt}/h.db")
        study, round_ = _study(storage)
        t = _claim(storage, study, round_)
        _fill(mnt)
        with caplog.at_level(logging.WARNING), pytest.raises(StorageError, match="disk is full"):
            storage.finish(t.id, state="complete", value=1.0, metrics={"blob": "y" * 200000},
                           steps=[(i, {"m": "z" * 1000}) for i in range(100)])
        assert [r for r in caplog.records if r.exc_info] == []
        storage.dispose()


# ------------------------------------------------------------------ item 16: foreign databases
def _foreign(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE studies (id INTEGER PRIMARY KEY, title TEXT)")
    con.execute("CREATE TABLE trials (id INTEGER PRIMARY KEY, outcome TEXT)")
    con.execute("INSERT INTO studies (title) VALUES ('mine')")
    con.commit()
    con.close()


def test_a_foreign_sqlite_database_is_refused_untouched(tmp_path):
    path = tmp_path / "theirs.db"
    _foreign(path)
    before = _digest(path)
    url = f"sqlite:///{path}"
    for args in (["studies"], ["report", "s"], ["show", "s", "0"], ["best", "s"], ["rounds", "s"]):
        r = _cli(url, *args)
        assert r.exit_code == 4, (args, r.output)
        assert r.stderr.strip() == (f"error: {url}: not an hpsearch database (it has other tables: "
                                    f"studies, trials); left untouched: give hpsearch a database "
                                    f"of its own")
    r = run_cli(url, "run", "space.toml", cwd=_project(tmp_path / "p"))
    assert r.returncode == 4 and "not an hpsearch database" in r.stderr
    assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p", "theirs.db"]


def test_reading_commands_never_create_a_schema(tmp_path):
    path = tmp_path / "empty.db"
    path.touch()
    for args in (["studies"], ["report", "s"], ["best", "s"], ["rounds", "s"]):
        r = _cli(f"sqlite:///{path}", *args)
        assert r.exit_code == 3, r.output
        assert "no hpsearch database here yet" in r.stderr
    assert path.stat().st_size == 0
    assert not (tmp_path / "empty.db-wal").exists()


# ------------------------------------------------------------------ item 17: limits, NaN
def test_db_limits_are_those_of_postgresql_integer_columns():
    assert (DB_LIMITS.int_min, DB_LIMITS.int_max) == (-(2**31), 2**31 - 1)
    assert DB_LIMITS.study_name == 200 and DB_LIMITS.non_finite_json is None


def test_non_finite_json_values_are_stored_as_null(tmp_path):
    storage = Storage(f"sqlite:///{tmp_path}/t.db")
    study, round_ = _study(storage)
    t = _claim(storage, study, round_, params={"x": float("nan"), "y": [1.0, float("inf")]})
    assert math.isnan(t.params["x"])  # what the objective gets, in this process
    storage.finish(t.id, state="complete", value=1.0,
                   metrics={"acc": 1.0, "loss": float("-inf")}, steps=[(1, {"acc": float("nan")})])
    got = storage.trial(study, 0)
    assert got.params == {"x": None, "y": [1.0, None]}
    assert got.metrics == {"acc": 1.0, "loss": None} and got.steps == [(1, {"acc": None})]
    storage.dispose()


# ------------------------------------------------------------------ the same on PostgreSQL
@pytest.mark.postgres
def test_postgres_stores_what_it_used_to_refuse(pg_url):
    storage = Storage(pg_url)
    study, round_ = _study(storage)
    t = _claim(storage, study, round_, params={"x": float("nan")})
    storage.finish(t.id, state="failed", error="bad\x00byte", steps=[(1, {"acc": 0.5}), (2**31, {"acc": 1})],
                   metrics={"acc": float("nan")})
    got = storage.trial(study, 0)
    assert (got.state, got.params, got.metrics, got.error) == ("failed", {"x": None}, {"acc": None}, "badbyte")
    assert got.steps == [(1, {"acc": 0.5})] and "2147483648" in got.note
    storage.dispose()


@pytest.mark.postgres
def test_a_foreign_or_empty_postgres_database_is_not_touched(pg_url):
    from sqlalchemy import create_engine, inspect

    from hpsearch.storage.engine import with_pg_driver

    r = _cli(pg_url, "studies")
    assert r.exit_code == 3 and "no hpsearch database here yet" in r.stderr
    raw = create_engine(with_pg_driver(pg_url))
    assert inspect(raw).get_table_names() == []
    with raw.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE studies (id serial primary key, title text)")
    r = _cli(pg_url, "studies")
    assert r.exit_code == 4 and "not an hpsearch database (it has other tables: studies)" in r.stderr
    assert inspect(raw).get_table_names() == ["studies"]
    raw.dispose()


@pytest.mark.parametrize(("field", "value", "message"), [
    ("seed", 2**31, "seed = 2147483648: must be an integer from -2147483648 to 2147483647"),
    ("target", 2**40, "trials = 1099511627776: must be an integer from"),
    ("name", "n" * 201, "study name: 201 characters, at most 200"),
])
def test_values_postgresql_would_refuse_are_refused_on_sqlite_too(tmp_path, field, value, message):
    storage = Storage(f"sqlite:///{tmp_path}/t.db")
    args = dict(name="s", metric="acc", direction="maximize", sampler="random", seed=3,
                space={"params": {}}, source="x.toml", target=10)
    args[field] = value
    with pytest.raises(ConfigError, match=message):
        storage.create_study(**args)
    assert storage.study_names() == []
    storage.dispose()


# ----------------------------------------------------------- secrets in URLs (issue 22, item 6)
@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://hp:secret@db/sweeps", "postgresql://hp:***@db/sweeps"),
    ("postgresql://postgres@127.0.0.1:55433/nodb?password=S3cr3tPW%21x",
     "postgresql://postgres@127.0.0.1:55433/nodb?password=***"),
    ("postgresql://u@h/d?sslmode=require&sslpassword=p1&sslkey=/home/u/k.pem",
     "postgresql://u@h/d?sslmode=require&sslpassword=***&sslkey=/home/u/k.pem"),
    ("postgresql://u@h/d?access_token=t0k&API-Key=k3y&passfile=/p&client_secret=s",
     "postgresql://u@h/d?access_token=***&API-Key=***&passfile=/p&client_secret=***"),
    ("postgresql://u:p@ss@h/d", "postgresql://u:***@h/d"),
    ("postgresql://u@h:notaport/d?PASSWORD=x#frag", "postgresql://u@h:notaport/d?PASSWORD=***#frag"),
    ("sqlite:///hpsearch.db?mode=ro", "sqlite:///hpsearch.db?mode=ro"),
    ("nonsense?password=x", "nonsense?password=***"),
])
def test_every_secret_form_is_masked(url, shown):
    from hpsearch.storage.urls import mask_url, url_has_secret

    assert mask_url(url) == shown
    assert url_has_secret(url) == (url != shown)


def test_a_query_password_is_not_printed_in_errors(tmp_path):
    """The audit's command: a refused connection printed `?password=S3cr3tPW%21x` in clear."""
    result = _cli("postgresql://postgres@127.0.0.1:1/nodb?password=S3cr3tPW%21x&token=T0k", "studies")
    assert result.exit_code == 4, result.output
    assert "S3cr3tPW" not in result.output and "T0k" not in result.output
    assert "nodb?password=***&token=***: cannot open the database" in result.output
    result = _cli(f"sqlite:///{tmp_path}/x.db?password=S3cr3t", "studies")
    assert result.exit_code == 2 and "S3cr3t" not in result.output


# ----------------------------------------------------------- a port that is no number (item 10)
@pytest.mark.parametrize("args", [["studies"], ["report", "s"], ["show", "s", "1"], ["best", "s"],
                                  ["launch", "status", "s"], ["launch", "slurm", "s", "-n", "1",
                                                               "--dry-run"]])
def test_a_port_that_is_not_a_number_is_one_line_in_every_command(args):
    result = _cli("postgresql://u:pw@127.0.0.1:notaport/hp", *args)
    assert result.exit_code == 2, result.output
    assert result.output == ("error: postgresql://u:***@127.0.0.1:notaport/hp: the port "
                             "'notaport' is not a number (postgresql://user@host:5432/database)\n")


def test_a_port_that_is_not_a_number_in_run_and_worker(tmp_path):
    space = _project(tmp_path) / "space.toml"
    for argv in (["--db", "postgresql://u@h:99x/hp", "run", str(space)],
                 ["worker", "postgresql://u@h:99x/hp", "s"]):
        result = CliRunner().invoke(cli, argv, catch_exceptions=False)
        assert result.exit_code == 2, result.output
        assert "the port '99x' is not a number" in result.output and "Traceback" not in result.output
