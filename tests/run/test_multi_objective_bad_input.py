"""Bad input with several objectives, through `hpsearch run` in a subprocess: lists that do
not match and a metric the built-in trainer never reports exit 2 with one line naming the file
and the field, before anything is written (with one worker and with two); a constraint on a
metric a python function never returns fails each trial with one line and stops the run;
a NaN in one objective of a command's result fails that trial only, its other values kept."""

from __future__ import annotations

import pytest

from support.runs import run_cli, trials_of

PYTHON = '''
def train(params, report):
    x = params["x"]
    return {"acc": x, "ms": 1 - x}
'''

HEAD = '[study]\nname = "bad"\ntrials = 4\nsampler = "grid"\n'
PY = '[objective]\nkind = "python"\nfunction = "badobj:train"\n'
X = '[params]\nx = { type = "choice", values = [0.2, 0.4, 0.6, 0.8] }\n'
LR = '[params]\nlearning_rate = { type = "choice", values = [0.01, 0.1] }\n'
BUILTIN = '[trainer]\ndataset = "digits"\nepochs = 1\ndevice = "cpu"\n'


def studies(url: str) -> list[str]:
    from hpsearch.storage import Storage

    storage = Storage(url)
    try:
        return storage.study_names()
    finally:
        storage.dispose()


@pytest.mark.parametrize("text, field", [
    (HEAD + 'metric = ["acc", "ms"]\ndirection = ["maximize"]\n' + PY + X,
     "study.direction: 1 direction(s) for 2 metric(s)"),
    (HEAD + 'metric = ["acc"]\ndirection = ["maximize", "minimize"]\n' + PY + X,
     "study.direction: 2 direction(s) for 1 metric(s)"),
    (HEAD + 'metric = ["acc", "ms"]\ndirection = ["maximize", "minimize"]\n' + PY
     + '[[constraint]]\nmetric = "n"\n' + X,
     "constraint[1]: needs min and/or max"),
    (HEAD + 'metric = ["val_accuracy", "latency"]\ndirection = ["maximize", "minimize"]\n'
     + BUILTIN + LR, "study.metric[2]: the builtin objective never reports 'latency'"),
    (HEAD + 'metric = ["val_accuracy", "inference_ms"]\ndirection = ["maximize", "minimize"]\n'
     + BUILTIN + '[[constraint]]\nmetric = "flops"\nmax = 5\n' + LR,
     "constraint[1].metric: the builtin objective never reports 'flops'"),
])
@pytest.mark.parametrize("workers", ["1", "2"])
def test_bad_objectives_exit_2_with_one_line_and_write_nothing(project, db_url, text, field,
                                                               workers):
    (project / "proj" / "badobj.py").write_text(PYTHON)
    f = project / "proj" / "bad.toml"
    f.write_text(text)
    r = run_cli(db_url, "run", str(f), "--workers", workers, cwd=project / "work")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.startswith(f"error: {f}: {field}"), r.stderr
    assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr
    assert r.stdout == ""
    assert not (project / "h.db").exists() or studies(db_url) == []


def test_a_constraint_on_a_metric_the_function_never_returns(project, db_url):
    """The user's function can return anything, so this is known only from its results: each
    trial fails with one line (its values kept), and the run stops after the failures in a
    row (exit 6) with one line that says why."""
    (project / "proj" / "badobj.py").write_text(PYTHON)
    f = project / "proj" / "bad.toml"
    f.write_text(HEAD.replace("trials = 4", "trials = 8")
                 + 'metric = ["acc", "ms"]\ndirection = ["maximize", "minimize"]\n' + PY
                 + '[[constraint]]\nmetric = "flops"\nmax = 5\n'
                 + X.replace("0.8]", "0.8, 1.0, 1.2, 1.4, 1.6]"))
    r = run_cli(db_url, "run", str(f), cwd=project / "work")
    assert r.returncode == 6, (r.stdout, r.stderr)
    assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr
    assert "constrained metric 'flops' missing from the result (got: 'acc', 'ms')" in r.stderr
    trials = trials_of(db_url, "bad")
    assert len(trials) == 5  # [study] max_consecutive_failures
    for t in trials.values():
        assert t.state == "failed"
        assert t.error == "constrained metric 'flops' missing from the result (got: 'acc', 'ms')"
        assert t.metrics == {"acc": t.params["x"], "ms": pytest.approx(1 - t.params["x"])}


COMMAND = '''
import json, os
x = json.loads(os.environ["HPSEARCH_PARAMS"])["x"]
print(json.dumps({"step": 1, "acc": x, "ms": 1 - x}))
print(json.dumps({"acc": x, "ms": float("nan") if x == 0.4 else 1 - x}))
'''


def test_a_nan_in_one_objective_of_a_command_fails_that_trial_only(project, db_url):
    (project / "proj" / "prog.py").write_text(COMMAND)
    f = project / "proj" / "nan.toml"
    f.write_text(HEAD + 'metric = ["acc", "ms"]\n'
                 'direction = ["maximize", "minimize"]\n'
                 '[objective]\nkind = "command"\nargv = ["python", "prog.py"]\n' + X)
    r = run_cli(db_url, "run", str(f), cwd=project / "work")
    assert r.returncode == 0, r.stderr
    failed = [line for line in r.stdout.splitlines() if "] trial" in line and "failed" in line]
    assert len(failed) == 1 and failed[0].endswith("error: metric 'ms' is nan"), r.stdout
    assert "(3 complete, 1 failed)" in r.stdout
    trials = trials_of(db_url, "bad")
    by_x = {t.params["x"]: t for t in trials.values()}
    bad = by_x[0.4]
    assert (bad.state, bad.error) == ("failed", "metric 'ms' is nan")
    assert bad.metrics["acc"] == 0.4 and bad.steps[0] == (1, {"acc": 0.4, "ms": 0.6})
    for x in (0.2, 0.6, 0.8):
        t = by_x[x]
        assert t.state == "complete" and t.values == {"acc": x, "ms": pytest.approx(1 - x)}
