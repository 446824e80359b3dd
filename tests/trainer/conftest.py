"""Shared helpers for the trainer tests: small settings that train in a fraction of a second."""

from __future__ import annotations

import pytest

from hpsearch.trainer import TrainerSettings


@pytest.fixture
def digits() -> TrainerSettings:
    """Digits with a short schedule."""
    return TrainerSettings(dataset="digits", epochs=3, patience=3)


@pytest.fixture
def tiny_synthetic() -> TrainerSettings:
    """A 300-sample synthetic problem; one epoch takes milliseconds."""
    return TrainerSettings(dataset="synthetic", n_samples=300, n_features=8, n_classes=3,
                           epochs=3, patience=3)
