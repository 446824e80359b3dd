"""Issue 22 item 12: no traceback from a signal in the first milliseconds of the command (while
click and the commands are imported), nor from an isolated trial's process whose run was
SIGKILLed (it finds the pipe to the run closed)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_cli_imports_is_one_line(signum):
    # The console script's entry point, with the signal delivered where an early one lands:
    # after the quiet handlers, during the CLI's imports (held there by the sleep).
    code = textwrap.dedent(f"""
        import os, signal, sys, time
        import hpsearch.__main__ as entry
        entry.quiet_early_signals()
        os.kill(os.getpid(), {int(signum)})
        time.sleep(30)
        import hpsearch.cli
    """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 128 + signum
    assert p.stderr == (f"error: interrupted by {signal.Signals(signum).name} while starting; "
                        f"no trial was running\n")


def test_the_console_script_entry_installs_the_quiet_handlers_first():
    # the entry point is hpsearch.__main__:console, and it imports the CLI only after them
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["hpsearch"] == "hpsearch.__main__:console"
    code = textwrap.dedent("""
        import signal, sys
        import hpsearch.__main__ as entry
        seen = []
        real = entry.quiet_early_signals
        def spy():
            real()
            seen.append("hpsearch.cli" in sys.modules)
        entry.quiet_early_signals = spy
        sys.argv = ["hpsearch", "--version"]
        try:
            entry.console()
        except SystemExit:
            pass
        print(seen)
    """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.stdout.strip().endswith("[False]"), p.stdout + p.stderr


def test_an_isolated_trial_whose_run_is_gone_exits_quietly(tmp_path):
    (tmp_path / "obj.py").write_text("def train(params, report):\n    return {'loss': 1.0}\n")
    code = textwrap.dedent(f"""
        import multiprocessing
        from hpsearch.objectives.isolate import child_main
        mine, theirs = multiprocessing.Pipe()
        mine.close()  # the run is gone
        child_main("obj:train", [{str(tmp_path)!r}], {{"x": 1}}, theirs)
    """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       cwd=tmp_path)
    assert p.stderr == "" and p.returncode == 1


def test_an_isolated_trial_that_reports_after_its_run_is_gone_exits_quietly(tmp_path):
    (tmp_path / "obj.py").write_text(
        "def train(params, report):\n    report(1, {'loss': 1.0})\n    return {'loss': 1.0}\n")
    code = textwrap.dedent(f"""
        import multiprocessing
        from hpsearch.objectives.isolate import child_main
        mine, theirs = multiprocessing.Pipe()
        mine.close()
        child_main("obj:train", [{str(tmp_path)!r}], {{"x": 1}}, theirs)
    """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       cwd=tmp_path)
    assert p.stderr == "" and p.returncode == 1


