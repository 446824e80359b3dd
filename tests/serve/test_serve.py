"""``hpsearch serve``: the real server as a subprocess, looked at in headless Chromium while
other processes write the study; its answers, its token, its headers, its read-only promise."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from hpsearch.serve import ServeApp, is_loopback, open_read_only
from hpsearch.storage import Storage
from support import browser as browser_support

browser = browser_support.browser  # the fixture, under its name

HPSEARCH = [sys.executable, "-m", "hpsearch"]
ROOT = Path(__file__).resolve().parents[2]
XSS = '<img src=x onerror="window.__xss=1;alert(1)"><!--<script>window.__xss=2</script>'

OBJECTIVE = '''
import math
def train(params, report=None):
    x = params["x"]
    return {"score": (x - 0.3) ** 2 + (0.1 if params["opt"] != "a" else 0.0)}
'''


def space_text(name: str, choice: str = "b", trials: int = 4) -> str:
    choice = json.dumps(choice)
    return (f'[study]\nname = {json.dumps(name)}\nmetric = "score"\ndirection = "minimize"\n'
            f'trials = {trials}\nsampler = "random"\nseed = 1\n'
            '[objective]\nkind = "python"\nfunction = "obj:train"\n'
            f'[params]\nx = {{ type = "uniform", low = 0.0, high = 1.0 }}\n'
            f'opt = {{ type = "choice", values = ["a", {choice}] }}\n')


def env_for(folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(folder), str(ROOT), env.get("PYTHONPATH", "")])
    env.pop("HPSEARCH_SERVE_TOKEN", None)
    return env


def make_study(folder: Path, db: str, name: str = "live", choice: str = "b", trials: int = 4) -> Path:
    (folder / "obj.py").write_text(OBJECTIVE)
    space = folder / "space.toml"
    space.write_text(space_text(name, choice, trials))
    run_cli(folder, db, "run", str(space))
    return space


def run_cli(folder: Path, db: str, *args: str) -> subprocess.CompletedProcess:
    out = subprocess.run([*HPSEARCH, "--db", db, "-q", *args], cwd=folder, env=env_for(folder),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out


class Server:
    """``hpsearch serve`` in a subprocess; ``url`` read from its first line."""

    def __init__(self, folder: Path, db: str, *args: str) -> None:
        self.proc = subprocess.Popen([*HPSEARCH, "--db", db, "serve", "--port", "0", *args],
                                     cwd=folder, env=env_for(folder), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"(http://\S+?/)(\?token=(\S+))?$", line.strip())
        if m is None:
            self.proc.kill()
            raise AssertionError(f"no address in {line!r}: {self.proc.stderr.read()}")
        self.url, self.token = m.group(1), m.group(3)
        self.first_line = line

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
        req = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def stop(self) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        return self.proc.returncode, err


@pytest.fixture
def served(tmp_path):
    started = []

    def start(db: str, *args: str) -> Server:
        s = Server(tmp_path, db, *args)
        started.append(s)
        return s

    yield start
    for s in started:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.communicate()


def wait_for(cond, timeout: float = 60.0, what: str = "condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def table_rows(driver) -> list:
    return driver.execute_script("return window.HP_TABLES[0].rows")


# --------------------------------------------------------------------- in the browser
@pytest.mark.slow
def test_new_pruned_and_failed_trials_appear_without_a_reload(tmp_path, browser, served):
    db = f"sqlite:///{tmp_path}/h.db"
    space = make_study(tmp_path, db)
    server = served(db, "live")
    browser.get(server.url)
    wait_for(lambda: browser.execute_script("return document.body.getAttribute('data-live-cursor')"),
             what="the first update")
    browser.execute_script("window.__same_page = 1")
    assert len(table_rows(browser)) == 4
    history = browser.execute_script(
        "var f = window.HP_FIGS.filter(function (f) { return f.kind === 'history'; })[0];"
        "return document.getElementById(f.id).data.length")
    # A second process adds three trials while the page is open.
    run_cli(tmp_path, db, "run", str(space), "--add", "3")
    wait_for(lambda: len(table_rows(browser)) == 7, what="three new rows")
    assert "7 of 7 trials" in browser.find_element("css selector", ".trials .count").text
    assert "7: 7 complete" in browser.find_element("css selector", ".n-trials").text
    points = browser.execute_script(
        "var f = window.HP_FIGS.filter(function (f) { return f.kind === 'history'; })[0];"
        "var el = document.getElementById(f.id), n = 0;"
        "el.data.forEach(function (t) { if (/^round /.test(t.name)) { n += t.x.length; } });"
        "return [n, el.data.length]")
    assert points[0] == 7 and points[1] == history
    # A running trial with its step, then pruned; another failed.
    writer = Storage(db)
    study = writer.get_study("live")
    rnd = writer.latest_round(study.id)
    params = {"x": 0.5, "opt": "a"}
    a = writer.claim(study, rnd, propose=lambda i: params, limit=None, worker="box:4242", device="cpu")
    writer.add_steps(a.id, [(0, {"score": 0.75}), (1, {"score": 0.5})])
    writer.heartbeat([a.id])
    wait_for(lambda: browser.find_elements("css selector", ".live-running tbody tr"), what="running")
    cells = [td.text for td in browser.find_elements("css selector", ".live-running tbody td")]
    assert cells[0] == str(a.number) and cells[2] == "box:4242" and cells[4] == "1"
    workers = browser.find_element("css selector", ".live-workers tbody tr").text
    assert "box:4242" in workers and "alive" in workers
    writer.finish(a.id, state="pruned")
    b = writer.claim(study, rnd, propose=lambda i: params, limit=None, worker="box:4242", device="cpu")
    writer.finish(b.id, state="failed", error="Traceback ...\nRuntimeError: it diverged")
    writer.dispose()

    def states():
        return {r[0]: r[2] for r in table_rows(browser)}
    wait_for(lambda: states().get(b.number) == "failed", what="the failed trial")
    assert states()[a.number] == "pruned"
    browser.find_element("css selector", ".trials input.filter").send_keys("state=failed")
    wait_for(lambda: len(browser.find_elements("css selector", ".trials tbody tr")) == 1,
             what="the filter")
    row = browser.find_element("css selector", ".trials tbody tr")
    assert "it diverged" in row.text
    assert "state-failed" in row.get_attribute("class")
    assert not browser.find_elements("css selector", ".live-running tbody tr")
    assert browser.execute_script("return window.__same_page") == 1  # never reloaded
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    code, err = server.stop()
    assert code == 130 and "Traceback" not in err


@pytest.mark.slow
def test_hostile_strings_stay_text(tmp_path, browser, served):
    """A study name, a choice value and a failure message holding markup and the tokenizer's
    hostile sequences: shown as text, no alert, no element made from them, the page whole."""
    db = f"sqlite:///{tmp_path}/h.db"
    name = "s" + XSS + "</script><script>window.__xss=3</script>"
    make_study(tmp_path, db, name=name, choice=XSS + "]]>-->\u2028")
    server = served(db)
    status, _, page = server.get("")
    assert status == 200
    # The data block: the payload is in it, and not one "<" (each is \u003c).
    blob = page.split(b"<script>window.HP_FIGS")[1].split(b"</script>")[0]
    assert b"window.__xss" in blob and b"<" not in blob
    browser.get(server.url)
    wait_for(lambda: browser.execute_script("return document.body.getAttribute('data-live-cursor')"),
             what="the first update")
    writer = Storage(db)
    study = writer.get_study(name)
    t = writer.claim(study, writer.latest_round(study.id), propose=lambda i: {"x": 0.1, "opt": XSS},
                     limit=None, worker=XSS, device="cpu")
    writer.finish(t.id, state="failed", error="boom\n" + XSS)
    writer.dispose()
    wait_for(lambda: any(r[2] == "failed" for r in table_rows(browser)), what="the failed trial")
    browser.find_element("css selector", ".trials input.filter").send_keys("state=failed")
    wait_for(lambda: len(browser.find_elements("css selector", ".trials tbody tr")) == 1,
             what="the filter")
    assert XSS in browser.find_element("css selector", ".trials tbody").text
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        _ = browser.switch_to.alert.text
    assert browser.execute_script("return window.__xss") is None
    assert browser.execute_script("return document.querySelectorAll('img').length") == 0
    assert browser.execute_script("return window.HP_FIGS.length") >= 5  # the page's own script ran
    assert XSS in browser.find_element("css selector", "nav.studies").text
    assert XSS in browser.find_element("css selector", "h2").text


# --------------------------------------------------------------------- over HTTP
@pytest.mark.slow
def test_a_token_off_loopback_and_the_headers(tmp_path, served):
    db = f"sqlite:///{tmp_path}/h.db"
    make_study(tmp_path, db)
    server = served(db, "--host", "0.0.0.0")
    assert server.token, server.first_line  # generated and printed once
    for path in ("", "api/studies", "api/changes?study=live&since=0.0"):
        status, headers, _ = server.get(path)
        assert status == 401
        assert headers["X-Frame-Options"] == "DENY"
    assert server.get("?token=wrong" + server.token)[0] == 401
    status, headers, body = server.get("?token=" + server.token)
    assert status == 200 and b"HP_LIVE" in body
    cookie = headers["Set-Cookie"].split(";")[0]
    assert "HttpOnly" in headers["Set-Cookie"]
    assert server.get("api/studies", {"Cookie": cookie})[0] == 200
    assert server.get("api/studies", {"Authorization": "Bearer " + server.token})[0] == 200
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    auth = {"Authorization": "Bearer " + server.token}
    for path in ("../../etc/passwd", "api/changes?study=nope&since=0.0", "static/x.js"):
        assert server.get(path, auth)[0] in (400, 404)
    req = urllib.request.Request(server.url + "api/studies", data=b"x", method="POST", headers=auth)
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=30)
    assert info.value.code == 405
    code, err = server.stop()
    assert code == 130 and "Traceback" not in err


@pytest.mark.slow
def test_serving_without_writers_leaves_the_database_byte_identical(tmp_path, served):
    """The file and its WAL as they were. SQLite's read-only WAL reader needs the -wal and -shm
    files to exist: where the last writer had removed them, it makes them empty (the -shm is
    the readers' shared index, never part of the database); nothing else is written."""
    db = f"sqlite:///{tmp_path}/h.db"
    make_study(tmp_path, db)
    main, wal = tmp_path / "h.db", tmp_path / "h.db-wal"
    # A writer that keeps its connection (no checkpoint on close): the WAL holds its commits.
    import sqlite3

    keep = sqlite3.connect(main)
    keep.execute("PRAGMA wal_autocheckpoint = 0")
    keep.execute("CREATE TABLE keep_wal (x)")
    keep.execute("INSERT INTO keep_wal VALUES (1)")
    keep.commit()

    def digest(path: Path) -> str | None:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
    before = (digest(main), digest(wal))
    assert wal.stat().st_size > 0
    server = served(db)
    assert server.get("")[0] == 200
    cursor = "x"
    for _ in range(5):
        status, _, body = server.get(f"api/changes?study=live&since={cursor}")
        assert status == 200
        cursor = json.loads(body)["cursor"]
        time.sleep(0.6)
    assert server.stop()[0] == 130
    assert (digest(main), digest(wal)) == before
    keep.close()


def test_the_library_answers_only_what_changed(tmp_path):
    """ServeApp without HTTP: a cursor gets the rows after it, a foreign cursor a reset."""
    db = f"sqlite:///{tmp_path}/h.db"
    make_study(tmp_path, db, trials=3)
    app = ServeApp(open_read_only(db), ["live"])
    page = app.page(None).decode()
    assert "HP_LIVE" in page and "live-running" in page
    cursor = json.loads(page.split("window.HP_LIVE = ")[1].split(";</script>")[0])["cursor"]
    first = app.changes("live", cursor)
    assert first["trials"] == [] and first["total"] == 3
    writer = Storage(db)
    study = writer.get_study("live")
    t = writer.claim(study, writer.latest_round(study.id), propose=lambda i: {"x": 0.2, "opt": "a"},
                     limit=None, worker="h:1", device="cpu")
    app.watch("live").refresh(force=True)
    second = app.changes("live", first["cursor"])
    assert [(x["n"], x["state"]) for x in second["trials"]] == [(t.number, "running")]
    writer.finish(t.id, state="complete", value=0.01, metrics={"score": 0.01})
    writer.dispose()
    app.watch("live").refresh(force=True)
    third = app.changes("live", second["cursor"])
    assert [(x["n"], x["state"]) for x in third["trials"]] == [(t.number, "complete")]
    assert third["trials"][0]["pos"]["opt"] == 0.0
    assert app.changes("live", third["cursor"])["trials"] == []
    # An interrupted trial is taken again under its number by the next run: seen again.
    writer = Storage(db)
    study = writer.get_study("live")
    v = writer.claim(study, writer.latest_round(study.id), propose=lambda i: {"x": 0.4, "opt": "a"},
                     limit=None, worker="h:2", device="cpu")
    writer.mark_interrupted([v.id])
    app.watch("live").refresh(force=True)
    third = app.changes("live", third["cursor"])
    assert [(x["n"], x["state"]) for x in third["trials"]] == [(v.number, "interrupted")]
    again = writer.claim(study, writer.latest_round(study.id), propose=lambda i: {"x": 0.9, "opt": "a"},
                         limit=None, worker="h:3", device="cpu")
    assert again.number == v.number
    app.watch("live").refresh(force=True)
    third = app.changes("live", third["cursor"])
    assert [(x["n"], x["state"]) for x in third["trials"]] == [(v.number, "running")]
    assert [r["n"] for r in third["running"]] == [v.number]
    writer.finish(again.id, state="complete", value=0.2, metrics={"score": 0.2})
    writer.dispose()
    app.watch("live").refresh(force=True)
    third = app.changes("live", third["cursor"])
    # A refine: the new round's line and its first trial.
    writer = Storage(db)
    study = writer.get_study("live")
    assert len(third["rounds"]) == 1
    rnd = writer.add_round(study.id, parent=1, space=study.space, rule={"kind": "refine", "from_round": 1,
                           "top": 2}, sampler="random", seed=5, target=1)
    u = writer.claim(study, rnd, propose=lambda i: {"x": 0.3, "opt": "a"}, limit=None, worker="h:1",
                     device="cpu")
    writer.finish(u.id, state="complete", value=0.0, metrics={"score": 0.0})
    writer.dispose()
    app.watch("live").refresh(force=True)
    fourth = app.changes("live", third["cursor"])
    assert [(x["n"], x["round"]) for x in fourth["trials"]] == [(u.number, 2)]
    assert [r[0] for r in fourth["rounds"]] == ["1", "2"] and "refined from round 1" in fourth["rounds"][1][7]
    assert app.changes("live", "elsewhere.3")["reset"] is True
    with pytest.raises(Exception, match="no study"):
        app.changes("other", "x")


def test_read_only_storage_refuses_writes(tmp_path):
    db = f"sqlite:///{tmp_path}/h.db"
    make_study(tmp_path, db, trials=1)
    storage = open_read_only(db)
    with pytest.raises(Exception, match="read-only"):
        storage.create_study(name="w", metric="m", direction="minimize", sampler="random", seed=0,
                             space={}, source="x", target=1)


def test_without_a_token_only_localhost_is_answered(tmp_path):
    """DNS rebinding: a request to 127.0.0.1 that names another host is refused."""
    import threading

    from hpsearch.serve import make_server

    db = f"sqlite:///{tmp_path}/h.db"
    make_study(tmp_path, db, trials=1)
    server = make_server(ServeApp(open_read_only(db), ["live"]), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/api/studies"
    try:
        for host, code in (("evil.example:80", 403), ("localhost:8080", 200), ("127.0.0.1", 200),
                           ("[::1]:8080", 200), ("127.0.0.1.evil.example", 403)):
            req = urllib.request.Request(url, headers={"Host": host})
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    got = r.status
            except urllib.error.HTTPError as exc:
                got = exc.code
            assert got == code, host
    finally:
        server.shutdown()
        server.server_close()


def test_loopback_hosts():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4") and not is_loopback("example.org")


@pytest.mark.parametrize("token", ["short", "has space in it!!", "line\nSet-Cookie: x=1", "a;b=c" * 4])
def test_a_token_that_cannot_travel_is_refused(tmp_path, token):
    make_study(tmp_path, f"sqlite:///{tmp_path}/h.db", trials=1)
    out = subprocess.run([*HPSEARCH, "--db", f"sqlite:///{tmp_path}/h.db", "serve", "--port", "0",
                          "--token", token], capture_output=True, text=True, timeout=60,
                         env=env_for(tmp_path))
    assert out.returncode == 2 and "--token" in out.stderr and "Traceback" not in out.stderr


def test_a_missing_database_is_one_line(tmp_path):
    out = subprocess.run([*HPSEARCH, "--db", f"sqlite:///{tmp_path}/none.db", "serve", "--port", "0"],
                         capture_output=True, text=True, timeout=60, env=env_for(tmp_path))
    assert out.returncode == 3 and "Traceback" not in out.stderr and "no database" in out.stderr
    assert not (tmp_path / "none.db").exists()


# --------------------------------------------------------------------- PostgreSQL
@pytest.mark.slow
@pytest.mark.postgres
def test_serve_postgres_while_a_worker_writes(tmp_path, pg_url, served):
    space = make_study(tmp_path, pg_url, trials=3)
    server = served(pg_url, "live")
    status, _, page = server.get("?study=live")
    assert status == 200
    cursor = json.loads(page.decode().split("window.HP_LIVE = ")[1].split(";</script>")[0])["cursor"]
    worker = subprocess.Popen([*HPSEARCH, "--db", pg_url, "-q", "run", str(space), "--add", "3"],
                              cwd=tmp_path, env=env_for(tmp_path))
    seen: dict[int, str] = {}

    def done():
        nonlocal cursor
        body = json.loads(server.get(f"api/changes?study=live&since={cursor}")[2])
        cursor = body["cursor"]
        seen.update({t["n"]: t["state"] for t in body["trials"]})
        return len([s for s in seen.values() if s == "complete"]) == 3
    wait_for(done, timeout=120, what="three trials over PostgreSQL")
    assert worker.wait(timeout=120) == 0
    # The server's own sessions cannot write.
    storage = open_read_only(pg_url)
    from sqlalchemy import text

    with pytest.raises(Exception, match="read-only"):
        with storage.engine.begin() as conn:
            conn.execute(text("CREATE TABLE serve_wrote (x int)"))
    storage.dispose()
    assert server.stop()[0] == 130
