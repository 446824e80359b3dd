"""The CLI's edges: interrupts at any moment and files that cannot be written are one line
with a documented exit code, never click's "Aborted!" or a traceback (issue 11 items 10, 13)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import textwrap

import pytest

from support.runs import cli_argv, wait_until
from support.studies import python_study

SPACE = python_study("edge", "MODULE:train", trials=2)

#: A module whose import holds (start-up of a run: make_objective imports it) while "hold" exists.
SLOW_IMPORT = textwrap.dedent('''
    import os, pathlib, time
    here = pathlib.Path(__file__).parent
    (here / "importing").touch()
    t0 = time.time()
    while (here / "hold").exists() and time.time() - t0 < 60:
        time.sleep(0.02)

    def train(params, report):
        return {"score": params["x"]}
''')

FAST = 'def train(params, report):\n    return {"score": params["x"]}\n'


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "Aborted" not in stderr, stderr
    return lines[0]


# ------------------------------------------------------------------ item 10: interrupts
def test_ctrl_c_during_start_up_is_one_line_and_130(project, invoke, monkeypatch):
    import hpsearch.space

    (project / "proj" / "fastobj.py").write_text(FAST)
    (project / "proj" / "space.toml").write_text(SPACE.replace("MODULE", "fastobj"))

    def interrupted(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(hpsearch.space, "load_space", interrupted)
    result = invoke("run", project / "proj" / "space.toml")
    assert result.exit_code == 130, result.output
    assert one_error_line(result.output) == "error: interrupted by SIGINT; no trial was running"


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_while_the_objective_imports_is_one_line(tmp_path, signum, code):
    (tmp_path / "slowimport.py").write_text(SLOW_IMPORT)
    (tmp_path / "space.toml").write_text(SPACE.replace("MODULE", "slowimport"))
    (tmp_path / "hold").touch()
    proc = subprocess.Popen(cli_argv("--db", f"sqlite:///{tmp_path}/h.db", "run", "space.toml"),
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: (tmp_path / "importing").exists(), what="the import", proc=proc)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        (tmp_path / "hold").unlink(missing_ok=True)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err
    name = signal.Signals(signum).name
    assert one_error_line(err) == f"error: interrupted by {name}; no trial was running"


# ------------------------------------------------------------------ item 13: unwritable outputs
@pytest.fixture
def study(project, invoke):
    (project / "proj" / "fastobj.py").write_text(FAST)
    (project / "proj" / "space.toml").write_text(SPACE.replace("MODULE", "fastobj"))
    assert invoke("run", project / "proj" / "space.toml").exit_code == 0
    return project


@pytest.mark.parametrize("args", [
    ("report", "edge", "--format", "csv", "-o", "{missing}/out.csv"),
    ("best", "edge", "--export", "{missing}/best.toml"),
    ("rounds", "edge", "--export", "{missing}/round.toml"),
])
def test_export_into_a_missing_folder_is_one_line_exit_2(study, invoke, args):
    missing = study / "no" / "such"
    result = invoke(*(a.format(missing=missing) for a in args))
    assert result.exit_code == 2, result.output
    line = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert line and "No such file or directory" in line[0] and str(missing) in line[0], result.output
    assert "Traceback" not in result.output


@pytest.fixture
def read_only_folder(study):
    """A folder nobody may write into: a chmod 555 one, or /sys (EACCES even for root)."""
    if os.geteuid() == 0:
        yield "/sys"
        return
    ro = study / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    yield str(ro)
    ro.chmod(0o755)


@pytest.mark.parametrize("args", [
    ("report", "edge", "--format", "csv", "-o", "{ro}/out.csv"),
    ("report", "edge", "--plot", "{ro}/plots"),
    ("report", "edge", "--plot", "{ro}"),
    ("best", "edge", "--export", "{ro}/best.toml"),
    ("rounds", "edge", "--export", "{ro}/round.toml"),
])
def test_export_into_a_read_only_folder_is_one_line_exit_2(study, invoke, read_only_folder, args):
    pytest.importorskip("matplotlib") if "--plot" in args else None
    result = invoke(*(a.format(ro=read_only_folder) for a in args))
    assert result.exit_code == 2, result.output
    assert ("Permission denied" in result.output or "not permitted" in result.output), result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("fmt", ["csv", "table"])
def test_report_into_a_read_only_folder_names_the_target_file(study, invoke, read_only_folder,
                                                               fmt):
    """Issue 22, item 13: the message named the temporary file (`.out.csv.x1y2.tmp`)."""
    target = f"{read_only_folder}/out.csv"
    result = invoke("report", "edge", "--format", fmt, "-o", target)
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {target}: "), result.output
    assert ".tmp" not in result.output


@pytest.mark.slow
def test_report_onto_a_full_disk_names_the_target_file(study, invoke, tmp_path):
    """A real full file system (a 64 KiB tmpfs, filled): ENOSPC names no file by itself."""
    import contextlib
    import subprocess

    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("CI runs as root and needs this test")
        pytest.skip("mounting a small file system needs root")
    mnt = tmp_path / "full"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a tmpfs: {r.stderr}")
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        with contextlib.suppress(OSError), open(mnt / "filler", "wb") as f:
            while True:
                f.write(b"x" * 4096)
                f.flush()
        result = invoke("report", "edge", "--format", "json", "-o", str(mnt / "out.json"))
        assert result.exit_code == 2, result.output
        assert result.output == f"error: {mnt}/out.json: No space left on device\n"
        assert sorted(p.name for p in mnt.iterdir()) == ["filler"]   # no temporary file left
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_export_onto_a_full_disk_is_one_line_exit_2(study, invoke):
    if not os.path.exists("/dev/full") and not os.environ.get("CI"):
        pytest.skip("no /dev/full here")  # Linux has it: in CI this test always runs
    result = invoke("best", "edge", "--export", "/dev/full")
    assert result.exit_code == 2, result.output
    assert "No space left on device" in result.output and "Traceback" not in result.output


# ------------------------------------------------------------------ issue 12: wording, cron logs
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")


def test_cron_mode_lines_all_carry_a_timestamp(study, invoke):
    """Off a terminal (and with --quiet) every run line starts with the time (item 8)."""
    space = study / "proj" / "space.toml"
    r = invoke("run", space, "--add", "2")
    lines = r.stdout.splitlines()
    assert r.exit_code == 0 and len(lines) == 3, r.output
    assert all(STAMP.match(line) for line in lines), lines
    assert "ran 2 trials (2 complete)" in lines[-1]
    r = invoke("--quiet", "run", space, "--add", "1")
    (line,) = r.stdout.splitlines()
    assert STAMP.match(line) and "ran 1 trial (1 complete)" in line


def test_top_and_top_frac_are_exclusive(project, invoke):
    r = invoke("refine", "any", "--top", "3", "--top-frac", "0.5")
    assert r.exit_code == 2 and "--top and --top-frac cannot be used together" in r.output


def test_worker_on_a_missing_sqlite_file_says_what_db_url_must_be(project, invoke):
    r = invoke("worker", f"sqlite:///{project}/nope.db", "edge")
    assert r.exit_code == 3
    assert "pass --db" not in r.output
    assert one_error_line(r.output) == (f"error: no database at {project}/nope.db (DB_URL must "
                                        "name an existing database: the one the study was "
                                        "created in)")
