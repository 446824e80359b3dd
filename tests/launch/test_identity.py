"""Which scheduler task ran a trial: the word added to a trial's ``worker`` field."""

from __future__ import annotations

import pytest

from hpsearch.launch import WorkerIdentity, parse_worker, tagged_worker_id, worker_tag


@pytest.mark.parametrize("env, tag", [
    ({}, None),
    ({"SLURM_ARRAY_JOB_ID": "81234", "SLURM_ARRAY_TASK_ID": "5", "SLURM_JOB_ID": "81239"},
     "slurm=81234_5"),
    ({"SLURM_JOB_ID": "81240"}, "slurm=81240"),
    ({"HPSEARCH_WORKER_TAG": "k8s=hpsearch-digits-mlp_3", "SLURM_JOB_ID": "1"},
     "k8s=hpsearch-digits-mlp_3"),
    ({"HPSEARCH_WORKER_TAG": "two words", "SLURM_JOB_ID": "7"}, "slurm=7"),  # malformed: ignored
])
def test_worker_tag(env, tag):
    assert worker_tag(env) == tag


def test_tagged_worker_id():
    assert tagged_worker_id("node07:4121", {}) == "node07:4121"
    env = {"SLURM_ARRAY_JOB_ID": "81234", "SLURM_ARRAY_TASK_ID": "5"}
    assert tagged_worker_id("node07:4121", env) == "node07:4121 slurm=81234_5"


@pytest.mark.parametrize("worker, identity", [
    ("node07:4121", WorkerIdentity("node07", 4121)),
    ("node07:4121 slurm=81234_5", WorkerIdentity("node07", 4121, "slurm", "81234", 5)),
    ("node07:4121 slurm=81240", WorkerIdentity("node07", 4121, "slurm", "81240", None)),
    ("pod-3-x7k2p:1 k8s=hpsearch-digits-mlp_3",
     WorkerIdentity("pod-3-x7k2p", 1, "k8s", "hpsearch-digits-mlp", 3)),
    (None, None), ("", None), ("garbage", None),
])
def test_parse_worker(worker, identity):
    assert parse_worker(worker) == identity
