"""``hpsearch report STUDY --tensorboard DIR``: a study as TensorBoard's HParams dashboard reads
it (needs the ``tensorboard`` extra: ``pip install 'hpsearch[tensorboard]'``).

What is written, with the ``tensorboard`` package's own protos and torch's event writer:

* ``DIR/`` holds the *experiment*: one ``HParamInfo`` per parameter of the study (its domain:
  a choice or fixed value as a discrete set, a numeric range as an interval whose description
  names its scale, ``log`` for log-uniform and log integers, ``log(1-x)`` for log_one_minus;
  the dashboard's parallel-coordinates view offers a log axis per column) and one
  ``MetricInfo`` per final metric (``final/<metric>``).
* ``DIR/trial-00017/`` is one *session* per trial: its params (``SessionStartInfo``; an
  inactive conditional parameter is absent), its per-step curve (a scalar per reported
  metric, at its step), its final metrics (``final/<metric>``, the values the database holds)
  and its end (``SessionEndInfo``: complete → success, failed → failure, pruned and
  interrupted → failure, running and queued → running).

A second export to the same folder replaces the first (the event files this module wrote are
removed first): nothing is shown twice.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:
    from hpsearch.storage import Storage, StudyRecord, TrialRecord

__all__ = ["export_tensorboard", "TensorBoardExport", "hparam_domains"]

#: Marks a folder this module wrote (so a second export may clear its event files).
MARKER = ".hpsearch-tensorboard"
_EVENT_PREFIX = "events.out.tfevents."


class TensorBoardExport:
    """What :func:`export_tensorboard` wrote: the folder, the runs and the metric tags."""

    def __init__(self, folder: Path, runs: list[str], metrics: list[str]) -> None:
        self.folder, self.runs, self.metrics = folder, runs, metrics


def _require():
    try:
        from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        from hpsearch.errors import ConfigError

        raise ConfigError("report --tensorboard needs the tensorboard package: "
                          "pip install 'hpsearch[tensorboard]'") from exc
    return api_pb2, metadata, plugin_data_pb2, SummaryWriter


def hparam_domains(space: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each parameter of a stored space dict as ``{"discrete": [...]}`` or ``{"interval":
    (low, high), "scale": "linear" | "log" | "log(1-x)"}``."""
    out: dict[str, dict[str, Any]] = {}
    for name, spec in (space.get("params") or {}).items():
        if not isinstance(spec, Mapping):
            out[name] = {"discrete": [spec]}
            continue
        kind = spec.get("type")
        if kind == "choice":
            out[name] = {"discrete": list(spec.get("values", []))}
        elif kind in ("uniform", "log_uniform", "int", "log_one_minus"):
            scale = ("log" if kind == "log_uniform" or (kind == "int" and spec.get("log"))
                     else "log(1-x)" if kind == "log_one_minus" else "linear")
            out[name] = {"interval": (float(spec["low"]), float(spec["high"])), "scale": scale,
                         "int": kind == "int"}
    return out


def export_tensorboard(storage: Storage, name: str, folder: str | Path) -> TensorBoardExport:
    """Write study ``name`` into ``folder`` for ``tensorboard --logdir folder`` (see the module
    docstring). Raises :class:`~hpsearch.errors.ConfigError` without the tensorboard package,
    :class:`~hpsearch.errors.StudyError` for an unknown study."""
    api_pb2, metadata, plugin_data_pb2, SummaryWriter = _require()
    study = storage.get_study(name)
    folder = Path(folder)
    _clear(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text(f"study {study.name}\n")

    trials = [storage.trial(study, t.number)
              for t in storage.trials(study, best_first=False)]
    domains = hparam_domains(study.space)
    for r in storage.rounds(study.id):  # a parameter a later round added
        for pname, dom in hparam_domains(r.space).items():
            domains.setdefault(pname, dom)
    metrics = _metric_names(study, trials)

    root = SummaryWriter(log_dir=str(folder))
    try:
        exp = api_pb2.Experiment(
            name=study.name,
            description=f"hpsearch study {study.name}: {study.direction} {study.metric}",
            hparam_infos=[_hparam_info(api_pb2, pname, dom, trials)
                          for pname, dom in domains.items()],
            metric_infos=[api_pb2.MetricInfo(
                name=api_pb2.MetricName(tag=f"final/{m}"), display_name=m,
                description="the study's metric" if m == study.metric else "")
                for m in metrics])
        root.file_writer.add_summary(_summary(metadata, plugin_data_pb2,
                                              metadata.EXPERIMENT_TAG, experiment=exp))
    finally:
        root.close()

    runs = []
    for trial in trials:
        run = f"trial-{trial.number:05d}"
        runs.append(run)
        _write_trial(folder / run, study, trial, api_pb2, metadata, plugin_data_pb2,
                     SummaryWriter)
    return TensorBoardExport(folder, runs, [f"final/{m}" for m in metrics])


def _write_trial(path: Path, study: StudyRecord, trial: TrialRecord, api_pb2, metadata,
                 plugin_data_pb2, SummaryWriter) -> None:
    writer = SummaryWriter(log_dir=str(path))
    start_time = trial.started_at or study.created_at
    try:
        start = plugin_data_pb2.SessionStartInfo(group_name=path.name,
                                                 start_time_secs=start_time)
        for key, value in trial.params.items():
            _set_value(start.hparams[key], value)
        writer.file_writer.add_summary(_summary(metadata, plugin_data_pb2,
                                                metadata.SESSION_START_INFO_TAG,
                                                session_start_info=start), walltime=start_time)
        last = 0
        for step, values in trial.steps:
            for key, value in values.items():
                if _number(value):
                    writer.add_scalar(key, float(value), step, walltime=start_time)
            last = max(last, step)
        for key, value in (trial.metrics or {}).items():
            if _number(value):
                writer.add_scalar(f"final/{key}", float(value), last,
                                  walltime=trial.finished_at or start_time)
        if trial.value is not None and study.metric not in (trial.metrics or {}):
            writer.add_scalar(f"final/{study.metric}", trial.value, last)
        status = {"complete": api_pb2.STATUS_SUCCESS, "running": api_pb2.STATUS_RUNNING,
                  "queued": api_pb2.STATUS_RUNNING}.get(trial.state, api_pb2.STATUS_FAILURE)
        end = plugin_data_pb2.SessionEndInfo(
            status=status, end_time_secs=trial.finished_at or start_time)
        writer.file_writer.add_summary(_summary(metadata, plugin_data_pb2,
                                                metadata.SESSION_END_INFO_TAG,
                                                session_end_info=end))
        # The dashboard shows no state column; these text-free scalars let it filter by one.
        writer.add_scalar("trial/number", trial.number, last)
        if trial.pruned_step is not None:
            writer.add_scalar("trial/pruned_step", trial.pruned_step, last)
    finally:
        writer.close()


def _summary(metadata, plugin_data_pb2, tag: str, **content):
    from tensorboard.compat.proto import summary_pb2

    data = plugin_data_pb2.HParamsPluginData(version=metadata.PLUGIN_DATA_VERSION, **content)
    meta = metadata.create_summary_metadata(data)
    return summary_pb2.Summary(value=[summary_pb2.Summary.Value(
        tag=tag, metadata=meta, tensor=metadata.NULL_TENSOR)])


def _hparam_info(api_pb2, name: str, domain: dict[str, Any], trials: Iterable[TrialRecord]):
    info = api_pb2.HParamInfo(name=name, display_name=name)
    if "discrete" in domain:
        values = domain["discrete"]
        kinds = {type(v) for v in values}
        if kinds <= {bool}:
            info.type = api_pb2.DATA_TYPE_BOOL
        elif kinds <= {int, float}:
            info.type = api_pb2.DATA_TYPE_FLOAT64
        else:  # strings, or a mix: shown as text
            info.type = api_pb2.DATA_TYPE_STRING
            values = [str(v) for v in values]
        for v in values:
            _set_value(info.domain_discrete.values.add(), v)
        info.description = "choice" if len(values) > 1 else "fixed"
        return info
    info.type = api_pb2.DATA_TYPE_FLOAT64
    low, high = domain["interval"]
    info.domain_interval.min_value, info.domain_interval.max_value = low, high
    scale = domain["scale"]
    info.description = (f"{'integer, ' if domain.get('int') else ''}{scale} scale"
                        + (" (pick Log on this axis)" if scale != "linear" else ""))
    return info


def _set_value(target, value: Any) -> None:
    """A protobuf ``Value`` from a param value (bool before int: bool is an int)."""
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, (int, float)):
        target.number_value = float(value)
    else:
        target.string_value = str(value)


def _number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _metric_names(study: StudyRecord, trials: list[TrialRecord]) -> list[str]:
    names = [study.metric]
    for t in trials:
        for key, value in (t.metrics or {}).items():
            if key not in names and _number(value):
                names.append(key)
    return names


def _clear(folder: Path) -> None:
    """Remove the event files of an earlier export (only in a folder this module wrote)."""
    if not (folder / MARKER).exists():
        return
    for path in [folder, *[p for p in folder.iterdir() if p.is_dir()]]:
        for event in path.glob(f"{_EVENT_PREFIX}*"):
            event.unlink()
