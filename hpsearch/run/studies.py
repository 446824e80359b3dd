"""Studies: create one from a space file, or resume it and refuse a space that changed.

A study stores the space file it was created from (round 1) and its absolute path; a later
`run` of the same file resumes it, `refine` and `worker` (which run without the file) read the
stored space back. Settings that do not change what a trial means (the objective's module path,
trainer device or epochs) follow the file; parameters, metric and direction may not change once
trials exist, because old and new trials would not be comparable.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hpsearch.errors import StudyError
from hpsearch.space import Space
from hpsearch.storage import RoundRecord, Storage, StudyRecord

log = logging.getLogger(__name__)


def space_changes(old: Space, new: Space) -> list[str]:
    """What changed between a study's stored space and a file's, in words (empty: nothing that
    makes old trials incomparable). ``trials``, sampler, seed and trainer settings may change."""
    changes = []
    for key in ("metric", "direction"):
        a, b = getattr(old.study, key), getattr(new.study, key)
        if a != b:
            changes.append(f"study.{key} changed from {a!r} to {b!r}")
    old_p, new_p = old.params_dict(), new.params_dict()
    for name in new_p.keys() - old_p.keys():
        changes.append(f"parameter {name!r} was added")
    for name in old_p.keys() - new_p.keys():
        changes.append(f"parameter {name!r} was removed")
    for name in sorted(old_p.keys() & new_p.keys()):
        if old_p[name] != new_p[name]:
            changes.append(f"parameter {name!r} changed from {old_p[name]!r} to {new_p[name]!r}")
    if old.objective["kind"] != new.objective["kind"]:
        changes.append("objective.kind changed")
    return changes


def prepare_study(
    storage: Storage, space: Space, *, name: str | None = None, sampler: str | None = None,
    seed: int | None = None, trials: int | None = None,
) -> tuple[StudyRecord, RoundRecord]:
    """Create the study of ``space`` or resume it; return it and the round to run in.

    Resuming refuses with :class:`StudyError` when the file's parameters, metric or direction
    differ from the stored ones, unless the study has no trials yet (an earlier attempt that
    ran none): then the file's space replaces the stored one. ``trials`` (or the file's
    ``trials``) becomes round 1's target while round 1 is the latest; a refined round keeps the
    target ``refine`` gave it.
    """
    name = name or space.study.name
    study = storage.find_study(name)
    if study is None:
        stored = space.to_dict()
        study = storage.create_study(
            name=name, metric=space.study.metric, direction=space.study.direction,
            sampler=sampler or space.study.sampler,
            seed=space.study.seed if seed is None else seed,
            space=stored, source=_abs_source(space),
            target=trials if trials is not None else space.study.trials)
    else:
        changes = space_changes(Space.from_dict(study.space, source=study.source), space)
        if changes and not storage.counts(study) and storage.latest_round(study.id).number == 1:
            study = _replace_space(storage, study, space, sampler=sampler, seed=seed)
        elif changes:
            raise StudyError(
                f"{space.source}: the space of study {name!r} changed since its trials ran: "
                + "; ".join(changes)
                + f". Old trials would not be comparable: run it as a new study (--study NEW-NAME "
                  f"or a new [study] name), or narrow the existing one with `hpsearch refine {name}`")
        wanted_seed = space.study.seed if seed is None else seed
        if wanted_seed != study.seed:
            # The seed fixes the study's sampler sequence and trial seeds: changing it midway
            # would silently make a resumed study a different one.
            log.warning("study %s keeps its seed %d (asked for %d); use --study NEW-NAME for a "
                        "new seed", name, study.seed, wanted_seed)
        # Settings that do not change what a trial means (device, epochs, the objective's
        # module path...) follow the file, so `refine` and `worker`, which run without it,
        # use what the user last ran with.
        settings = {"objective": space.objective, "trainer": space.trainer}
        source = _abs_source(space)
        if any(study.space.get(k) != v for k, v in settings.items()) or study.source != source:
            storage.update_study_settings(study.id, space=dict(study.space, **settings), source=source)
            study = storage.get_study(name)
    round_ = storage.latest_round(study.id)
    if round_.number == 1:
        target = trials if trials is not None else space.study.trials
        if target != round_.target:
            storage.set_round_target(round_.id, target)
            round_ = storage.latest_round(study.id)
    elif trials is not None and trials != round_.target:
        storage.set_round_target(round_.id, trials)
        round_ = storage.latest_round(study.id)
    return study, round_


def _replace_space(storage: Storage, study: StudyRecord, space: Space, *,
                   sampler: str | None, seed: int | None) -> StudyRecord:
    """Give a study that has no trials the file's space, as if it were created now."""
    storage.reset_empty_study(
        study.id, metric=space.study.metric, direction=space.study.direction,
        sampler=sampler or space.study.sampler,
        seed=space.study.seed if seed is None else seed, space=space.to_dict(),
        source=_abs_source(space))
    log.info("study %s had no trials: its space now follows %s", study.name, space.source)
    return storage.get_study(study.name)


def _abs_source(space: Space) -> str:
    """The space file's absolute path: refine and worker resolve the objective's module and
    relative dataset paths against its folder, wherever they are started from."""
    source = Path(str(space.source))
    return str(source.resolve()) if source.suffix else str(space.source)


def round_space(study: StudyRecord, round_: RoundRecord, file_space: Space | None) -> Space:
    """The space a round samples from; the file's objective and trainer settings win."""
    if file_space is None:
        return Space.from_dict(
            dict(round_.space, objective=study.space.get("objective", {}),
                 trainer=study.space.get("trainer", {})),
            source=study.source or "<stored>")
    stored = Space.from_dict(round_.space, source=study.source or "<stored>")
    return Space.from_dict(
        dict(stored.to_dict(), objective=file_space.objective, trainer=file_space.trainer),
        source=str(file_space.source))
