"""What every objective is: ``run(params, context) -> metrics``, chosen by ``[objective] kind``."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Hashable, Mapping, Sequence

if TYPE_CHECKING:
    from hpsearch.space import Space


class TrialFailed(Exception):
    """The trial failed in a way the objective understood (diverged, timed out, non-zero exit).

    The runner records it as a failed trial with this message; the study goes on.
    """

    def __init__(self, message: str, *, metrics: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.metrics = dict(metrics or {})


#: ``report(step, metrics) -> stop``: records a point of the learning curve; True means "stop
#: this trial now" (the pruner gave up on it). A report that returns None never stops.
Report = Callable[[int, Mapping[str, Any]], "bool | None"]


@dataclass
class TrialContext:
    """What an objective knows about the trial it runs.

    ``report(step, metrics)`` answers whether to stop (see :data:`Report`). Each objective obeys
    a True answer its own way and then raises :class:`hpsearch.pruners.Pruned` to the run loop:
    the built-in trainer stops after that epoch (keeping its best epoch), a python function is
    told (and stopped at its next report), a command is sent SIGTERM, then SIGKILL.
    """

    number: int
    seed: int
    device: str | None
    report: Report
    #: The device the trial actually ran on, set by objectives that know it ("cuda:0").
    device_used: str | None = None


class ReportGate:
    """The trial's ``report`` as an objective hands it on: remembers the first step at which the
    run loop answered "stop" (:attr:`stopped_at`) and the last step reported.

    Once stopped, reporting again raises :class:`~hpsearch.pruners.Pruned`: a python function
    that ignores the answer is still stopped at its next report.
    """

    def __init__(self, report: Report) -> None:
        self._report = report
        self.stopped_at: int | None = None
        self.last_step: int | None = None

    def __call__(self, step: int, metrics: Mapping[str, Any]) -> bool:
        if self.stopped_at is not None:
            raise self.pruned()
        stop = bool(self._report(step, metrics))
        self.last_step = step
        if stop:
            self.stopped_at = step
        return stop

    def pruned(self, metrics: Mapping[str, Any] | None = None) -> Exception:
        """The :class:`~hpsearch.pruners.Pruned` that ends this trial (at the stop's step)."""
        return pruned_at(self.stopped_at if self.stopped_at is not None else self.last_step,
                         metrics=metrics)


def pruned_at(step: int | None, *, metrics: Mapping[str, Any] | None = None) -> Exception:
    """``Pruned("pruned at step N", step=N)``; ``metrics`` (what the trial reached, e.g. the
    trainer's best epoch) ride along as its ``metrics`` attribute. The run loop knows the
    pruner's own reason and may prefer it."""
    from hpsearch.pruners.base import Pruned

    exc = Pruned("pruned" if step is None else f"pruned at step {step}", step=step)
    exc.metrics = dict(metrics or {})  # type: ignore[attr-defined]
    return exc


class Objective(ABC):
    """One way of turning a configuration into metrics."""

    kind: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_space(cls, space: "Space", *, device: str | None = None,
                   threads: int | None = None) -> "Objective":
        """Check the ``[objective]`` settings and prepare; raise before any trial runs.

        ``threads`` (``run --threads``) overrides the built-in trainer's ``[trainer] threads``;
        the other kinds leave threads to the user's code."""

    @classmethod
    def check(cls, space: "Space") -> None:
        """Raise for every mistake in the space's objective settings that can be found without
        running a trial (``hpsearch validate`` calls this). Default: set up, then release."""
        cls.from_space(space).close()

    @abstractmethod
    def run(self, params: Mapping[str, Any], context: TrialContext) -> Mapping[str, Any] | float:
        """Run one trial; return its metrics (or one number, taken as the study's metric)."""

    def close(self) -> None:  # noqa: B027 - a hook with a default, not an abstract method
        """Release what ``from_space`` acquired (nothing by default)."""

    # -------------------------------------------------------------- what the run asks of it
    # Each capability of an objective is a hook here with a default that means "cannot" or
    # "nothing to do"; the run loop asks the hook and never tests the kind.

    #: Whether trials of this kind may train together (``run --pack K``).
    can_pack: ClassVar[bool] = False
    #: The metric (``-name``: descending) that orders trials of equal value when the study
    #: names none; None: ties by trial number only.
    default_tie_breaker: ClassVar[str | None] = None

    @classmethod
    def param_defaults(cls, space: "Space") -> dict[str, Any]:
        """What a trial of ``space`` runs with for a parameter it is not given, where the
        objective documents it (an evolved round maps earlier trials with it); {}: unknown."""
        return {}

    @classmethod
    def reported_metrics(cls) -> tuple[str, ...] | None:
        """Every metric a trial of this kind can report, when the objective knows them (a
        study may optimise or constrain only those); None: any (the user's code decides)."""
        return None

    @classmethod
    def default_max_resource(cls, space: "Space") -> int | None:
        """The largest step a trial of ``space`` reports, when the objective knows it (the
        pruners' ``max_resource`` when ``[pruner]`` leaves it out); None: unknown."""
        return None

    @classmethod
    def reads_beside_space(cls, space: Mapping[str, Any]) -> bool:
        """Whether a trial of the stored space dict ``space`` reads a file named relative to
        the space file's folder (a module, a program, a data file): a copy of the space written
        to another folder must then say where that folder is. Yes unless the kind knows."""
        return True

    @classmethod
    def prepare_process(cls, threads: int) -> None:
        """Set up a worker process that may use ``threads`` CPU threads, before it builds the
        objective (``OMP_NUM_THREADS`` and friends are set already). Nothing by default."""
        return None

    def warm_up(self) -> None:  # noqa: B027 - a hook with a default
        """Pay one-off costs (imports, loading data) before the first trial is claimed, so that
        they are the run's start-up, not part of trial 0's duration. Nothing by default."""

    def isolated(self) -> "Objective":
        """The objective the run calls: this one, or one that runs each trial in a child
        process (a python objective with ``isolate = true``)."""
        return self

    def packable(self) -> bool:
        """Whether this objective's trials may train as packs now (its class ``can_pack``, and
        its settings allow it)."""
        return self.can_pack

    def pack_key(self, params: Mapping[str, Any]) -> Hashable:
        """The shape a trial with ``params`` packs by: trials of one key train as one pack.
        Raises :class:`~hpsearch.errors.ConfigError` for params this objective refuses."""
        raise NotImplementedError(f"{self.kind} objectives do not pack")

    def pack_device(self, device: str | None) -> str | None:
        """The device a pack of trials asked to run on ``device`` trains on."""
        return device

    def run_packed(self, params: Sequence[Mapping[str, Any]], *, seeds: Sequence[int],
                   reports: Sequence[Report], device: str | None,
                   numbers: Sequence[int] = (),
                   on_end: Callable[[int, "PackedResult"], None] | None = None,
                   ) -> list["PackedResult"]:
        """Train trials of one :meth:`pack_key` together; one result per trial, in order.
        ``reports[i]`` is trial i's report (True: stop it); ``numbers[i]`` its trial number
        (what :meth:`take_artifact` is asked with); ``on_end(i, result)``, when given, is
        called as soon as trial i ends before the pack (early stopping, divergence; its
        artifact ready for :meth:`take_artifact`), so the run records it then. An
        :class:`HpsearchError` is a setup problem every trial would hit."""
        raise NotImplementedError(f"{self.kind} objectives do not pack")


    # kept artifacts ------------------------------------------------------------------------
    def take_artifact(self, number: int, metrics: Mapping[str, Any] | None) -> Any:
        """What trial ``number`` left to keep among the study's best (``[trainer]
        keep_best``), as a :class:`hpsearch.storage.artifacts.Artifact`, or None; asked once,
        after the trial is recorded. Default: the file a result named under ``"artifact"``
        (``return {"val_accuracy": 0.9, "artifact": "model.bin"}``)."""
        path = (metrics or {}).get("artifact")
        if not isinstance(path, str) or not path:
            return None
        from hpsearch.storage.artifacts import Artifact

        file = Path(path)
        if not file.is_absolute():
            file = self.artifact_base() / file
        if not file.is_file():
            import logging

            logging.getLogger(__name__).warning(
                "trial %d: artifact %s is not a file; nothing kept", number, file)
            return None
        return Artifact.file(file)

    def artifact_base(self) -> Path:
        """The folder a relative ``"artifact"`` path is relative to: the run's current folder
        (a python function runs in it); a command's own folder for a command."""
        return Path.cwd()


@dataclass(frozen=True)
class PackedResult:
    """How one member of a pack ended: ``state`` complete, pruned or failed, its metrics (the
    best step's for a pruned one), the step it was pruned at, or why it failed."""

    state: str
    metrics: Mapping[str, Any]
    pruned_step: int | None = None
    error: str | None = None


def space_dir(space: "Space") -> Path:
    """The folder relative paths of the objective are relative to: the space file's, or
    ``[objective] base_dir`` (relative to the space file's folder) when set. A python
    objective's module is imported from it, a command runs in it, the built-in trainer reads
    a relative dataset path from it; ``best --export`` and ``rounds --export`` set it so that
    the file they write runs from where it is written."""
    source = Path(space.source)
    folder = source.parent if source.suffix else Path.cwd()
    base = space.objective.get("base_dir")
    return folder / base if isinstance(base, str) and base else folder


def extract_value(result: Mapping[str, Any] | float | int, metric: str) -> tuple[float, dict[str, Any]]:
    """The study's metric and all metrics from what an objective returned.

    Raises :class:`TrialFailed` when the metric is missing or not a finite number.
    """
    if isinstance(result, bool):
        raise TrialFailed(f"the objective returned a bool ({result}); return a number or a dict")
    if isinstance(result, (int, float)):
        raw: dict[str, Any] = {metric: float(result)}
    elif isinstance(result, Mapping):
        raw = {str(k): _scalar(v) for k, v in result.items()}
    else:
        raise TrialFailed(
            f"the objective returned {type(result).__name__}; return a number or a dict of metrics")
    # The checks read the raw values ("is nan"); what is stored is JSON-safe even then.
    metrics = {k: json_safe(v) for k, v in raw.items()}
    if metric not in raw:
        # repr: a key with a newline or a control character keeps the error on one line
        got = ", ".join(_key_text(k) for k in list(raw)[:20]) or "nothing"
        raise TrialFailed(f"metric {metric!r} missing from the result (got: {got})",
                          metrics=metrics)
    value = raw[metric]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TrialFailed(f"metric {metric!r} is not a number: {value!r}", metrics=metrics)
    if not math.isfinite(value):
        raise TrialFailed(f"metric {metric!r} is {value}", metrics=metrics)
    return float(value), metrics


def _scalar(v: Any) -> Any:
    """``v`` as a str, bool, int, float or None: numpy/torch scalars become floats, anything
    else its ``str`` (bytes too: ``float(b"0")`` is 0.0, but bytes are no number)."""
    if isinstance(v, (str, bool, int, float)) or v is None:
        return v
    if isinstance(v, (bytes, bytearray, memoryview)):
        return str(v)
    try:
        return float(v)
    except (TypeError, ValueError):
        return str(v)


def json_safe(v: Any) -> Any:
    """``v`` as strict JSON can hold it: a non-finite float becomes None, because PostgreSQL's
    json type refuses NaN and Infinity (and SQLite would store text no other reader parses)."""
    v = _scalar(v)
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _key_text(key: Any) -> str:
    """A result's key for a message: quoted (a newline stays visible, on one line) and short;
    a key that cannot even be turned into text (an int of 5,000 digits) by its type."""
    try:
        return repr(str(key))[:80]
    except Exception:  # noqa: BLE001 - ValueError (int digits), a user's broken __str__
        return f"<{type(key).__name__}>"


def load_function(spec: str, *, search: list[Path]) -> Callable[..., Any]:
    """``package.module:name`` imported with the ``search`` folders first on ``sys.path``
    (a python objective's function, in the run or in an isolated trial's child)."""
    import importlib
    import sys

    from hpsearch.errors import ObjectiveError

    module_name, _, attr = spec.partition(":")
    for folder in reversed(search):
        path = str(Path(folder).resolve())
        if path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any import-time failure of user code
        raise ObjectiveError(
            f"objective.function: cannot import {module_name!r}: {type(exc).__name__}: {exc}") from exc
    fn: Any = module
    for part in attr.split("."):
        fn = getattr(fn, part, None)
        if fn is None:
            raise ObjectiveError(f"objective.function: {module_name!r} has no attribute {attr!r}")
    if not callable(fn):
        raise ObjectiveError(f"objective.function: {spec!r} is not callable")
    return fn
