"""A throwaway PostgreSQL server for the tests marked ``postgres``.

``tests/conftest.py`` registers this module as a plugin (``pytest_plugins``), so every test
can ask for the ``pg_server`` and ``pg_url`` fixtures by name.

The server comes from the Debian ``postgresql`` package (``/usr/lib/postgresql/*/bin``, or
``initdb`` on PATH): ``initdb`` into a fresh temporary folder with trust authentication,
listening on 127.0.0.1 only, on a free port, with its unix socket in that folder. As root
(PostgreSQL refuses to run as root) it runs as the ``postgres`` user through ``runuser``. One
server per test session, stopped at teardown; one new database per test. Tests are skipped,
saying why, when the binaries, the ``postgres`` user (as root) or psycopg2 are missing.
"""

from __future__ import annotations

import glob
import importlib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest


def find_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (newest Debian version first), or None."""
    for path in sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                       key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
                       reverse=True):
        if os.path.exists(os.path.join(path, "initdb")):
            return Path(path)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    host: str
    port: int
    user: str

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"  # the URL the README shows

    def create_database(self, name: str) -> str:
        import psycopg2

        conn = psycopg2.connect(host=self.host, port=self.port, user=self.user, dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return self.url(name)


def _skip(reason: str):
    """Skip the PostgreSQL tests here; in CI, which installs the server, fail instead, so a
    broken set-up cannot pass by skipping them."""
    if os.environ.get("CI"):
        pytest.fail(f"CI needs the PostgreSQL tests: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server():
    """A running PostgreSQL server for the session (skips when it cannot be had, outside CI)."""
    bindir = find_bindir()
    if bindir is None:
        _skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    try:
        importlib.import_module("psycopg2")
    except ImportError:
        _skip("psycopg2 is not installed (pip install psycopg2-binary)")
    prefix: list[str] = []
    user = "postgres"
    if os.geteuid() == 0:
        try:
            import pwd

            pw = pwd.getpwnam("postgres")
        except KeyError:
            _skip("running as root and there is no 'postgres' user to run the server as")
        runuser = shutil.which("runuser")
        prefix = [runuser, "-u", "postgres", "--"] if runuser else None
        if prefix is None:
            _skip("running as root and runuser is missing")
    else:
        import getpass

        pw = None
        user = getpass.getuser()
    # Under /tmp, not pytest's tmp_path: that is private to root (mode 700), and the server
    # runs as postgres.
    base = Path(tempfile.mkdtemp(prefix="hpsearch-pg-"))
    data = base / "data"
    if pw is not None:
        os.chown(base, pw.pw_uid, pw.pw_gid)
    port = _free_port()
    log = base / "server.log"

    def call(*argv: str) -> None:
        proc = subprocess.run([*prefix, *argv], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}):\n"
                               f"{proc.stdout}\n{proc.stderr}\n{tail}")

    call(str(bindir / "initdb"), "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8",
         "--no-sync")
    for attempt in range(3):
        # The free port may be taken by someone else before the server binds it: try another.
        options = (f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
                   f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        try:
            call(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w",
                 "-t", "60", "start")
            break
        except RuntimeError:
            if attempt == 2 or "already in use" not in (log.read_text() if log.exists() else ""):
                raise
            log.unlink()
            port = _free_port()
    try:
        yield PgServer(host="127.0.0.1", port=port, user=user)
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


_counter = itertools.count()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """The URL of a new, empty database on the session's server."""
    return pg_server.create_database(f"hpsearch_test_{os.getpid()}_{next(_counter)}")
