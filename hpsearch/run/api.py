"""The entry points of a run: a study from its space file, a study joined by name, one round.

:func:`run_study` creates or resumes the study of a space file
(:func:`~hpsearch.run.studies.prepare_study`, which refuses a space that changed under it) and
runs trials until the round's target, ``add`` more trials, or the timeout, in this process
(:func:`~hpsearch.run.loop.work`) or in several worker processes
(:func:`~hpsearch.run.pool.run_parallel`). :func:`join_study` works on an existing study
without its space file (``hpsearch worker``).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from hpsearch.objectives import check_objective, make_objective
from hpsearch.run.loop import work
from hpsearch.run.options import RunOptions
from hpsearch.run.pack_auto import pack_setting
from hpsearch.run.pool import run_parallel
from hpsearch.run.pruning import check_pruner
from hpsearch.run.records import RunSummary, TrialEvent
from hpsearch.run.studies import RoundStart, prepare_study, round_start
from hpsearch.space import Space
from hpsearch.storage import RoundRecord, Storage, StudyRecord

OnEvent = Callable[[TrialEvent], None]


def run_study(
    storage: Storage, space: Space, options: RunOptions = RunOptions(), *,
    name: str | None = None, trials: int | None = None, seed: int | None = None,
    on_event: OnEvent | None = None, evolve: bool = False,
    on_start: Callable[[RoundStart], None] | None = None,
) -> RunSummary:
    """Run trials of the study of ``space`` (created or resumed; see the module docstring).

    ``name``, ``trials`` and ``seed`` override the file's ``[study]`` values. With
    ``options.workers > 1`` that many worker processes run, pinned round robin to
    ``options.devices``. ``options.max_concurrent`` stops claiming while that many trials of
    the study run (in any process, on any machine); a run that finds the study full returns
    at once with ``stopped == "busy"``.

    The objective is checked, and set up (and released) when the run has no worker processes,
    before the study is created or updated, so wrong ``[objective]``/``[trainer]`` settings, and
    an objective or constraint on a metric the objective never reports, raise without writing
    anything. ``evolve``: a changed space starts a new round
    (:func:`~hpsearch.run.studies.evolve_study`).
    ``on_start`` is called once the round is known, before any trial, with a
    :class:`~hpsearch.run.studies.RoundStart` (what changed, what the model learns from).
    """
    # The settings, and every objective and constrained metric the objective can report
    # (builtin: a constraint on a metric it never reports would fail every trial).
    check_objective(space)
    if options.workers == 1:
        # Set up here so that its errors come before anything is written. The workers import
        # the objective themselves; importing a user's module (and maybe torch and a CUDA
        # context) in the parent as well would only cost memory.
        make_objective(space, device=options.device or options.first_device).close()
    pack_setting(space, options.pack)  # --pack with a command objective: exit 2, nothing written
    check_pruner(space, options.pruner)  # hyperband with no max_resource: the same
    if options.pruner is not None:  # stored with the study: `hpsearch worker` prunes alike
        space = with_pruner(space, options.pruner)
    study, round_ = prepare_study(storage, space, name=name, sampler=options.sampler, seed=seed,
                                  trials=trials, evolve=evolve)
    if on_start is not None:  # [evolve] the change and the carried history, for the CLI
        on_start(round_start(storage, study, round_, space, sampler=options.sampler))
    return run_round(storage, study, round_, options, file_space=space, on_event=on_event)


def with_pruner(space: Space, name: str) -> Space:
    """``space`` with ``[study] pruner = name`` (``run --pruner``): the study stores it as it
    stores the file's, so workers joining without the file (:func:`join_study`) use it."""
    d = space.to_dict()
    return Space.from_dict({**d, "study": {**d["study"], "pruner": name}}, source=space.source)


def join_study(
    storage: Storage, name: str, options: RunOptions = RunOptions(), *,
    on_event: OnEvent | None = None,
) -> RunSummary:
    """Work on the latest round of an existing study, with no space file: the round's stored
    space (objective and trainer settings included) says what to run. For ``hpsearch worker``
    on another machine. ``options.sampler`` is ignored: the round's sampler runs."""
    study = storage.get_study(name)
    round_ = storage.latest_round(study.id)
    return run_round(storage, study, round_, dataclasses.replace(options, sampler=None),
                     file_space=None, on_event=on_event)


def run_round(
    storage: Storage, study: StudyRecord, round_: RoundRecord, options: RunOptions = RunOptions(),
    *, file_space: Space | None = None, on_event: OnEvent | None = None,
) -> RunSummary:
    """:func:`~hpsearch.run.loop.work` in this process, or in ``options.workers`` processes
    when there are several."""
    if options.workers > 1:
        return run_parallel(storage, study, round_, options, file_space=file_space,
                            on_event=on_event)
    return work(storage, study, round_, dataclasses.replace(options, device=options.first_device),
                file_space=file_space, on_event=on_event)


__all__ = ["run_study", "join_study", "run_round", "with_pruner"]
