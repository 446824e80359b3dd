"""``kind = "builtin"``: the PyTorch MLP classifier of :mod:`hpsearch.trainer`."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Hashable, Mapping, Sequence

from hpsearch.errors import ConfigError, DataError
from hpsearch.objectives.base import (Objective, PackedResult, Report, ReportGate,
                                      TrialContext, TrialFailed, space_dir)


def _possible_values(param, grid_points: int) -> list[Any]:
    """Every value of a choice or fixed param; a numeric param's lowest and highest reachable
    values (bounds are inclusive) and its grid points."""
    from hpsearch.space import Choice, Fixed

    if isinstance(param, Fixed):
        return [param.value]
    if isinstance(param, Choice):
        return list(param.values)
    if param.numeric:
        return [param.from_unit(0.0), param.from_unit(1.0), *param.grid_values(grid_points)]
    return []  # pragma: no cover - no other parameter types exist


def _can_be_false(param) -> bool:
    return any(v is False for v in _possible_values(param, 1))


def _check_space_values(space) -> None:
    """``check_params`` for every value each parameter of ``space`` can take."""
    from hpsearch.space import IntParam
    from hpsearch.space import DEFAULT_GRID_POINTS
    from hpsearch.trainer.params import INTEGER_PARAMS, check_params

    grid_points = space.study.grid_points or DEFAULT_GRID_POINTS
    batch_norm = space.params.get("batch_norm")
    # batch_size < 2 only works without batch_norm: allowed where the space can turn it off.
    context = {"batch_norm": False} if batch_norm is not None and _can_be_false(batch_norm) else {}
    for name, param in space.params.items():
        if (name in INTEGER_PARAMS and param.numeric and not isinstance(param, IntParam)
                and param.step is None):
            raise ConfigError(
                f"{space.source}: params.{name}: must be an integer; a {param.kind} parameter "
                f"without step takes fractional values (use type = \"int\")")
        extra = context if name == "batch_size" else {}
        for value in _possible_values(param, grid_points):
            check_params({name: value, **extra}, source=space.source)


class BuiltinObjective(Objective):
    kind = "builtin"
    can_pack = True
    default_tie_breaker = "val_loss"  # recorded by every trial; lower is better

    @classmethod
    def reads_beside_space(cls, space: Mapping[str, Any]) -> bool:
        """Only a data file given by a relative path (the bundled datasets have no file)."""
        from pathlib import Path

        from hpsearch.trainer.config import BUILTIN_DATASETS

        trainer = space.get("trainer", {})
        dataset = trainer.get("dataset", "digits")
        return (isinstance(dataset, str) and dataset not in BUILTIN_DATASETS
                and not Path(dataset).is_absolute() and "base_dir" not in trainer)

    def __init__(self, settings) -> None:
        self.settings = settings
        # The best-epoch weights of trials run but not yet recorded, by number
        # (handed to the keeper by take_artifact, then dropped)
        self._weights: dict[int, tuple[Any, Any, dict[str, Any]]] = {}

    @classmethod
    def from_space(cls, space, *, device: str | None = None,
                   threads: int | None = None) -> "BuiltinObjective":
        """Check the space for the built-in trainer and prepare (no torch).

        Refused here, before any trial: unknown parameter names, any value a parameter can take
        that the trainer cannot use (every choice, fixed value, numeric bound and grid point),
        and a dataset that cannot be read (:class:`DataError`): a file dataset is loaded and
        split here (cached in-process, so the trials do not read it again).
        """
        settings = checked_settings(space)
        if device is not None:
            settings = dataclasses.replace(settings, device=device)
        if threads is not None:  # ``run --threads`` (RunOptions.threads) wins over the file
            settings = dataclasses.replace(settings, threads=threads)
        load_checked(settings, space.source)
        return cls(settings)

    @classmethod
    def check(cls, space) -> None:
        """``validate``: everything :meth:`from_space` checks but reading the data (fast)."""
        checked_settings(space)

    @classmethod
    def param_defaults(cls, space) -> dict[str, Any]:
        """The trainer's documented defaults, and the ``[trainer]`` settings of those names."""
        from hpsearch.trainer.params import PARAM_DEFAULTS

        out = {k: v for k, v in PARAM_DEFAULTS.items() if v is not None}
        out.update({k: v for k, v in space.trainer.items()
                    if k in PARAM_DEFAULTS and v is not None})
        return out

    @classmethod
    def reported_metrics(cls) -> tuple[str, ...] | None:
        from hpsearch.trainer.config import REPORTED_METRICS

        return REPORTED_METRICS

    @classmethod
    def default_max_resource(cls, space) -> int | None:
        """The last epoch a trial can reach: the ``epochs`` parameter's highest value when it
        is searched, else ``[trainer] epochs`` (or its default)."""
        epochs = space.params.get("epochs")
        high = getattr(epochs, "high", None)
        if high is None and epochs is not None:
            high = max((v for v in getattr(epochs, "values", ()) if isinstance(v, int)),
                       default=None)
        if high is None:
            from hpsearch.trainer.config import TrainerSettings

            high = (space.trainer or {}).get("epochs", TrainerSettings.epochs)
        if isinstance(high, int) and not isinstance(high, bool) and high >= 1:
            return high
        return None

    @classmethod
    def prepare_process(cls, threads: int) -> None:
        """torch's intra-op threads for a worker process (torch is imported here, after the
        worker set ``OMP_NUM_THREADS``)."""
        import torch

        torch.set_num_threads(threads)

    def packable(self) -> bool:
        """fp16 needs a gradient scaler per trial: such trials run one by one."""
        return self.settings.precision != "fp16"

    def pack_key(self, params: Mapping[str, Any]) -> Hashable:
        from hpsearch.trainer import TrialParams
        from hpsearch.trainer.packed import pack_key

        return pack_key(TrialParams.from_mapping(params))

    def pack_device(self, device: str | None) -> str | None:
        from hpsearch.trainer.fit import resolve_device

        return str(resolve_device(self._settings_on(device).device))

    def run_packed(self, params: Sequence[Mapping[str, Any]], *, seeds: Sequence[int],
                   reports: Sequence[Report], device: str | None,
                   numbers: Sequence[int] = (),
                   on_end: Callable[[int, PackedResult], None] | None = None,
                   ) -> list[PackedResult]:
        """K trials of one shape as one stacked model (:func:`hpsearch.trainer.packed.fit_packed`);
        each complete member's weights held for :meth:`take_artifact`, as :meth:`run` does:
        a member that ends before the pack (``on_end``) at once, before it is recorded."""
        from hpsearch.trainer import TrialParams
        from hpsearch.trainer.packed import fit_packed

        settings = self._settings_on(device)
        checked = [TrialParams.from_mapping(p) for p in params]
        apply_threads(settings, checked[0])  # the trial's thread count, as run() sets it
        numbers = list(numbers)
        early: set[int] = set()

        def ended(i: int, r) -> None:
            early.add(i)
            if i < len(numbers):
                self.hold(numbers[i], checked[i], params[i], r)
            on_end(i, PackedResult(r.state, r.metrics, r.pruned_step, r.error))  # type: ignore[misc]

        results = fit_packed(checked, settings, seeds=list(seeds), reports=list(reports),
                             on_end=ended if on_end is not None else None)
        for i, (number, c, p, r) in enumerate(zip(numbers, checked, params, results)):
            if i not in early:  # an early member's weights were held (and taken) already
                self.hold(number, c, p, r)
        return [PackedResult(r.state, r.metrics, r.pruned_step, r.error) for r in results]

    def _settings_on(self, device: str | None):
        if device is not None and device != self.settings.device:
            return dataclasses.replace(self.settings, device=device)
        return self.settings

    def warm_up(self) -> None:
        """Pay torch's first-use costs once, before the first trial is claimed, so that they
        are the run's start-up and not part of trial 0's recorded duration: import torch,
        load (and cache) the dataset, then train a tiny model (:func:`first_use`) on the run's
        device with its thread setting. A dataset that cannot be read, or a device or
        precision that cannot be used, stops the run here, before any trial."""
        from hpsearch.trainer.data import load_dataset

        first_use(self.settings, load_dataset(self.settings))

    def run(self, params: Mapping[str, Any], context: TrialContext):
        from hpsearch.trainer import TrialParams
        from hpsearch.trainer.fit import fit

        settings = self.settings
        if context.device is not None and context.device != settings.device:
            settings = dataclasses.replace(settings, device=context.device)
        try:
            checked = TrialParams.from_mapping(params)
        except ConfigError as exc:  # this trial's values only: fail it, the study goes on
            raise TrialFailed(str(exc)) from exc
        # Past the params check, a ConfigError (device, precision) or DataError (the dataset)
        # would hit every trial: it propagates and stops the study.
        apply_threads(settings, checked)
        gate = ReportGate(context.report)
        result = fit(checked, settings, seed=context.seed, report=gate)
        context.device_used = result.device
        if result.state == "pruned":  # the best epoch's metrics go with it
            raise gate.pruned(result.metrics)
        if result.state != "complete":
            raise TrialFailed(result.error or "failed", metrics=result.metrics)
        self.hold(context.number, checked, params, result)  # its weights, for the keeper
        return result.metrics

    # kept checkpoints ----------------------------------------------------------------------
    def hold(self, number: int, checked, params: Mapping[str, Any], result) -> None:
        """Keep a complete trial's weights in memory until it is recorded (``run`` does, and
        the pack runner for each member): written only if it makes the study's best K."""
        if self.settings.keep_best > 0 and result.state_dict is not None:
            self._weights[number] = (result.state_dict, checked, dict(params))

    def take_artifact(self, number: int, metrics: Mapping[str, Any] | None):
        """The checkpoint of trial ``number`` (:mod:`hpsearch.trainer.checkpoint`), written
        only when the keeper keeps it; None when it did not complete here."""
        held = self._weights.pop(number, None)
        if held is None:
            return None
        from hpsearch.storage.artifacts import Artifact

        state_dict, checked, params = held
        settings = self.settings

        def write(path) -> None:
            from hpsearch.trainer.checkpoint import checkpoint_of, save_checkpoint
            from hpsearch.trainer.data import load_dataset

            checkpoint = checkpoint_of(state_dict, checked, load_dataset(settings),
                                       params_dict=params)
            checkpoint.update(trial=number, metrics=dict(metrics or {}))
            save_checkpoint(checkpoint, path)

        return Artifact(".pt", write)


#: The warm-up's model and data: a few rows, a small MLP with every layer kind a trial can
#: have (batch norm, dropout), batches of at least 2 rows (batch norm needs them).
_WARM_ROWS = 32
_WARM_PARAMS = {"n_layers": 2, "hidden_units": 8, "batch_size": 16, "dropout": 0.1,
                "batch_norm": True, "lr_decay": "exponential", "epochs": 1}


def first_use(settings, data) -> None:
    """One epoch of a tiny MLP on a few rows of ``data``, once per optimizer, through the
    trainer's own training run, on ``settings.device`` with its precision and thread setting.

    torch defers much of its start-up to first use: the first optimizer imports
    ``torch._dynamo`` (about a second), the first forward/backward passes set up autograd,
    the kernels and the thread pool, CUDA creates its context. Paid here, they are not part
    of trial 0's duration. The global RNG state is left as it was; a tiny run that fails
    (it cannot: a few rows, one epoch) would fail trial 0 the same way, so only the errors
    every trial would hit (device, precision) are raised.
    """
    import torch

    from hpsearch.trainer import TrialParams
    from hpsearch.trainer.fit import TrainingRun, resolve_device
    from hpsearch.trainer.params import OPTIMIZERS

    device = resolve_device(settings.device)  # ConfigError: every trial would hit it
    precision = settings.precision
    if precision == "fp16" and device.type != "cuda":
        if settings.device != "auto":
            raise ConfigError(f"trainer.precision: 'fp16' needs a CUDA device, not {device}")
        precision = "fp32"  # as fit does (it says so once, at trial 0)
    n = min(_WARM_ROWS, len(data.y_train))
    if n < 2:
        return  # nothing to train on; the first trial says why
    rows = slice(0, n)
    tiny = dataclasses.replace(
        data, X_train=data.X_train[rows], y_train=data.y_train[rows],
        X_val=data.X_val[rows], y_val=data.y_val[rows],
        X_test=data.X_test[:0], y_test=data.y_test[:0])
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(0)
        for optimizer in OPTIMIZERS:
            params = TrialParams.from_mapping({**_WARM_PARAMS, "optimizer": optimizer})
            apply_threads(settings, params)  # the trial's own thread setting
            run = TrainingRun(params, tiny, device, precision, torch.Generator().manual_seed(0),
                              None)
            run.fit(1, 0)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def checked_settings(space):
    """The space's ``[trainer]`` settings, after refusing unknown parameter names, any value a
    parameter can take that the trainer cannot use, and a dataset file that does not exist."""
    from hpsearch.trainer import KNOWN_PARAMS, TrainerSettings

    settings = TrainerSettings.from_dict(
        space.trainer, source=space.source, base_dir=str(space_dir(space)))
    unknown = sorted(set(space.params) - set(KNOWN_PARAMS))
    if unknown:
        raise ConfigError(
            f"{space.source}: params: the built-in trainer does not know "
            f"{', '.join(unknown)}; known: {', '.join(sorted(KNOWN_PARAMS))}")
    _check_space_values(space)
    settings.check_dataset_file(space.source)
    return settings


def load_checked(settings, source: str) -> None:
    """Read, check and split the dataset once, before any trial: a file that cannot be read is
    bad input (:class:`DataError`, exit 2), not a failure of every trial."""
    if settings.dataset_path() is None:
        return  # digits and synthetic: nothing the user can have broken
    from hpsearch.trainer.data import load_dataset

    try:
        load_dataset(settings)
    except DataError as exc:
        raise DataError(f"{source}: trainer.dataset: {exc}") from exc


def apply_threads(settings, params) -> int:
    """Give torch this trial's CPU thread count (``[trainer] threads``, "auto" sized by the
    model: :func:`hpsearch.trainer.threads.resolve_threads`); return it."""
    from hpsearch.trainer.data import load_dataset
    from hpsearch.trainer.threads import model_macs, resolve_threads, set_threads

    data = load_dataset(settings)  # cached: read once per process
    n = resolve_threads(settings.threads, macs=model_macs(params, data.n_features, data.n_classes))
    set_threads(n)
    return n


def evaluate_on_test(space, trial_params: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """Retrain the chosen configuration and evaluate it on the held-out test split.

    The trials of a search never see the test split (nothing can be chosen on it): this is the
    one place it is used, for the configuration the user picked (``hpsearch best --test``).
    Training repeats the trial exactly (same params, same ``seed``, same split; on CPU the same
    weights), then the best epoch's weights are evaluated on the test split.

    Returns the trial's metrics plus ``test_accuracy`` and ``test_loss``.

    Raises
    ------
    ConfigError
        The space's objective is not the built-in trainer, ``test_fraction`` is 0, the params
        are not the trainer's, or training failed (diverged).
    DataError
        The dataset cannot be read.
    """
    from hpsearch.trainer import TrialParams
    from hpsearch.trainer.fit import fit

    if space.objective.get("kind", "builtin") != "builtin":
        raise ConfigError(f"{space.source}: a test split exists only for the built-in trainer "
                          f"(objective.kind is {space.objective.get('kind')})")
    objective = BuiltinObjective.from_space(space)
    settings = objective.settings
    if not settings.test_fraction:
        raise ConfigError(f"{space.source}: trainer.test_fraction: is 0, so there is no test "
                          f"split (set e.g. test_fraction = 0.1 before the search)")
    params = TrialParams.from_mapping(trial_params, source=space.source)
    apply_threads(settings, params)
    result = fit(params, settings, seed=seed, evaluate_test=True)
    if result.state != "complete":
        raise ConfigError(f"retraining for the test split failed: {result.error}")
    return dict(result.metrics)
