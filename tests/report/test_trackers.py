"""Issue 27: a study in TensorBoard's HParams dashboard and in MLflow, read back with their own
loaders; without the extras nothing imports them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time

import pytest

import hpsearch
from hpsearch.run import RunOptions, run_study
from hpsearch.space import load_space
from support.runs import run_cli, wait_until

#: Reports a curve of 4 steps, returns two metrics and a file to keep; a two-layer trial fails.
OBJECTIVE = '''
from pathlib import Path

def train(params, report):
    x = params["lr"] * 100 + (1 if params["opt"] == "adam" else 0)
    for step in range(1, 5):
        report(step, {"score": x * step / 4, "loss": 1.0 / (step + x)})
    if params["layers"] == 2:
        raise RuntimeError("too fast")
    path = Path(f"weights-{params['lr']:.8f}.bin")
    path.write_text(str(x))
    return {"score": x, "loss": 1.0 / (4 + x), "artifact": str(path.resolve())}
'''

SPACE = '''
[study]
name = "trk"
metric = "score"
direction = "maximize"
trials = 8
seed = 0
[objective]
kind = "python"
function = "trkobj:train"
[trainer]
keep_best = 2
[params]
lr = { type = "log_uniform", low = 0.0001, high = 0.1 }
opt = { type = "choice", values = ["sgd", "adam"] }
layers = { type = "int", low = 1, high = 4 }
momentum = { type = "uniform", low = 0.8, high = 0.99, when = { opt = "sgd" } }
fixed = 3
'''


@pytest.fixture
def study(project):
    (project / "proj" / "trkobj.py").write_text(OBJECTIVE)
    (project / "proj" / "space.toml").write_text(SPACE)
    db = f"sqlite:///{project}/h.db"
    storage = hpsearch.open_storage(db)
    run_study(storage, load_space(project / "proj" / "space.toml"), RunOptions())
    return storage


def trials_of(storage):
    rec = storage.get_study("trk")
    return rec, [storage.trial(rec, t.number) for t in storage.trials(rec, best_first=False)]


def test_tensorboard_reads_back_the_hparams_and_every_curve(study, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import api_pb2, metadata

    from hpsearch.report.tensorboard import export_tensorboard

    out = tmp_path / "tb"
    export_tensorboard(study, "trk", out)
    export_tensorboard(study, "trk", out)  # a second export replaces the first
    root = EventAccumulator(str(out))
    root.Reload()
    exp = metadata.parse_experiment_plugin_data(
        root.PluginTagToContent(metadata.PLUGIN_NAME)[metadata.EXPERIMENT_TAG])
    infos = {i.name: i for i in exp.hparam_infos}
    assert set(infos) == {"lr", "opt", "layers", "momentum", "fixed"}
    lr = infos["lr"]
    assert (lr.domain_interval.min_value, lr.domain_interval.max_value) == (0.0001, 0.1)
    assert lr.type == api_pb2.DATA_TYPE_FLOAT64 and "log scale" in lr.description
    assert [v.string_value for v in infos["opt"].domain_discrete.values] == ["sgd", "adam"]
    assert infos["opt"].type == api_pb2.DATA_TYPE_STRING
    assert "linear" in infos["momentum"].description
    assert [v.number_value for v in infos["fixed"].domain_discrete.values] == [3.0]
    assert {m.name.tag for m in exp.metric_infos} == {"final/score", "final/loss"}

    rec, trials = trials_of(study)
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == [
        f"trial-{t.number:05d}" for t in trials]
    for t in trials:
        run = out / f"trial-{t.number:05d}"
        assert len(list(run.glob("events.out.tfevents.*"))) == 1
        acc = EventAccumulator(str(run))
        acc.Reload()
        content = acc.PluginTagToContent(metadata.PLUGIN_NAME)
        start = metadata.parse_session_start_info_plugin_data(
            content[metadata.SESSION_START_INFO_TAG])
        assert set(start.hparams) == set(t.params)  # an inactive momentum is absent
        assert start.hparams["lr"].number_value == t.params["lr"]
        assert start.hparams["opt"].string_value == t.params["opt"]
        end = metadata.parse_session_end_info_plugin_data(content[metadata.SESSION_END_INFO_TAG])
        assert end.status == (api_pb2.STATUS_SUCCESS if t.state == "complete"
                              else api_pb2.STATUS_FAILURE)
        for name in ("score", "loss"):
            events = acc.Scalars(name)
            assert [e.step for e in events] == [s for s, _ in t.steps] == [1, 2, 3, 4]
            assert [e.value for e in events] == pytest.approx([m[name] for _, m in t.steps])
        if t.state == "complete":
            assert acc.Scalars("final/score")[0].value == pytest.approx(t.value)
    assert {t.state for t in trials} == {"complete", "failed"}  # both kinds were read back


def mlflow_children(uri: str, name: str = "trk"):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(f"hpsearch/{name}")
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if r.data.tags.get("hpsearch.kind") == "study"]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parents[0].info.run_id}
    return client, parents[0], children


def check_mlflow(storage, uri: str, *, live: bool = False) -> None:
    """``live``: logged by ``run --mlflow`` as each trial ended, so a trial that was among the
    best K then carries its checkpoint even if it fell out of them later."""
    rec, trials = trials_of(storage)
    client, parent, children = mlflow_children(uri)
    by_number = {int(r.data.tags["hpsearch.trial"]): r for r in children}
    assert len(children) == len(by_number) == len(trials)  # one run per trial, none twice
    kept = {t.number for t in storage.trials(rec, states=["complete"], limit=2)}
    for t in trials:
        run = by_number[t.number]
        assert run.data.params == {k: str(v) for k, v in t.params.items()}
        assert run.data.tags["hpsearch.state"] == t.state
        assert run.data.tags["hpsearch.round"] == "1"
        assert run.data.tags["hpsearch.proposed_by"] == t.proposed_by
        assert run.info.status == ("FINISHED" if t.state == "complete" else "FAILED")
        history = sorted((m.step, m.value) for m in
                         client.get_metric_history(run.info.run_id, "steps/score"))
        assert [s for s, _ in history] == [s for s, _ in t.steps] == [1, 2, 3, 4]
        assert [v for _, v in history] == pytest.approx([m["score"] for _, m in t.steps])
        if t.state == "complete":
            assert run.data.metrics["score"] == pytest.approx(t.value)
            assert run.data.metrics["loss"] == pytest.approx(t.metrics["loss"])
        artifacts = [a.path for a in client.list_artifacts(run.info.run_id, "checkpoint")]
        if t.number in kept:
            assert artifacts == [f"checkpoint/trial-{t.number}-weights-{t.params['lr']:.8f}.bin"]
        elif not live or t.state != "complete":
            assert artifacts == []
    best = storage.best(rec)
    assert parent.data.metrics["best_score"] == pytest.approx(best.value)


@pytest.mark.slow
def test_mlflow_file_store_gets_a_child_run_per_trial_and_no_duplicates(study, tmp_path,
                                                                        monkeypatch):
    from hpsearch.report.mlflow import export_mlflow

    # MLflow 3 keeps its file store behind this switch (it prefers a database store).
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri()
    first = export_mlflow(study, "trk", uri)
    assert len(first.logged) == 8 and first.unchanged == []
    second = export_mlflow(study, "trk", uri)
    assert second.logged == [] and len(second.unchanged) == 8
    assert second.parent_id == first.parent_id
    check_mlflow(study, uri)


@pytest.mark.slow
def test_run_mlflow_logs_each_trial_and_report_adds_nothing(project, tmp_path):
    (project / "proj" / "trkobj.py").write_text(OBJECTIVE)
    (project / "proj" / "space.toml").write_text(SPACE)
    db = f"sqlite:///{project}/h.db"
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    r = run_cli(db, "run", str(project / "proj" / "space.toml"), "--mlflow", uri,
                cwd=project / "work", timeout=600)
    assert r.returncode == 0, r.stderr
    storage = hpsearch.open_storage(db, create=False)
    check_mlflow(storage, uri, live=True)
    r = run_cli(db, "report", "trk", "--mlflow", uri, cwd=project / "work")
    assert r.returncode == 0, r.stderr
    assert "logged 0 trial runs" in r.stderr and "8 already there" in r.stderr
    check_mlflow(storage, uri, live=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_mlflow_server_on_loopback(study, tmp_path):
    """A real ``mlflow server`` on 127.0.0.1: the export goes over HTTP."""
    import urllib.request

    from hpsearch.report.mlflow import export_mlflow

    port = _free_port()
    mlflow_bin = os.path.join(os.path.dirname(sys.executable), "mlflow")
    proc = subprocess.Popen(
        [mlflow_bin, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{tmp_path}/server.db",
         "--artifacts-destination", str(tmp_path / "artifacts")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
            return resp.status == 200

    try:
        started = time.monotonic()
        try:
            wait_until(healthy, proc=proc, timeout=240, what="mlflow server up")
        except AssertionError:
            if os.environ.get("CI"):
                raise
            pytest.skip("mlflow server did not start")
        print(f"mlflow server up in {time.monotonic() - started:.1f}s")
        assert len(export_mlflow(study, "trk", url).logged) == 8
        assert export_mlflow(study, "trk", url).logged == []
        check_mlflow(study, url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


#: Runs the CLI with mlflow and tensorboard unimportable (as without the extras), then says
#: which of them got imported.
NO_EXTRAS = textwrap.dedent("""
    import sys
    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("mlflow", "tensorboard"):
                raise ImportError(f"No module named {name!r} (blocked)")
    sys.meta_path.insert(0, Block())
    from hpsearch.cli import main
    try:
        main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
    bad = sorted(m for m in sys.modules if m.split(".")[0] in ("mlflow", "tensorboard"))
    print("IMPORTED", bad, file=sys.stderr)
    sys.exit(code)
""")


def _no_extras(db, *args, cwd):
    return subprocess.run([sys.executable, "-c", NO_EXTRAS, "--db", db, *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_without_the_extras_every_other_command_runs_and_imports_neither(project):
    (project / "proj" / "trkobj.py").write_text(OBJECTIVE)
    (project / "proj" / "space.toml").write_text(SPACE)
    db = f"sqlite:///{project}/h.db"
    work = project / "work"
    for args in (["run", str(project / "proj" / "space.toml")], ["report", "trk"],
                 ["report", "trk", "--format", "json"], ["studies"], ["show", "trk", "0"],
                 ["best", "trk", "--weights", "w.bin"]):
        r = _no_extras(db, *args, cwd=work)
        assert r.returncode == 0, (args, r.stderr)
        assert "IMPORTED []" in r.stderr, (args, r.stderr)
    assert (work / "w.bin").exists()
    r = _no_extras(db, "report", "trk", "--tensorboard", "tb", cwd=work)
    assert r.returncode == 2
    assert "report --tensorboard needs the tensorboard package" in r.stderr
    assert not (work / "tb").exists()
    r = _no_extras(db, "report", "trk", "--mlflow", "sqlite:///m.db", cwd=work)
    assert r.returncode == 2 and "--mlflow needs the mlflow package" in r.stderr
