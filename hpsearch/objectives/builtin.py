"""``kind = "builtin"``: the PyTorch MLP classifier of :mod:`hpsearch.trainer`."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from hpsearch.errors import ConfigError
from hpsearch.objectives.base import Objective, TrialContext, TrialFailed, space_dir


class BuiltinObjective(Objective):
    kind = "builtin"

    def __init__(self, settings) -> None:
        self.settings = settings

    @classmethod
    def from_space(cls, space, *, device: str | None = None) -> "BuiltinObjective":
        from hpsearch.trainer.config import KNOWN_PARAMS, TrainerSettings

        settings = TrainerSettings.from_dict(
            space.trainer, source=space.source, base_dir=str(space_dir(space)))
        if device is not None:
            settings = dataclasses.replace(settings, device=device)
        unknown = sorted(set(space.params) - set(KNOWN_PARAMS))
        if unknown:
            raise ConfigError(
                f"{space.source}: params: the built-in trainer does not know "
                f"{', '.join(unknown)}; known: {', '.join(sorted(KNOWN_PARAMS))}")
        return cls(settings)

    def run(self, params: Mapping[str, Any], context: TrialContext):
        from hpsearch.trainer import train

        settings = self.settings
        if context.device is not None and context.device != settings.device:
            settings = dataclasses.replace(settings, device=context.device)
        result = train(params, settings, seed=context.seed, report=context.report)
        context.device_used = result.device
        if result.state != "complete":
            raise TrialFailed(result.error or "failed", metrics=result.metrics)
        context.device_used = result.device
        return result.metrics
