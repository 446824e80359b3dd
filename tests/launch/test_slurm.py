"""The sbatch script of `hpsearch launch slurm`: its text, its checks, and real jobs on a
one-node Slurm cluster started by tests/support/slurmcluster.py."""

from __future__ import annotations

import os
import subprocess

import pytest

from hpsearch.errors import ConfigError
from hpsearch.launch import (LaunchError, SlurmOptions, render_sbatch, slurm_time, submit,
                             write_script)

PG = "postgresql://hp@db.example.org/sweeps"


def lines(text: str) -> list[str]:
    return text.splitlines()


def assert_bash_syntax(text: str) -> None:
    result = subprocess.run(["bash", "-n"], input=text, text=True, capture_output=True)
    assert result.returncode == 0, result.stderr


# ------------------------------------------------------------------------------- time limits
@pytest.mark.parametrize("text, expected", [
    ("2h", "02:00:00"), ("90m", "01:30:00"), ("1h30m", "01:30:00"), ("1.5h", "01:30:00"),
    ("45s", "00:00:45"), ("36h", "1-12:00:00"), ("2d", "2-00:00:00"),
    ("90", "01:30:00"),                      # Slurm: a bare number is minutes
    ("5:30", "00:05:30"), ("01:02:03", "01:02:03"), ("1-00:00:00", "1-00:00:00"),
    ("1-12", "1-12:00:00"), ("2-06:30", "2-06:30:00"), ("unlimited", "UNLIMITED"),
])
def test_slurm_time(text, expected):
    assert slurm_time(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "2x", "1:75:00", "-5m", "1-2-3", "0", "0m", "h"])
def test_bad_time_names_the_option(text):
    with pytest.raises(ConfigError, match=r"^--time: "):
        slurm_time(text)


def test_options_normalise_time_and_mem():
    opts = SlurmOptions(tasks=2, time="90m", mem="16g")
    assert (opts.time, opts.mem) == ("01:30:00", "16G")


# ------------------------------------------------------------------------------- bad options
@pytest.mark.parametrize("kwargs, message", [
    (dict(tasks=0), "--tasks must be at least 1, got 0"),
    (dict(tasks=True), "--tasks must be at least 1, got True"),
    (dict(tasks=4, parallel=0), "--parallel must be at least 1, got 0"),
    (dict(tasks=4, parallel=8),
     "--parallel (8) cannot exceed --tasks (4): at most 4 tasks can run at once"),
    (dict(tasks=4, trials_per_task=0), "--trials-per-task must be at least 1, got 0"),
    (dict(tasks=4, cpus_per_task=0), "--cpus-per-task must be at least 1, got 0"),
    (dict(tasks=4, gpus_per_task=-1), "--gpus-per-task must be 0 or more, got -1"),
    (dict(tasks=4, time="soon"), "--time: not a time limit: 'soon' (try 90m, 2h, 1-00:00:00)"),
    (dict(tasks=4, mem="lots"), "--mem: not a Slurm memory size: 'lots' "
                                "(a number of megabytes, or with K, M, G or T: 16G)"),
    (dict(tasks=4, partition="gpu; rm -rf /"),
     "--partition: 'gpu; rm -rf /' must be one word without quotes or shell characters"),
    (dict(tasks=4, sbatch_args=("qos=high",)),
     "--sbatch-arg: 'qos=high' must be one sbatch option starting with '-' (--qos=high), on one line"),
    (dict(tasks=4, setup=("#SBATCH --qos=high",)),
     "--setup: put #SBATCH options in --sbatch-arg (sbatch ignores them after the first command)"),
])
def test_bad_options(kwargs, message):
    with pytest.raises(ConfigError) as info:
        SlurmOptions(**kwargs)
    assert str(info.value) == message
    assert info.value.exit_code == 2


@pytest.mark.parametrize("url", ["sqlite:///hpsearch.db", "sqlite:////shared/sweeps.db"])
def test_sqlite_is_refused_with_the_reason(url):
    with pytest.raises(ConfigError) as info:
        render_sbatch("s", url, SlurmOptions(tasks=2))
    message = str(info.value)
    assert message.startswith(f"--db: {url} is a SQLite file, which workers on several nodes")
    assert "NFS" in message and "--allow-sqlite" in message


def test_sqlite_allowed_on_request():
    text = render_sbatch("s", "sqlite:////scratch/s.db", SlurmOptions(tasks=2, allow_sqlite=True))
    assert ('if [ -z "${HPSEARCH_DB:-}" ]; then HPSEARCH_DB=sqlite:////scratch/s.db; fi'
            in lines(text))


def test_not_a_url():
    with pytest.raises(ConfigError, match=r"^--db: not a database URL: 'hpsearch.db'"):
        render_sbatch("s", "hpsearch.db", SlurmOptions(tasks=2))


# ------------------------------------------------------------------------------- script text
def test_script_for_every_option():
    opts = SlurmOptions(tasks=32, parallel=8, trials_per_task=5, time="2h", partition="gpu",
                        gpus_per_task=1, cpus_per_task=4, mem="16G",
                        setup=("module load cuda/12", "source ~/venv/bin/activate"),
                        sbatch_args=("--qos=high", "--account ml"))
    text = render_sbatch("digits-mlp", PG, opts)
    got = lines(text)
    assert got[0] == "#!/bin/bash"
    assert [line for line in got if line.startswith("#SBATCH")] == [
        "#SBATCH --job-name=hpsearch-digits-mlp",
        "#SBATCH --array=0-31%8",
        "#SBATCH --output=hpsearch-logs/digits-mlp/%A_%a.log",
        "#SBATCH --ntasks=1",
        "#SBATCH --time=02:00:00",
        "#SBATCH --partition=gpu",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --mem=16G",
        "#SBATCH --gres=gpu:1",
        "#SBATCH --qos=high",
        "#SBATCH --account ml",
    ]
    # sbatch stops reading #SBATCH at the first command: every directive comes before any.
    first_command = next(i for i, line in enumerate(got) if line and not line.startswith("#"))
    assert max(i for i, line in enumerate(got) if line.startswith("#SBATCH")) < first_command
    assert got.index("module load cuda/12") < got.index("source ~/venv/bin/activate") < len(got) - 2
    assert ('if [ -z "${HPSEARCH_DB:-}" ]; then HPSEARCH_DB=postgresql://hp@db.example.org/sweeps; '
            'fi') in got
    assert got[got.index('if [ -z "${HPSEARCH_DB:-}" ]; then HPSEARCH_DB=postgresql://hp@db.example.org/'
                         'sweeps; fi') + 1] == "export HPSEARCH_DB"
    assert 'export HPSEARCH_WORKER_TAG="slurm=${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"' in got
    assert got[-1] == 'exec hpsearch worker digits-mlp --add 5 --device cuda'
    assert text.endswith("\n")
    assert_bash_syntax(text)


def test_minimal_script():
    got = lines(render_sbatch("digits-mlp", PG, SlurmOptions(tasks=4)))
    assert [line for line in got if line.startswith("#SBATCH")] == [
        "#SBATCH --job-name=hpsearch-digits-mlp",
        "#SBATCH --array=0-3",
        "#SBATCH --output=hpsearch-logs/digits-mlp/%A_%a.log",
        "#SBATCH --ntasks=1",
    ]
    assert got[-1] == 'exec hpsearch worker digits-mlp'


def test_several_gpus_are_one_worker_each():
    got = lines(render_sbatch("s", PG, SlurmOptions(tasks=2, gpus_per_task=4)))
    assert "#SBATCH --gres=gpu:4" in got
    assert got[-1] == 'exec hpsearch worker s --workers 4 --devices auto'


def test_a_password_is_not_written():
    text = render_sbatch("s", "postgresql://hp:s3cret@db/sweeps", SlurmOptions(tasks=2))
    assert "s3cret" not in text
    assert ': "${HPSEARCH_DB:?set HPSEARCH_DB to the database URL of the study, then sbatch}"' in text
    assert_bash_syntax(text)
    text = render_sbatch("s", "postgresql://hp@db/sweeps?password=s3cret", SlurmOptions(tasks=2))
    assert "s3cret" not in text


def test_odd_study_names_are_quoted():
    text = render_sbatch('my study "$HOME"', PG, SlurmOptions(tasks=1))
    assert lines(text)[-1] == """exec hpsearch worker 'my study "$HOME"'"""
    assert "#SBATCH --job-name=hpsearch-my-study-home" in text
    assert 'echo "hpsearch: study my study \\"\\$HOME\\", task' in text
    assert_bash_syntax(text)


def test_log_dir_and_command_and_worker_args():
    opts = SlurmOptions(tasks=1, log_dir="/scratch/me/logs", hpsearch=("/opt/venv/bin/hpsearch",),
                        worker_args=("--stale-after", "5m"))
    got = lines(render_sbatch("s", PG, opts))
    assert "#SBATCH --output=/scratch/me/logs/%A_%a.log" in got
    assert got[-1] == 'exec /opt/venv/bin/hpsearch worker s --stale-after 5m'


def test_write_script_creates_the_log_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_script(tmp_path / "jobs" / "s.sbatch", "s", PG, SlurmOptions(tasks=2))
    assert (tmp_path / "hpsearch-logs" / "s").is_dir()
    assert path.read_text() == render_sbatch("s", PG, SlurmOptions(tasks=2))
    assert os.access(path, os.X_OK)


def test_submit_without_sbatch(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LaunchError, match=r"^sbatch: not found; run this on a Slurm login node"):
        submit(tmp_path / "x.sbatch")


def test_submit_reports_sbatch_refusal(tmp_path, monkeypatch):
    fake = tmp_path / "sbatch"
    fake.write_text("#!/bin/sh\necho 'sbatch: error: invalid partition specified: gpu' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LaunchError) as info:
        submit(tmp_path / "x.sbatch")
    assert str(info.value) == (f"sbatch refused {tmp_path / 'x.sbatch'}: "
                               "sbatch: error: invalid partition specified: gpu")
    assert info.value.exit_code == 7


def test_submit_passes_the_url_in_the_environment_only(tmp_path, monkeypatch):
    fake = tmp_path / "sbatch"
    fake.write_text('#!/bin/sh\necho "$@" > args.txt\necho "$HPSEARCH_DB" > db.txt\n'
                    'echo "1234;cluster"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert submit("x.sbatch", db_url="postgresql://hp:pw@db/s", cwd=tmp_path) == "1234"
    assert (tmp_path / "args.txt").read_text() == "--parsable x.sbatch\n"
    assert (tmp_path / "db.txt").read_text() == "postgresql://hp:pw@db/s\n"


# ------------------------------------------------------------------------------- real Slurm
@pytest.mark.slow  # over a second: out of `make test-fast`
def test_cluster_runs_a_job(slurm_cluster, tmp_path):
    out = tmp_path / "hostname.out"
    job = slurm_cluster.run("sbatch", "--parsable", f"--output={out}", "--wrap", "hostname").strip()
    slurm_cluster.wait_job(job, timeout=120)
    assert out.read_text().strip() == subprocess.run(
        ["hostname"], capture_output=True, text=True).stdout.strip()


@pytest.mark.slow  # over a second: out of `make test-fast`
def test_array_of_four_tasks(slurm_cluster, tmp_path):
    """The rendered script, submitted for real: 4 tasks, 2 at a time, each logging the command
    it would exec (a stand-in for `hpsearch worker` that prints its arguments and tag)."""
    logs = tmp_path / "logs"
    opts = SlurmOptions(tasks=4, parallel=2, trials_per_task=3, time="5m",
                        partition=slurm_cluster.partition, log_dir=str(logs),
                        setup=("echo setup ran",),
                        hpsearch=("/bin/sh", "-c",
                                  'echo "tag=$HPSEARCH_WORKER_TAG db=$HPSEARCH_DB argv=$0 $*"'))
    url = "postgresql://hp:s3cret@db.example.org/sweeps"
    script = write_script(tmp_path / "array.sbatch", "digits-mlp", url, opts)
    assert "s3cret" not in script.read_text()
    job = submit(script, db_url=url, cwd=tmp_path)
    assert job.isdigit()
    slurm_cluster.wait_job(job, timeout=180)
    names = sorted(p.name for p in logs.iterdir())
    assert names == [f"{job}_{task}.log" for task in range(4)]
    for task in range(4):
        text = (logs / f"{job}_{task}.log").read_text()
        assert text.splitlines() == [
            "setup ran",
            f"hpsearch: study digits-mlp, task {task} of job {job} on "
            f"{_hostname()}, GPUs: none",
            # the URL reaches the task in its environment, never on a command line
            f"tag=slurm={job}_{task} db={url} argv=worker digits-mlp --add 3",
        ], text


def test_sbatch_refusal_is_reported(slurm_cluster, tmp_path):
    opts = SlurmOptions(tasks=1, partition="nosuchpartition", log_dir=str(tmp_path))
    script = write_script(tmp_path / "bad.sbatch", "s", PG, opts)
    with pytest.raises(LaunchError, match=r"sbatch refused .*bad\.sbatch: .*[Pp]artition"):
        submit(script, cwd=tmp_path)


def _hostname() -> str:
    return subprocess.run(["hostname"], capture_output=True, text=True).stdout.strip()
