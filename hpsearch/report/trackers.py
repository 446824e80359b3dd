"""The experiment trackers a study can be exported to: TensorBoard and MLflow.

Each lives in its own module, imported only when asked for, so that hpsearch without the
``tensorboard`` and ``mlflow`` extras imports neither (a test checks ``sys.modules``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hpsearch.storage import Storage

__all__ = ["export_trackers"]


def export_trackers(storage: Storage, name: str, *, tensorboard: str | Path | None = None,
                    mlflow: str | None = None) -> list[str]:
    """Export study ``name`` to the trackers given; one line per export, saying what it did."""
    lines = []
    if tensorboard is not None:
        from hpsearch.report.tensorboard import export_tensorboard

        tb = export_tensorboard(storage, name, tensorboard)
        lines.append(f"wrote {len(tb.runs)} trial runs to {tb.folder}; view them with: "
                     f"tensorboard --logdir {tb.folder}")
    if mlflow is not None:
        from hpsearch.report.mlflow import export_mlflow

        ml = export_mlflow(storage, name, mlflow)
        lines.append(f"logged {len(ml.logged)} trial runs to MLflow at {mlflow} "
                     f"({len(ml.unchanged)} already there; parent run {ml.parent_id})")
    return lines
