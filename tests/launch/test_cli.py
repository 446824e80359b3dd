"""`hpsearch create` and `hpsearch launch slurm|k8s|status` through the CLI (no scheduler needed:
--dry-run, the k8s renderer, and status read from a real SQLite study)."""

from __future__ import annotations

import time

import yaml

from hpsearch.storage import Storage

SPACE = """\
[study]
name = "cl"
metric = "loss"
direction = "minimize"
trials = 7
seed = 0

[objective]
kind = "command"
argv = ["python3", "-c", "print('{{\\"loss\\": 1}}')"]

[params]
x = { type = "uniform", low = 0.0, high = 1.0 }
"""

PG = "postgresql://hp@db.example.org/sweeps"


def write_space(project, text: str = SPACE):
    path = project / "proj" / "space.toml"
    path.write_text(text)
    return path


def test_create_writes_the_study_and_runs_nothing(project, invoke, db_url):
    result = invoke("create", write_space(project), "--trials", "12")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("study cl ready: round 1, target 12 trials, sampler random;")
    storage = Storage(db_url)
    study = storage.get_study("cl")
    assert storage.trials(study) == []
    assert storage.latest_round(study.id).target == 12


def test_create_refuses_a_bad_file_and_writes_nothing(project, invoke):
    bad = write_space(project, SPACE.replace('low = 0.0, high = 1.0', 'low = 2.0, high = 1.0'))
    result = invoke("create", bad)
    assert result.exit_code == 2
    assert "params.x: low (2) must be below high (1)" in result.output
    assert not (project / "h.db").exists() or Storage(f"sqlite:///{project}/h.db").study_names() == []


def test_launch_slurm_dry_run_prints_the_script_and_submits_nothing(project, invoke, db_url):
    invoke("create", write_space(project))
    # --allow-sqlite: a one-node cluster with a local disk
    result = invoke("launch", "slurm", "cl", "--tasks", "4", "--parallel", "2", "--time", "2h",
                    "--allow-sqlite", "--dry-run")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "#!/bin/bash"
    assert "#SBATCH --array=0-3%2" in lines
    assert "#SBATCH --time=02:00:00" in lines
    assert any(line.startswith("exec ") and line.endswith(" worker cl") for line in lines)
    assert not (project / "work" / "hpsearch-logs").exists()


def test_launch_slurm_refuses_sqlite_without_the_override(project, invoke):
    invoke("create", write_space(project))
    result = invoke("launch", "slurm", "cl", "--tasks", "2", "--dry-run")
    assert result.exit_code == 2
    assert "is a SQLite file, which workers on several nodes cannot share" in result.output


def test_launch_slurm_refuses_an_unknown_study(project, invoke):
    invoke("create", write_space(project))
    result = invoke("launch", "slurm", "nope", "--tasks", "2", "--allow-sqlite", "--dry-run")
    assert result.exit_code == 3
    assert "nope" in result.output


def test_launch_slurm_bad_option_is_one_line_exit_2(project, invoke):
    invoke("create", write_space(project))
    result = invoke("launch", "slurm", "cl", "--tasks", "2", "--parallel", "3", "--allow-sqlite",
                    "--dry-run")
    assert result.exit_code == 2
    assert result.output.strip() == ("error: --parallel (3) cannot exceed --tasks (2): "
                                     "at most 2 tasks can run at once")


def test_launch_k8s_prints_an_indexed_job(project, invoke):
    invoke("create", write_space(project))
    result = invoke("launch", "k8s", "cl", "--image", "reg/hp:1", "--tasks", "8", "--parallel", "2",
                    "--gpus-per-task", "1", "--time", "2h")
    assert result.exit_code == 0, result.output
    job = yaml.safe_load(result.output)
    assert job["kind"] == "Job"
    spec = job["spec"]
    assert (spec["completionMode"], spec["completions"], spec["parallelism"]) == ("Indexed", 8, 2)
    assert spec["activeDeadlineSeconds"] == 7200
    container = spec["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    env = {e["name"]: e for e in container["env"]}
    assert env["HPSEARCH_DB"]["valueFrom"]["secretKeyRef"] == {"name": "hpsearch-db", "key": "url"}


def test_launch_status_names_alive_and_stale_workers(project, invoke, db_url):
    invoke("create", write_space(project))
    storage = Storage(db_url)
    study = storage.get_study("cl")
    round_ = storage.latest_round(study.id)
    now = time.time()
    alive = storage.claim(study, round_, propose=lambda i: {"x": 0.5}, limit=None,
                          worker="node1:11 slurm=77_0", device=None)
    dead = storage.claim(study, round_, propose=lambda i: {"x": 0.6}, limit=None,
                         worker="node2:22 slurm=77_1", device=None)
    done = storage.claim(study, round_, propose=lambda i: {"x": 0.7}, limit=None,
                         worker="node3:33 slurm=77_2", device=None)
    storage.finish(done.id, state="complete", value=1.0, metrics={"loss": 1.0})
    storage.heartbeat([alive.id])
    with storage.engine.begin() as conn:  # the second worker's heartbeat is 10 minutes old
        conn.exec_driver_sql("UPDATE trials SET heartbeat = ? WHERE id = ?", (now - 600, dead.id))
    result = invoke("launch", "status", "cl")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "cl: 1 of 3 workers alive" in text
    rows = [line.split("│") for line in result.output.splitlines() if "slurm" in line]
    cells = [[c.strip() for c in row if c.strip()] for row in rows]
    assert [c[:6] for c in cells] == [
        ["node1:11", "slurm", "77", "0", "alive", str(alive.number)],
        ["node2:22", "slurm", "77", "1", "stale", str(dead.number)],
        ["node3:33", "slurm", "77", "2", "done", "-"],
    ]


def test_worker_takes_the_database_from_db_when_only_the_study_is_given(project, invoke, db_url):
    """`hpsearch worker STUDY`: the URL from --db / HPSEARCH_DB, so a password never shows in
    `ps` on a shared node (the Slurm script runs it this way)."""
    invoke("create", write_space(project))
    result = invoke("worker", "cl", "--add", "2")
    assert result.exit_code == 0, result.output
    storage = Storage(db_url)
    trials = storage.trials(storage.get_study("cl"), best_first=False)
    assert [(t.number, t.state) for t in trials] == [(0, "complete"), (1, "complete")]
    assert invoke("worker", db_url, "cl", "--add", "1").exit_code == 0
    assert len(storage.trials(storage.get_study("cl"))) == 3
    result = invoke("worker", db_url, "cl", "extra")
    assert result.exit_code == 2
    assert "expected [DB_URL] STUDY, got 3 arguments" in result.output


def test_launch_slurm_takes_db_after_the_command_and_worker_options(project, db_url):
    """`launch slurm STUDY --db URL` (the form in DESIGN and docs/cluster.md) and
    --worker-arg options that reach every task's `hpsearch worker` line."""
    from click.testing import CliRunner

    from hpsearch.cli import cli

    runner = CliRunner()
    assert runner.invoke(cli, ["--db", db_url, "create", str(write_space(project))]).exit_code == 0
    result = runner.invoke(cli, ["launch", "slurm", "cl", "--db", db_url, "--tasks", "2",
                                 "--allow-sqlite", "--dry-run", "--worker-arg=--pruner=median",
                                 "--worker-arg", "--stale-after=5m"])
    assert result.exit_code == 0, result.output
    (exec_line,) = [line for line in result.output.splitlines() if line.startswith("exec ")]
    assert exec_line.endswith(" worker cl --pruner=median --stale-after=5m")
    result = runner.invoke(cli, ["launch", "status", "cl", "--db", db_url])
    assert result.exit_code == 0 and "no trial has been run by any worker yet" in result.output


def test_launch_k8s_passes_worker_options(project, invoke):
    invoke("create", write_space(project))
    result = invoke("launch", "k8s", "cl", "--image", "i", "--tasks", "2",
                    "--worker-arg=--pruner=asha")
    job = yaml.safe_load(result.output)
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command == ["hpsearch", "worker", "cl", "--pruner=asha"]


def test_create_prints_the_next_command_with_the_study_name_quoted(project, invoke):
    result = invoke("create", write_space(project), "--study", "a b;touch x")
    assert result.exit_code == 0, result.output
    assert "`hpsearch launch slurm 'a b;touch x' --tasks N`" in result.output
    assert "`hpsearch worker DB_URL 'a b;touch x'`" in result.output


def test_launch_k8s_for_a_study_that_does_not_exist_is_exit_3(project, invoke, db_url):
    invoke("create", write_space(project))
    result = invoke("launch", "k8s", "nosuch", "--image", "i", "--tasks", "2")
    assert result.exit_code == 3, result.output
    assert result.output.startswith("error: no study named 'nosuch' in ")
    assert "kind: Job" not in result.output
