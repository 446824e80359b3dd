"""hpsearch: hyperparameter search for PyTorch classifiers and any training program."""

from __future__ import annotations

__version__ = "0.1.0"
