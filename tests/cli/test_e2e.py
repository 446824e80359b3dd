"""The installed command in a real subprocess: the built-in trainer on digits, end to end."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[2]


def hpsearch(*args, cwd, check=True, **kw):
    proc = subprocess.run([sys.executable, "-m", "hpsearch", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def tiny_digits_space(tmp_path: Path, trials: int = 3) -> Path:
    text = (ROOT / "search_spaces" / "digits_mlp.toml").read_text()
    text = text.replace("trials = 20", f"trials = {trials}").replace("epochs = 20", "epochs = 3")
    path = tmp_path / "digits.toml"
    path.write_text(text)
    return path


@pytest.mark.slow
def test_builtin_trainer_search_in_a_subprocess(tmp_path):
    space = tiny_digits_space(tmp_path)
    out = hpsearch("run", space, "--device", "cpu", cwd=tmp_path)
    assert "study digits-mlp round 1: ran 3 trials" in out.stdout
    assert (tmp_path / "hpsearch.db").exists()  # the default database, in the current directory
    rows = json.loads(hpsearch("report", "digits-mlp", "--format", "json", cwd=tmp_path).stdout)
    assert len(rows) == 3
    done = [r for r in rows if r["state"] == "complete"]
    assert done, rows
    for r in done:
        m = r["metrics"]
        assert 0.0 <= m["val_accuracy"] <= 1.0 and r["value"] == m["val_accuracy"]
        assert {"val_loss", "train_loss"} <= set(m)
    shown = json.loads(hpsearch("show", "digits-mlp", str(done[0]["number"]), "--format", "json",
                                cwd=tmp_path).stdout)
    assert shown["device"] == "cpu"
    assert 1 <= len(shown["steps"]) <= 3 and "val_accuracy" in shown["steps"][0]


def test_unknown_trainer_parameter_is_refused_before_training(tmp_path):
    space = tiny_digits_space(tmp_path)
    space.write_text(space.read_text() + 'learning_rat = 0.1\n')
    proc = hpsearch("run", space, cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert "learning_rat" in proc.stderr and "known:" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_sigterm_marks_the_trial_interrupted_and_the_next_run_resumes(tmp_path):
    # The trial says when it has started and then waits for "hold" to go, so the signal
    # lands inside a trial on any machine, never between two.
    (tmp_path / "slowobj.py").write_text(
        "import os, time\n"
        "def f(params, report):\n"
        "    open('started', 'w').close()\n"
        "    t0 = time.time()\n"
        "    while os.path.exists('hold') and time.time() - t0 < 60:\n"
        "        time.sleep(0.02)\n"
        "    return params['t']\n")
    (tmp_path / "space.toml").write_text(
        '[study]\nname = "slow"\nmetric = "v"\ntrials = 3\n[objective]\nkind = "python"\n'
        'function = "slowobj:f"\n[params]\nt = { type = "uniform", low = 0.5, high = 0.6 }\n')
    (tmp_path / "hold").touch()
    proc = subprocess.Popen([sys.executable, "-m", "hpsearch", "run", "space.toml"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not (tmp_path / "started").exists():
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "interrupted by SIGTERM" in err
    states = {r["number"]: r["state"] for r in json.loads(
        hpsearch("report", "slow", "--format", "json", cwd=tmp_path).stdout)}
    assert list(states.values()) == ["interrupted"]
    assert "trial 0 marked interrupted" in err
    (tmp_path / "hold").unlink()
    hpsearch("run", "space.toml", cwd=tmp_path)
    rows = json.loads(hpsearch("report", "slow", "--format", "json", cwd=tmp_path).stdout)
    assert sorted(r["number"] for r in rows) == [0, 1, 2]
    assert {r["state"] for r in rows} == {"complete"}
