"""Hostile strings in every option of `launch slurm` and `launch k8s` (issue 22, items 3 and 4).

Each value is either refused (ConfigError, exit 2) or reaches the script or manifest exactly as
given: the sbatch script passes `bash -n`, has the lines a harmless value gives (no injected
line, every #SBATCH line still one directive), and when executed hands the worker exactly the
study, options and database URL that were given, running no injected command; the YAML parses
back to exactly the given values.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpsearch.errors import ConfigError
from hpsearch.launch import K8sOptions, SlurmOptions, render_sbatch
from hpsearch.launch.common import worker_options
from hpsearch.launch.k8s import indexed_job, render_indexed_job

PG = "postgresql://hp@db.example.org/sweeps"

# Pieces an attacker (or an unlucky copy-paste) would use, mixed with arbitrary text.
_PIECES = ["\n", "\r", "\r\n", "\x00", "\x1b]0;x\x07", "\x7f", "\x85", "\u2028", "'", '"', "`",
           "$", "$(touch pwned)", "`touch pwned`", "${X}", "}", "{", "\\", ";", "&", "|", "#",
           "\ntouch pwned\n#", "#SBATCH --x", " ", "\t", "%", "-", "--", "a", "pwned", "*",
           ":", "---", "- ", "? ", "!!python/object", "&a", "*a", "@", "%A"]
HOSTILE = st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=4)),
                   min_size=1, max_size=6).map("".join)

SLURM_TEXT_OPTIONS = ["log_dir", "partition", "job_name", "mem", "time", "sbatch_args",
                      "worker_args", "hpsearch_extra", "study", "db_url"]
K8S_TEXT_OPTIONS = ["image", "secret", "secret_key", "namespace", "job_name", "cpus", "mem",
                    "image_pull_policy", "worker_args", "study"]

HARMLESS = {"sbatch_args": "--ok", "mem": "16G", "time": "2h", "cpus": "4",
            "image_pull_policy": "Always"}

FAKE_HPSEARCH = """#!/bin/bash
# Records what the script hands the worker: its argv (NUL-separated) and HPSEARCH_DB.
printf '%s\\0' "$@" > "$RECORD/argv"
printf '%s' "$HPSEARCH_DB" > "$RECORD/db"
"""


def _slurm_call(option: str, value: str, fake: str):
    """(study, db_url, options) with ``value`` in ``option``, the rest harmless."""
    study, db_url = "s", PG
    kwargs: dict = dict(tasks=2, hpsearch=(fake,))
    if option == "study":
        study = value
    elif option == "db_url":
        db_url = "postgresql://hp@db/" + value
    elif option in ("sbatch_args", "worker_args"):
        kwargs[option] = ("--x=1", value)
    elif option == "hpsearch_extra":
        kwargs["hpsearch"] = (fake, value)
    else:
        kwargs[option] = value
    return study, db_url, kwargs


def _run_script(text: str, tmp: Path) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "RECORD": str(tmp), "SLURM_ARRAY_JOB_ID": "7",
           "SLURM_ARRAY_TASK_ID": "0", "HOME": str(tmp)}
    return subprocess.run(["bash", "-c", text], cwd=tmp, env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("option", SLURM_TEXT_OPTIONS)
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(value=HOSTILE)
def test_slurm_option_is_refused_or_reaches_the_worker_unchanged(option, value, tmp_path):
    work = tmp_path / "w"
    work.mkdir(exist_ok=True)
    for leftover in work.iterdir():
        leftover.unlink()
    fake = tmp_path / "fake-hpsearch"
    fake.write_text(FAKE_HPSEARCH)
    fake.chmod(0o755)
    study, db_url, kwargs = _slurm_call(option, value, str(fake))
    try:
        text = render_sbatch(study, db_url, SlurmOptions(**kwargs))
    except ConfigError:
        return
    check = subprocess.run(["bash", "-n"], input=text, text=True, capture_output=True)
    assert check.returncode == 0, check.stderr
    # The same lines as with a harmless value: nothing injected, every directive one line.
    ok_study, ok_url, ok_kwargs = _slurm_call(option, HARMLESS.get(option, "ok"), str(fake))
    harmless = render_sbatch(ok_study, ok_url, SlurmOptions(**ok_kwargs))
    assert len(text.split("\n")) == len(harmless.split("\n"))
    assert [line.startswith("#") for line in text.split("\n")] == \
        [line.startswith("#") for line in harmless.split("\n")]
    for line in text.split("\n"):
        if line.startswith("#SBATCH"):
            assert line.startswith("#SBATCH -"), line
    opts = SlurmOptions(**kwargs)
    if option in ("partition", "job_name", "mem", "time", "sbatch_args", "log_dir"):
        return  # directives sbatch reads; executing the body would show nothing new
    result = _run_script(text, work)
    assert not (work / "pwned").exists(), "an injected command ran"
    assert result.returncode == 0, result.stderr
    argv = (work / "argv").read_text().split("\0")[:-1]
    expected = [*opts.hpsearch[1:], "worker", study,
                *worker_options(trials_per_task=None, gpus_per_task=0, extra=opts.worker_args)]
    assert argv == expected
    assert (work / "db").read_text() == db_url


@pytest.mark.parametrize("braces", ["d}x.db", "f'g.db", 'a"b.db', "x$(touch pwned).db"])
def test_database_url_with_quotes_or_braces_reaches_the_task(braces, tmp_path):
    fake = tmp_path / "fake-hpsearch"
    fake.write_text(FAKE_HPSEARCH)
    fake.chmod(0o755)
    url = f"sqlite:////scratch/{braces}"
    text = render_sbatch("s", url, SlurmOptions(tasks=1, allow_sqlite=True, hpsearch=(str(fake),)))
    assert subprocess.run(["bash", "-n"], input=text, text=True).returncode == 0
    result = _run_script(text, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "db").read_text() == url
    assert not (tmp_path / "pwned").exists()


def test_log_dir_with_a_newline_is_refused():
    """The audit's command: `--log-dir $'logs\\ntouch pwned\\n#'`."""
    with pytest.raises(ConfigError, match=r"^--log-dir: 'logs\\ntouch pwned\\n#' holds a control"):
        SlurmOptions(tasks=1, log_dir="logs\ntouch pwned\n#")
    with pytest.raises(ConfigError, match=r"^--log-dir: 'my logs' must be a folder name"):
        SlurmOptions(tasks=1, log_dir="my logs")


def test_database_url_with_a_newline_is_refused_without_showing_it():
    with pytest.raises(ConfigError) as info:
        render_sbatch("s", "postgresql://hp:S3cret@db/x\ntouch pwned", SlurmOptions(tasks=1))
    assert "S3cret" not in str(info.value)
    assert str(info.value).startswith("--db: the value holds a control character")


def _k8s_call(option: str, value: str):
    study = "s"
    kwargs: dict = dict(image="registry/hp:1", tasks=2)
    if option == "study":
        study = value
    elif option == "worker_args":
        kwargs[option] = ("--x=1", value)
    else:
        kwargs[option] = value
    return study, kwargs


@pytest.mark.parametrize("option", K8S_TEXT_OPTIONS)
@settings(max_examples=80, deadline=None)
@given(value=HOSTILE)
def test_k8s_option_is_refused_or_parses_back_exactly(option, value):
    study, kwargs = _k8s_call(option, value)
    try:
        opts = K8sOptions(**kwargs)
        text = render_indexed_job(study, opts)
    except ConfigError:
        return
    # Parses back to exactly the data the manifest was built from ...
    assert yaml.safe_load(text) == json.loads(json.dumps(indexed_job(study, opts)))
    # ... and nothing in the header comment spilled onto a line of its own.
    ok_study, ok_kwargs = _k8s_call(option, HARMLESS.get(option, "ok"))
    harmless = render_indexed_job(ok_study, K8sOptions(**ok_kwargs))
    header = [line for line in text.split("\n") if line.startswith("#")]
    assert len(header) == len([line for line in harmless.split("\n") if line.startswith("#")])
    container = yaml.safe_load(text)["spec"]["template"]["spec"]["containers"][0]
    # Kubernetes turns $$ back into $: the worker gets the study and options as given.
    command = [arg.replace("$$", "$") for arg in container["command"]]
    assert command == [*opts.hpsearch, "worker", study,
                       *worker_options(trials_per_task=None, gpus_per_task=0,
                                       extra=opts.worker_args)]
    if option == "image":
        assert container["image"] == value


def test_k8s_names_with_a_final_newline_are_refused():
    """re's `$` matches before a final newline: "ml\\n" used to pass as a namespace and break the
    manifest's comment header."""
    for kwargs in (dict(namespace="ml\n"), dict(secret_key="url\n"),
                   dict(secret="db\n"), dict(job_name="j\n")):
        with pytest.raises(ConfigError):
            K8sOptions(image="i", tasks=1, **kwargs)
