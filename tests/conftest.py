"""Settings and shared fixtures for the whole suite.

Fixtures: ``project`` (a folder for objective modules and space files, cwd elsewhere),
``db_url`` and ``invoke`` (the CLI on that project's database), ``blocker`` (the objective
whose trials wait until released). Plain helpers: tests/support/runs.py.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

pytest_plugins = ["support.pgserver"]  # the pg_server / pg_url fixtures, for every test

# Property tests must not fail on a slow or busy machine (hypothesis's 200 ms deadline), and
# in CI they run the same examples every time: a failure there is reproducible, not luck.
# `make test-fresh` (HPSEARCH_FRESH_SEEDS=1) runs the property suites with new random examples
# every time, none replayed from the example database: what CI's fixed seed never draws.
FRESH_SEEDS = bool(os.environ.get("HPSEARCH_FRESH_SEEDS"))
settings.register_profile("default", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.register_profile("fresh", deadline=None, derandomize=False, print_blob=True,
                          database=None)
settings.load_profile("fresh" if FRESH_SEEDS else "ci" if os.environ.get("CI") else "default")


# ------------------------------------------------------------------ shared fixtures
# (helpers they use: tests/support/runs.py)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """``tmp_path`` with ``proj/`` for objective modules and space files, the current directory
    in ``work/`` (elsewhere, as for a real user), ``sys.path`` restored afterwards, and every
    module imported from ``tmp_path`` forgotten (python objectives import user modules by
    name: each test keeps its own)."""
    (tmp_path / "proj").mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        origin = getattr(sys.modules[name], "__file__", None) or ""
        if origin.startswith(str(tmp_path)):
            del sys.modules[name]


@pytest.fixture
def db_url(project) -> str:
    """The SQLite database of ``project``."""
    return f"sqlite:///{project}/h.db"


@pytest.fixture
def invoke(db_url):
    """``invoke(*args)``: the CLI in this process (click's CliRunner) on ``db_url``."""
    from click.testing import CliRunner

    from hpsearch.cli import cli

    def run(*args):
        return CliRunner().invoke(cli, ["--db", db_url, *map(str, args)], catch_exceptions=False)

    return run


@dataclass
class Blocker:
    """The blocking objective: its module is written into a folder with :meth:`module`; its
    trials wait while :attr:`block` exists (:attr:`env` names it to a subprocess)."""

    block: Path

    @property
    def env(self) -> dict[str, str]:
        return {"OBJ_BLOCK": str(self.block)}

    def module(self, folder: Path, name: str = "blockobj") -> str:
        """Write the objective's module into ``folder``; return its ``module:function``."""
        from support.runs import BLOCKING_OBJECTIVE

        (folder / f"{name}.py").write_text(BLOCKING_OBJECTIVE)
        return f"{name}:train"

    def release(self) -> None:
        self.block.unlink(missing_ok=True)


@pytest.fixture
def blocker(tmp_path):
    """The blocking objective, holding; released at the end of the test whatever happened, so
    no process waits out its 60 s. Only processes given :attr:`Blocker.env` block (set it
    with ``monkeypatch.setenv`` for workers this process starts)."""
    b = Blocker(tmp_path / "block")
    b.block.touch()
    yield b
    b.release()
