"""``kind = "builtin"``: the PyTorch MLP classifier of :mod:`hpsearch.trainer`."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from hpsearch.errors import ConfigError
from hpsearch.objectives.base import Objective, TrialContext, TrialFailed, space_dir


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

    def __init__(self, settings) -> None:
        self.settings = settings

    @classmethod
    def from_space(cls, space, *, device: str | None = None) -> "BuiltinObjective":
        """Check the space for the built-in trainer and prepare; cheap (no torch, no data).

        Refused here, before any trial: unknown parameter names, any value a parameter can take
        that the trainer cannot use (every choice, fixed value, numeric bound and grid point),
        and a dataset file that does not exist (:class:`DataError`; the file is not read).
        """
        from hpsearch.trainer import KNOWN_PARAMS, TrainerSettings

        settings = TrainerSettings.from_dict(
            space.trainer, source=space.source, base_dir=str(space_dir(space)))
        if device is not None:
            settings = dataclasses.replace(settings, device=device)
        unknown = sorted(set(space.params) - set(KNOWN_PARAMS))
        if unknown:
            raise ConfigError(
                f"{space.source}: params: the built-in trainer does not know "
                f"{', '.join(unknown)}; known: {', '.join(sorted(KNOWN_PARAMS))}")
        _check_space_values(space)
        settings.check_dataset_file(space.source)
        return cls(settings)

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
        result = fit(checked, settings, seed=context.seed, report=context.report)
        context.device_used = result.device
        if result.state != "complete":
            raise TrialFailed(result.error or "failed", metrics=result.metrics)
        return result.metrics
