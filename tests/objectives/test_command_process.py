"""Issue 11.3 and 11.4: the command objective survives any bytes on its streams, and a
program's background children neither stretch a trial nor outlive it."""

from __future__ import annotations

import textwrap
import time

import pytest

from support.studies import command_objective

from hpsearch.objectives import TrialContext, TrialFailed, make_objective
from hpsearch.space import parse_space

PROGRAM = textwrap.dedent('''
    import json, os, subprocess, sys, time
    mode = sys.argv[1]
    if mode == "bad-stderr":
        # Far more than a pipe holds, with a non-UTF-8 byte first: a reader that dies on the
        # byte leaves the program blocked on a full pipe.
        sys.stderr.buffer.write(b"\\xff\\xfe not utf-8\\n" + b"x" * 200 + b"\\n")
        for _ in range(2000):
            sys.stderr.buffer.write(b"\\xff" * 100 + b"\\n")
        sys.stderr.flush()
        print(json.dumps({"acc": 0.5}))
    elif mode == "bad-stdout":
        sys.stdout.buffer.write(b"\\x80\\xff garbage \\xc3\\n")
        sys.stdout.buffer.write(b'{"acc": 0.25, "note": "\\xff"}\\n')
        sys.stdout.buffer.write(b'{"acc": 0.75}\\n')
        sys.stdout.flush()
    elif mode in ("background", "background-fail"):
        child = subprocess.Popen(["sleep", "40"])   # inherits stdout: holds the pipe open
        open("child.pid", "w").write(str(child.pid))
        print(json.dumps({"acc": 0.5}), flush=True)
        sys.exit(0 if mode == "background" else 3)
    elif mode in ("huge-line", "huge-then-ok"):
        # The result as one 50 MB line (a metric beside a huge array).
        sys.stdout.write('{"acc": 0.5, "blob": "' + "x" * (50 << 20) + '"}\\n')
        sys.stderr.write("e" * (3 << 20) + "\\n")
        if mode == "huge-then-ok":
            print(json.dumps({"acc": 0.75}))
        sys.stdout.flush()
    elif mode == "hang-with-child":
        child = subprocess.Popen(["sleep", "40"])
        open("child.pid", "w").write(str(child.pid))
        time.sleep(40)
''')


def objective(tmp_path, mode: str, extra: str = ""):
    return command_objective(tmp_path, PROGRAM, mode, extra)


def run(obj, steps=None):
    steps = [] if steps is None else steps
    ctx = TrialContext(number=0, seed=0, device=None, report=lambda s, m: steps.append((s, m)))
    return obj.run({"lr": 0.5}, ctx)


def gone(pid: int, within: float = 15.0) -> bool:
    end = time.monotonic() + within
    while True:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().split(")")[-1].split()[0] in ("Z", "X"):
                    return True
        except FileNotFoundError:
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.05)


def test_non_utf8_stderr_neither_kills_the_reader_nor_hangs_the_trial(tmp_path):
    # The timeout only bounds the test: today's reader dies, the program blocks, and the
    # trial times out instead of completing.
    start = time.monotonic()
    assert run(objective(tmp_path, "bad-stderr", 'timeout = "20s"')) == {"acc": 0.5}
    assert time.monotonic() - start < 15


def test_non_utf8_stderr_is_kept_in_the_failure_tail_with_replacement(tmp_path):
    (tmp_path / "fail.py").write_text(
        "import sys\nsys.stderr.buffer.write(b'bad \\xff byte\\n'); sys.exit(2)\n")
    text = '''
[study]
metric = "acc"
[objective]
kind = "command"
argv = ["python", "fail.py"]
[params]
lr = { type = "uniform", low = 0, high = 1 }
'''
    obj = make_objective(parse_space(text, source=str(tmp_path / "space.toml")))
    with pytest.raises(TrialFailed, match="exit code 2; stderr:\nbad \ufffd byte"):
        run(obj)


def test_non_utf8_stdout_does_not_fail_a_valid_metric_line(tmp_path):
    steps = []
    assert run(objective(tmp_path, "bad-stdout"), steps) == {"acc": 0.75}
    assert [m["acc"] for _, m in steps] == [0.25, 0.75]
    assert steps[0][1]["note"] == "\ufffd"


@pytest.mark.slow  # over a second: out of `make test-fast`
def test_background_child_holding_stdout_does_not_stretch_the_trial(tmp_path):
    # Bounds below are far under what they guard against (the child's 40 s, the 30 s timeout),
    # not under a quick run's time: each starts python, which starts a child, on a loaded CI
    # machine (idle, a run takes well under 1 s; the bound was 4 s with a 5 s timeout).
    start = time.monotonic()
    assert run(objective(tmp_path, "background", 'timeout = "30s"')) == {"acc": 0.5}
    assert time.monotonic() - start < 20  # neither the 40 s of the child nor the timeout
    assert gone(int((tmp_path / "child.pid").read_text()))  # the group was cleaned up


@pytest.mark.slow  # over a second: out of `make test-fast`
def test_background_child_does_not_hide_a_failed_exit(tmp_path):
    start = time.monotonic()
    with pytest.raises(TrialFailed, match="exit code 3"):
        run(objective(tmp_path, "background-fail"))
    assert time.monotonic() - start < 20  # not the 40 s of the child (was < 4)
    assert gone(int((tmp_path / "child.pid").read_text()))


@pytest.mark.slow  # over a second: out of `make test-fast`
def test_timeout_kills_the_whole_process_group(tmp_path):
    start = time.monotonic()
    with pytest.raises(TrialFailed, match="timed out after 1 s"):
        run(objective(tmp_path, "hang-with-child", 'timeout = "1s"'))
    assert time.monotonic() - start < 20  # not the 40 s of the program or its child (was < 4)
    assert gone(int((tmp_path / "child.pid").read_text()))


def test_a_result_line_over_the_limit_says_it_was_too_long(tmp_path):
    """Issue 22, item 13: a 50 MB result line gave "no JSON line with 'acc' on stdout"."""
    with pytest.raises(TrialFailed) as info:
        run(objective(tmp_path, "huge-line"))
    assert str(info.value) == ("no JSON line with 'acc' on stdout; 1 line longer than the 1 MB "
                               "limit (50.0 MB the longest) skipped unread: print the metric on a "
                               "short line of its own")


def test_an_overlong_line_is_skipped_and_a_later_result_read(tmp_path):
    assert run(objective(tmp_path, "huge-then-ok")) == {"acc": 0.75}
