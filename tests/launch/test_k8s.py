"""The Kubernetes Indexed Job of `hpsearch launch k8s`, checked against the Job schema of the
Kubernetes API (kubernetes-validate ships the schemas; nothing is fetched)."""

from __future__ import annotations

import os

import pytest
import yaml

from hpsearch.errors import ConfigError
from hpsearch.launch import K8sOptions, render_indexed_job
from hpsearch.launch.k8s import indexed_job, to_yaml

K8S_VERSION = "1.30"  # completionMode: Indexed is GA since 1.24; any recent cluster


def validator():
    try:
        import kubernetes_validate
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI needs kubernetes-validate (pip install kubernetes-validate)")
        pytest.skip("kubernetes-validate is not installed")
    return kubernetes_validate


def full() -> K8sOptions:
    return K8sOptions(image="registry.example.org/me/train:1", tasks=16, parallel=4,
                      trials_per_task=5, gpus_per_task=1, cpus="4", mem="16Gi", time=7200,
                      namespace="ml", image_pull_policy="IfNotPresent",
                      worker_args=("--stale-after", "5m"))


@pytest.mark.parametrize("opts", [
    full(),
    K8sOptions(image="train:latest", tasks=1),
    K8sOptions(image="train", tasks=3, gpus_per_task=2, cpus="500m", mem="1.5G", backoff_limit=0),
], ids=["full", "minimal", "two-gpus"])
def test_manifest_matches_the_job_schema(opts):
    kv = validator()
    text = render_indexed_job("digits-mlp", opts)
    data = yaml.safe_load(text)
    assert data == indexed_job("digits-mlp", opts)   # the YAML says what the data says
    kv.validate(data, K8S_VERSION, strict=True)      # strict: no unknown fields either


def test_schema_check_catches_a_mistake():
    kv = validator()
    data = indexed_job("s", full())
    data["spec"]["completionMode"] = 3
    with pytest.raises(kv.ValidationError):
        kv.validate(data, K8S_VERSION, strict=True)
    data = indexed_job("s", full())
    data["spec"]["template"]["spec"]["containers"][0]["gpus"] = 1
    with pytest.raises(kv.ValidationError):
        kv.validate(data, K8S_VERSION, strict=True)


def test_key_fields():
    job = indexed_job("digits-mlp", full())
    spec = job["spec"]
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    assert job["metadata"]["name"] == "hpsearch-digits-mlp"
    assert job["metadata"]["namespace"] == "ml"
    assert (spec["completionMode"], spec["completions"], spec["parallelism"]) == ("Indexed", 16, 4)
    assert spec["backoffLimit"] == 16 and spec["activeDeadlineSeconds"] == 7200
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["command"] == ["hpsearch", "worker", "digits-mlp",
                                    "--add", "5", "--device", "cuda", "--stale-after", "5m"]
    assert container["env"][0] == {"name": "HPSEARCH_DB", "valueFrom": {
        "secretKeyRef": {"name": "hpsearch-db", "key": "url"}}}
    assert container["env"][2] == {"name": "HPSEARCH_WORKER_TAG",
                                   "value": "k8s=hpsearch-digits-mlp_$(HPSEARCH_TASK_INDEX)"}
    assert container["resources"] == {"requests": {"cpu": "4", "memory": "16Gi"},
                                      "limits": {"memory": "16Gi", "nvidia.com/gpu": 1}}


def test_no_database_url_in_the_text():
    text = render_indexed_job("s", full())
    assert "postgresql://USER:PASSWORD@HOST/DB" in text     # only in the how-to comment
    assert "secretKeyRef" in text
    assert text.splitlines()[3] == ("#   kubectl -n ml create secret generic hpsearch-db "
                                    "--from-literal=url='postgresql://USER:PASSWORD@HOST/DB'")


def test_dollar_in_a_study_name_is_not_expanded():
    job = indexed_job("a$(B)", K8sOptions(image="i", tasks=1))
    assert job["spec"]["template"]["spec"]["containers"][0]["command"][2] == "a$$(B)"


@pytest.mark.parametrize("kwargs, message", [
    (dict(image="", tasks=1), "--image: a container image is required, got ''"),
    (dict(image="i", tasks=0), "--tasks must be at least 1, got 0"),
    (dict(image="i", tasks=2, parallel=3), "--parallel (3) cannot exceed --tasks (2)"),
    (dict(image="i", tasks=2, trials_per_task=0), "--trials-per-task must be at least 1, got 0"),
    (dict(image="i", tasks=2, gpus_per_task=-1), "--gpus-per-task must be 0 or more, got -1"),
    (dict(image="i", tasks=2, cpus="four"),
     "--cpus-per-task: not a CPU quantity: 'four' (4, 0.5, 500m)"),
    (dict(image="i", tasks=2, mem="16GB"), "--mem: not a memory quantity: '16GB' (16Gi, 512Mi)"),
    (dict(image="i", tasks=2, secret="My_Secret"),
     "--secret: 'My_Secret' is not a Kubernetes name (lower-case letters, digits and '-', at most 63)"),
    (dict(image="i", tasks=2, time=0), "--time must be positive, got 0"),
    (dict(image="i", tasks=2, image_pull_policy="always"),
     "--image-pull-policy: 'always' is not Always, IfNotPresent or Never"),
])
def test_bad_options(kwargs, message):
    with pytest.raises(ConfigError) as info:
        K8sOptions(**kwargs)
    assert str(info.value) == message


def test_yaml_emitter_round_trips_awkward_values():
    data = {"a": ["yes", "no", "1", "", "x: y", "#c", "-d", "ok/name.x", None, True, 3, 2.5,
                  {"k": [], "m": {}}, [1, [2]]], "quote'\"": "multi\nline"}
    assert yaml.safe_load(to_yaml(data)) == data
