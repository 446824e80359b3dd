"""``hpsearch best STUDY --weights model.pt``: the kept checkpoint of the best trial.

The checkpoints themselves are kept by the run (:mod:`hpsearch.storage.artifacts`); this only
finds the best trial's and copies it out.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hpsearch.storage import Storage, StudyRecord, TrialRecord

__all__ = ["write_best_weights"]


def write_best_weights(storage: Storage, name: str, dest: str | Path, *,
                       pick: str | None = None) -> tuple[StudyRecord, TrialRecord, Path]:
    """Copy the kept file of study ``name``'s best trial (the one ``hpsearch best`` shows; with
    ``pick``, the front member best in that objective, as ``best --pick``) to ``dest``,
    atomically; return the study, the trial and the path written.

    Raises :class:`~hpsearch.errors.StudyError` (exit 3) when the study has no complete trial
    or the best one's file was not kept (``keep_best = 0``, or a study run before it existed);
    :class:`~hpsearch.errors.ConfigError` when ``pick`` is not an objective.
    """
    from hpsearch.report.select import get_best
    from hpsearch.storage.artifacts import copy_kept, kept_file

    if pick is None:
        study, trial = get_best(storage, name)
    else:
        from hpsearch.report.front import study_front

        front = study_front(storage, name)
        study, trial = front.study, front.pick(pick)
    source = kept_file(storage, study, trial.number)
    return study, trial, copy_kept(source, dest)
