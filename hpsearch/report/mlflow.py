"""``hpsearch report STUDY --mlflow URI`` and ``run --mlflow URI``: a study in MLflow (it
needs the ``mlflow`` extra: ``pip install 'hpsearch[mlflow]'``).

The study is one *parent* run (tag ``hpsearch.kind = study``) in the experiment named after
the study; each trial is a *child* run (``mlflow.parentRunId``, named ``trial-N``) with

* params: the trial's params (an inactive conditional parameter is absent);
* metrics: the final metrics the database holds under their own names (``val_accuracy``,
  what MLflow's run table compares), and the per-step curve under ``steps/<metric>`` at each
  step;
* tags: ``hpsearch.trial``, ``hpsearch.round``, ``hpsearch.state``, ``hpsearch.proposed_by``,
  ``hpsearch.pruned_step``, ``hpsearch.seed``, ``hpsearch.worker``, ``hpsearch.error`` (its
  first line);
* status: complete → FINISHED, failed → FAILED, pruned and interrupted → KILLED, running and
  queued → RUNNING;
* artifact: the trial's kept checkpoint (``[trainer] keep_best``), when it has one.

**Idempotent.** The runs are found again by their tags: a trial whose child run already shows
its current state (and end time) is left alone; one that changed since (it was running at the
last export) has its old run deleted and logged anew. So a second export, or ``report --mlflow``
after ``run --mlflow``, duplicates nothing. Checkpoints are uploaded when the trial is logged:
one that becomes kept later is added by the next export that logs its run again.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hpsearch.storage import Storage, StudyRecord, TrialRecord

__all__ = ["export_mlflow", "MlflowStudyLogger", "MlflowExport", "MlflowRunCallback"]

_STATUS = {"complete": "FINISHED", "failed": "FAILED", "pruned": "KILLED",
           "interrupted": "KILLED", "running": "RUNNING", "queued": "RUNNING"}
#: MLflow refuses longer tag values (5000) and params (6000); we stay well inside.
_MAX_TAG = 4000


def _require():
    try:
        import mlflow  # noqa: F401
        from mlflow import MlflowClient
    except ImportError as exc:
        from hpsearch.errors import ConfigError

        raise ConfigError("--mlflow needs the mlflow package: pip install 'hpsearch[mlflow]'"
                          ) from exc
    return MlflowClient


class MlflowExport:
    """What an export did: the experiment and parent run ids, the trials logged (new or
    renewed) and those left as they were."""

    def __init__(self, experiment_id: str, parent_id: str) -> None:
        self.experiment_id, self.parent_id = experiment_id, parent_id
        self.logged: list[int] = []
        self.unchanged: list[int] = []


class MlflowStudyLogger:
    """Logs one study's trials to one MLflow tracking URI (find-or-create, so idempotent)."""

    def __init__(self, storage: Storage, study: StudyRecord, uri: str) -> None:
        client_class = _require()
        self.storage, self.study, self.uri = storage, study, uri
        self.client = client_class(tracking_uri=uri)
        self.experiment_id = self._experiment()
        self.parent_id = self._parent()
        self._children: dict[int, Any] | None = None

    # ---------------------------------------------------------------- finding runs
    def _experiment(self) -> str:
        name = f"hpsearch/{self.study.name}"
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            if found.lifecycle_stage == "deleted":
                self.client.restore_experiment(found.experiment_id)
            return found.experiment_id
        try:
            return self.client.create_experiment(name, tags={"hpsearch.study": self.study.name})
        except Exception:  # noqa: BLE001 - created by another process meanwhile
            found = self.client.get_experiment_by_name(name)
            if found is None:
                raise
            return found.experiment_id

    def _parent(self) -> str:
        runs = self.client.search_runs(
            [self.experiment_id], filter_string="tags.`hpsearch.kind` = 'study'", max_results=1,
            order_by=["attributes.start_time ASC"])
        if runs:
            return runs[0].info.run_id
        study = self.study
        run = self.client.create_run(
            self.experiment_id, start_time=int(study.created_at * 1000), run_name=study.name,
            tags={"hpsearch.kind": "study", "hpsearch.study": study.name,
                  "hpsearch.metric": study.metric, "hpsearch.direction": study.direction})
        from mlflow.entities import Param

        self.client.log_batch(run.info.run_id, params=[
            Param(k, str(v)) for k, v in (("metric", study.metric),
                                          ("direction", study.direction),
                                          ("sampler", study.sampler), ("seed", study.seed))])
        return run.info.run_id

    def children(self) -> dict[int, Any]:
        """The study's child runs by trial number (the newest, if a crash left two)."""
        if self._children is None:
            out: dict[int, Any] = {}
            token = None
            while True:
                page = self.client.search_runs(
                    [self.experiment_id],
                    filter_string=f"tags.`mlflow.parentRunId` = '{self.parent_id}'",
                    max_results=1000, page_token=token,
                    order_by=["attributes.start_time ASC"])
                for run in page:
                    number = run.data.tags.get("hpsearch.trial")
                    if number is not None and number.isdigit():
                        out[int(number)] = run
                token = page.token
                if not token:
                    break
            self._children = out
        return self._children

    # ---------------------------------------------------------------- logging
    def log_trial(self, trial: TrialRecord, *, with_steps: bool = False) -> bool:
        """Log ``trial`` as a child run unless its run already shows it as it is; True when it
        logged. ``with_steps``: ``trial`` already carries its steps (else they are read)."""
        existing = self.children().get(trial.number)
        stamp = _stamp(trial)
        if existing is not None:
            if existing.data.tags.get("hpsearch.stamp") == stamp:
                return False
            self.client.delete_run(existing.info.run_id)
        if not with_steps:
            trial = self.storage.trial(self.study, trial.number)
        run_id = self._create(trial, stamp)
        self.children()[trial.number] = self.client.get_run(run_id)
        self._update_parent()
        return True

    def _create(self, trial: TrialRecord, stamp: str) -> str:
        from mlflow.entities import Metric, Param, RunTag

        start = int((trial.started_at or self.study.created_at) * 1000)
        end = int((trial.finished_at or trial.started_at or self.study.created_at) * 1000)
        tags = {"mlflow.parentRunId": self.parent_id, "hpsearch.study": self.study.name,
                "hpsearch.trial": str(trial.number), "hpsearch.round": str(trial.round),
                "hpsearch.state": trial.state, "hpsearch.seed": str(trial.seed),
                "hpsearch.stamp": stamp}
        for key, value in (("proposed_by", trial.proposed_by), ("worker", trial.worker),
                           ("pruned_step", trial.pruned_step), ("device", trial.device),
                           ("note", trial.note),
                           ("error", (trial.error or "").splitlines()[0] if trial.error else None)):
            if value is not None:
                tags[f"hpsearch.{key}"] = str(value)[:_MAX_TAG]
        run = self.client.create_run(self.experiment_id, start_time=start,
                                     run_name=f"trial-{trial.number}", tags=tags)
        run_id = run.info.run_id
        params = [Param(str(k), str(v)[:_MAX_TAG]) for k, v in trial.params.items()]
        metrics = []
        last = 0
        for step, values in trial.steps:
            last = max(last, step)
            for key, value in values.items():
                if _number(value):
                    metrics.append(Metric(f"steps/{key}", float(value), start, int(step)))
        for key, value in (trial.metrics or {}).items():
            if _number(value):
                metrics.append(Metric(str(key), float(value), end, last))
        if trial.value is not None and self.study.metric not in (trial.metrics or {}):
            metrics.append(Metric(self.study.metric, float(trial.value), end, last))
        # log_batch takes at most 1000 metrics and 100 params a call.
        for i in range(0, max(len(params), 1), 100):
            self.client.log_batch(run_id, params=params[i:i + 100])
        for i in range(0, len(metrics), 1000):
            self.client.log_batch(run_id, metrics=metrics[i:i + 1000])
        checkpoint = self._kept(trial)
        if checkpoint is not None:
            self.client.log_artifact(run_id, str(checkpoint), artifact_path="checkpoint")
            self.client.log_batch(run_id, tags=[RunTag("hpsearch.checkpoint", checkpoint.name)])
        status = _STATUS.get(trial.state, "FINISHED")
        if status != "RUNNING":
            self.client.set_terminated(run_id, status=status, end_time=end)
        return run_id

    def _kept(self, trial: TrialRecord) -> Path | None:
        from hpsearch.storage.artifacts import ArtifactFolder, artifact_folder

        return ArtifactFolder(artifact_folder(self.storage.url, self.study)).file_of(trial.number)

    def _update_parent(self) -> None:
        """The parent run's best value so far (a metric: its latest value is the best)."""
        best = self.storage.best(self.study)
        if best is not None and best.value is not None:
            from mlflow.entities import Metric, RunTag

            previous = self.client.get_run(self.parent_id).data.metrics.get(
                f"best_{self.study.metric}")
            if previous != best.value:
                self.client.log_batch(self.parent_id, metrics=[
                    Metric(f"best_{self.study.metric}", float(best.value),
                           int((best.finished_at or self.study.created_at) * 1000), best.number)],
                    tags=[RunTag("hpsearch.best_trial", str(best.number))])

    def close(self, *, finished: bool = True) -> None:
        """End the parent run (FINISHED) once the study is exported."""
        if finished:
            self.client.set_terminated(self.parent_id, status="FINISHED")


def export_mlflow(storage: Storage, name: str, uri: str) -> MlflowExport:
    """Log study ``name`` and every trial of it to the MLflow tracking server or store at
    ``uri`` (``file:/path/mlruns``, ``sqlite:///mlflow.db``, ``http://host:5000``); see the
    module docstring. Raises :class:`~hpsearch.errors.ConfigError` without the mlflow package,
    :class:`~hpsearch.errors.StudyError` for an unknown study."""
    study = storage.get_study(name)
    logger = MlflowStudyLogger(storage, study, uri)
    result = MlflowExport(logger.experiment_id, logger.parent_id)
    for trial in storage.trials(study, best_first=False):
        (result.logged if logger.log_trial(trial) else result.unchanged).append(trial.number)
    logger.close()
    return result


def _stamp(trial: TrialRecord) -> str:
    """What a child run was logged from: a trial whose stamp is unchanged is not logged again."""
    finished = "" if trial.finished_at is None else f"{trial.finished_at:.6f}"
    return f"{trial.state}@{finished}"


def _number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


class MlflowRunCallback:
    """``run --mlflow URI``: the run's ``on_event`` that logs each trial as it ends (its child
    run, with curve and checkpoint), through the same find-or-create as :func:`export_mlflow`.

    The study is looked up at the first trial's end (a new study exists only once the run
    started). A tracking server that fails is logged as a warning: the search goes on, and
    ``report --mlflow`` later logs what is missing.
    """

    def __init__(self, storage: Storage, study_name: str, uri: str) -> None:
        _require()  # no mlflow: exit 2 before the run starts
        self.storage, self.study_name, self.uri = storage, study_name, uri
        self.logger: MlflowStudyLogger | None = None

    def __call__(self, event: Any) -> None:
        if event.kind != "end":
            return
        try:
            if self.logger is None:
                study = self.storage.get_study(self.study_name)
                self.logger = MlflowStudyLogger(self.storage, study, self.uri)
            # As stored (its end time is the database's, which the next export compares).
            stored = self.storage.trial(self.logger.study, event.trial.number)
            self.logger.log_trial(stored, with_steps=True)
        except Exception as exc:  # noqa: BLE001 - the tracker is not worth a trial or a run
            import logging

            logging.getLogger(__name__).warning("trial %d not logged to MLflow at %s: %s",
                                                event.trial.number, self.uri, exc)

    def close(self) -> None:
        if self.logger is not None:
            self.logger.close()
