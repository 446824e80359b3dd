"""Every pruner by name: the one registry of pruners (``[study] pruner``, ``run --pruner``)."""

from __future__ import annotations

from hpsearch.names import PRUNER_NAMES, registry
from hpsearch.pruners.asha import AshaPruner
from hpsearch.pruners.base import Pruner
from hpsearch.pruners.hyperband import HyperbandPruner
from hpsearch.pruners.median import MedianPruner
from hpsearch.pruners.none import NonePruner

__all__ = ["PRUNERS"]

PRUNERS: dict[str, type[Pruner]] = registry(
    (NonePruner, MedianPruner, AshaPruner, HyperbandPruner), PRUNER_NAMES)
