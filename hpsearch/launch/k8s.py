"""A study's workers as a Kubernetes Indexed Job.

``completionMode: Indexed`` gives each of ``completions`` pods its own index (0..N-1), at most
``parallelism`` at once: the Kubernetes twin of a Slurm job array. Every pod runs
``hpsearch worker STUDY`` (the URL in ``HPSEARCH_DB``, not on the command line); the URL comes from a Secret (``secretKeyRef``), never
from the manifest, which is meant to be kept in git::

    kubectl create secret generic hpsearch-db --from-literal=url='postgresql://hp:…@db/sweeps'
    hpsearch launch k8s digits-mlp --image registry/me/train:1 --tasks 16 --parallel 4 > job.yaml
    kubectl apply -f job.yaml

The text is YAML written by a small emitter here (hpsearch does not depend on PyYAML); the
tests parse it and check it against the Job schema of the Kubernetes API (kubernetes-validate).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from hpsearch.errors import ConfigError
from hpsearch.launch.common import check_text, job_name_for, slug, worker_options
from hpsearch.launch.identity import TAG_ENV

__all__ = ["K8sOptions", "indexed_job", "render_indexed_job", "to_yaml"]

INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
# fullmatch everywhere: re's `$` also matches before a final newline ("ml\n" would pass).
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_CPU = re.compile(r"\d+(\.\d+)?|\d+m")
_MEMORY = re.compile(r"\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?")
_SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]+")


@dataclass(frozen=True)
class K8sOptions:
    """How to launch a study's workers as an Indexed Job; checked when built.

    ``image`` must hold hpsearch and the objective's code. ``tasks`` pods (completions), at most
    ``parallel`` at once (None: all); each runs ``trials_per_task`` trials (None: until the
    study has its target). The URL is key ``secret_key`` of Secret ``secret``. ``cpus`` and
    ``mem`` are Kubernetes quantities (``4``, ``500m``; ``16Gi``), requested and (memory)
    limited; ``gpus_per_task`` is ``nvidia.com/gpu``. ``time`` (seconds) bounds the whole Job
    (``activeDeadlineSeconds``); ``backoff_limit`` is how many failed pods end the Job
    (default: one per task). ``hpsearch`` is the command in the image.
    """

    image: str
    tasks: int
    parallel: int | None = None
    trials_per_task: int | None = None
    secret: str = "hpsearch-db"
    secret_key: str = "url"
    gpus_per_task: int = 0
    cpus: str | None = None
    mem: str | None = None
    time: float | None = None
    namespace: str | None = None
    job_name: str | None = None
    backoff_limit: int | None = None
    image_pull_policy: str | None = None
    hpsearch: tuple[str, ...] = ("hpsearch",)
    worker_args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.image or any(c.isspace() for c in check_text("--image", self.image)):
            raise ConfigError(f"--image: a container image is required, got {self.image!r}")
        for option, value in (("--tasks", self.tasks), ("--parallel", self.parallel),
                              ("--trials-per-task", self.trials_per_task)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                      or value < 1):
                raise ConfigError(f"{option} must be at least 1, got {value!r}")
        if self.parallel is not None and self.parallel > self.tasks:
            raise ConfigError(f"--parallel ({self.parallel}) cannot exceed --tasks ({self.tasks})")
        if not isinstance(self.gpus_per_task, int) or self.gpus_per_task < 0:
            raise ConfigError(f"--gpus-per-task must be 0 or more, got {self.gpus_per_task!r}")
        if self.backoff_limit is not None and self.backoff_limit < 0:
            raise ConfigError(f"--backoff-limit must be 0 or more, got {self.backoff_limit!r}")
        if self.time is not None and not self.time > 0:
            raise ConfigError(f"--time must be positive, got {self.time!r}")
        if self.cpus is not None:
            object.__setattr__(self, "cpus", str(self.cpus).strip())
            if not _CPU.fullmatch(self.cpus) or float(self.cpus.rstrip("m")) == 0:
                raise ConfigError(f"--cpus-per-task: not a CPU quantity: {self.cpus!r} "
                                  "(4, 0.5, 500m)")
        if self.mem is not None:
            object.__setattr__(self, "mem", str(self.mem).strip())
            if not _MEMORY.fullmatch(self.mem):
                raise ConfigError(f"--mem: not a memory quantity: {self.mem!r} (16Gi, 512Mi)")
        for option, label in (("--secret", self.secret), ("--namespace", self.namespace),
                              ("--job-name", self.job_name)):
            if label is not None and (not _DNS_LABEL.fullmatch(label) or len(label) > 63):
                raise ConfigError(f"{option}: {label!r} is not a Kubernetes name (lower-case "
                                  "letters, digits and '-', at most 63)")
        if not _SECRET_KEY.fullmatch(self.secret_key):
            raise ConfigError(f"--secret-key: {self.secret_key!r} is not a Secret key")
        if self.image_pull_policy not in (None, "Always", "IfNotPresent", "Never"):
            raise ConfigError(f"--image-pull-policy: {self.image_pull_policy!r} is not Always, "
                              "IfNotPresent or Never")
        object.__setattr__(self, "hpsearch", tuple(check_text("the hpsearch command", word)
                                                   for word in self.hpsearch))
        object.__setattr__(self, "worker_args", tuple(check_text("--worker-arg", arg)
                                                      for arg in self.worker_args))
        if not self.hpsearch:
            raise ConfigError("the hpsearch command in the image is empty")


def indexed_job(study: str, opts: K8sOptions) -> dict[str, Any]:
    """The Job manifest as plain data (what :func:`render_indexed_job` writes as YAML)."""
    if not study:
        raise ConfigError("the study name is empty")
    check_text("study name", study)
    name = opts.job_name or job_name_for(study)
    labels = {"app.kubernetes.io/name": "hpsearch", "app.kubernetes.io/instance": name,
              "hpsearch/study": slug(study)[:63].rstrip("-")}
    # $(VAR) in a command is expanded by Kubernetes from the container's env; the Secret's value
    # never appears in the manifest or in `kubectl describe job`.
    command = [*opts.hpsearch, "worker", _escape_vars(study),
               *map(_escape_vars, worker_options(trials_per_task=opts.trials_per_task,
                                                 gpus_per_task=opts.gpus_per_task,
                                                 extra=opts.worker_args))]
    env = [
        {"name": "HPSEARCH_DB",
         "valueFrom": {"secretKeyRef": {"name": opts.secret, "key": opts.secret_key}}},
        # The pod's index, defined here (the controller's own JOB_COMPLETION_INDEX comes after
        # this list, too late for $(...) below).
        {"name": "HPSEARCH_TASK_INDEX",
         "valueFrom": {"fieldRef": {"fieldPath": f"metadata.annotations['{INDEX_ANNOTATION}']"}}},
        {"name": TAG_ENV, "value": f"k8s={name}_$(HPSEARCH_TASK_INDEX)"},
    ]
    container: dict[str, Any] = {"name": "worker", "image": opts.image}
    if opts.image_pull_policy:
        container["imagePullPolicy"] = opts.image_pull_policy
    container["command"] = command
    container["env"] = env
    resources = _resources(opts)
    if resources:
        container["resources"] = resources
    spec: dict[str, Any] = {
        "completionMode": "Indexed",
        "completions": opts.tasks,
        "parallelism": opts.parallel if opts.parallel is not None else opts.tasks,
        "backoffLimit": opts.backoff_limit if opts.backoff_limit is not None else opts.tasks,
    }
    if opts.time is not None:
        spec["activeDeadlineSeconds"] = int(-(-opts.time // 1))
    # Never: a pod that fails is replaced by a new one (counted in backoffLimit) rather than
    # restarted in place, so `kubectl logs` keeps the failed attempt.
    spec["template"] = {"metadata": {"labels": labels},
                        "spec": {"restartPolicy": "Never", "containers": [container]}}
    metadata: dict[str, Any] = {"name": name}
    if opts.namespace:
        metadata["namespace"] = opts.namespace
    metadata["labels"] = labels
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": spec}


def _escape_vars(arg: str) -> str:
    """Kubernetes would expand ``$(X)`` in a command; ``$$`` keeps a literal ``$``."""
    return arg.replace("$", "$$")


def _resources(opts: K8sOptions) -> dict[str, dict[str, Any]]:
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    if opts.cpus is not None:
        requests["cpu"] = opts.cpus
    if opts.mem is not None:
        requests["memory"] = limits["memory"] = opts.mem
    if opts.gpus_per_task:
        # Extended resources such as GPUs are set as limits (requests default to them).
        limits["nvidia.com/gpu"] = opts.gpus_per_task
    return {k: v for k, v in (("requests", requests), ("limits", limits)) if v}


def render_indexed_job(study: str, opts: K8sOptions) -> str:
    """The Indexed Job of ``study``'s workers as commented YAML (``kubectl apply -f``)."""
    job = indexed_job(study, opts)
    name = job["metadata"]["name"]
    ns = f" -n {opts.namespace}" if opts.namespace else ""
    at_once = f"{job['spec']['parallelism']} at a time"
    header = [
        f"# hpsearch workers for study {study!r}: a Kubernetes Indexed Job of {opts.tasks} pods, "
        f"{at_once};",
        "# each pod runs `hpsearch worker`, which claims trials one at a time from the database.",
        f"# The database URL is key {opts.secret_key!r} of Secret {opts.secret!r}; create it once:",
        f"#   kubectl{ns} create secret generic {opts.secret} "
        f"--from-literal={opts.secret_key}='postgresql://USER:PASSWORD@HOST/DB'",
        f"# then: kubectl{ns} apply -f THIS.yaml; watch: kubectl{ns} get pods -l "
        f"job-name={name}",
        f"# logs of pod 3: kubectl{ns} logs -l job-name={name},"
        f"batch.kubernetes.io/job-completion-index=3",
        "# Written by `hpsearch launch k8s`.",
    ]
    return "\n".join(header) + "\n" + to_yaml(job)


# ----------------------------------------------------------------------------------- YAML text
_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED:
        return text
    # A JSON string is a valid double-quoted YAML scalar. Not ensure_ascii: YAML reads the
    # surrogate pair JSON writes for U+10000 and above as two characters. What YAML does not
    # allow raw in a stream (DEL, C1 controls, U+FFFE/FFFF) or reads as a line break (NEL,
    # U+2028/2029) is escaped.
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}",
                            json.dumps(text, ensure_ascii=False))


def to_yaml(data: Any, indent: int = 0) -> str:
    """Block-style YAML of dicts, lists and scalars (keys in insertion order)."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, (dict, list)) and value:
                lines.append(f"{pad}{_scalar(key)}:")
                lines.append(to_yaml(value, indent + 2).rstrip("\n"))
            else:
                lines.append(f"{pad}{_scalar(key)}: {_empty_or_scalar(value)}")
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, (dict, list)) and item:
                body = to_yaml(item, indent + 2).rstrip("\n")
                lines.append(f"{pad}- {body[indent + 2:]}")
            else:
                lines.append(f"{pad}- {_empty_or_scalar(item)}")
    else:
        lines.append(f"{pad}{_scalar(data)}")
    return "\n".join(lines) + "\n"


def _empty_or_scalar(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)

