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
    makes old trials incomparable). ``trials``, sampler, seed, trainer settings and the
    followed settings (:data:`FOLLOWED_TABLES`, :data:`FOLLOWED_STUDY_KEYS`: pruner,
    forbidden combinations...) may change."""
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
        # Only a seed the user asks for now: --seed, or a file whose seed was edited since the
        # study stored it. A study created with --seed 3 from a file without a seed is not
        # "asked for 0" on every resume.
        file_seed = (study.space.get("study") or {}).get("seed", space.study.seed)
        wanted_seed = seed if seed is not None else (
            space.study.seed if space.study.seed != file_seed else None)
        if wanted_seed is not None and wanted_seed != study.seed:
            # The seed fixes the study's sampler sequence and trial seeds: changing it midway
            # would silently make a resumed study a different one.
            log.warning("study %s keeps its seed %d (asked for %d); use --study NEW-NAME for a "
                        "new seed", name, study.seed, wanted_seed)
        # Settings that do not change what a trial means (device, epochs, the objective's
        # module path...) follow the file, so `refine` and `worker`, which run without it,
        # use what the user last ran with.
        followed = follow_file(study.space, space.to_dict())
        source = _abs_source(space)
        if followed != study.space or study.source != source:
            storage.update_study_settings(study.id, space=followed, source=source)
            study = storage.get_study(name)
    return study, _round_to_run(storage, study, space, sampler=sampler, trials=trials)


def _round_to_run(storage: Storage, study: StudyRecord, space: Space, *, sampler: str | None,
                  trials: int | None) -> RoundRecord:
    """The study's latest round, with the sampler and target this run asks for."""
    round_ = storage.latest_round(study.id)
    # The sampler may change between runs (it is not part of what a trial means): --sampler,
    # or an edited [study] sampler while the file's own round (round 1) is the latest; a
    # refined round keeps the sampler `refine` gave it unless --sampler says otherwise.
    wanted = sampler or (space.study.sampler if round_.number == 1 else None)
    if wanted is not None and wanted != round_.sampler:
        log.info("study %s round %d: next trials proposed by %s (was %s)", study.name,
                 round_.number, wanted, round_.sampler)
        storage.set_round_sampler(round_.id, wanted)
        round_ = storage.latest_round(study.id)
    if round_.number == 1:
        target = trials if trials is not None else space.study.trials
        if target != round_.target:
            storage.set_round_target(round_.id, target)
            round_ = storage.latest_round(study.id)
    elif trials is not None and trials != round_.target:
        storage.set_round_target(round_.id, trials)
        round_ = storage.latest_round(study.id)
    return round_


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


# Settings that follow the space file on every run (and are kept in the study's stored space
# for `refine` and `worker`, which run without it): they change how trials are run or chosen,
# not what a trial's value means, so old and new trials stay comparable.
FOLLOWED_TABLES = ("objective", "trainer", "pruner", "forbid")
FOLLOWED_STUDY_KEYS = ("pruner", "n_startup_trials", "tie_breaker", "max_consecutive_failures",
                       "artifacts")  # issue 27: the kept checkpoints follow the file


def follow_file(stored: dict, file: dict) -> dict:
    """``stored`` (a space as a dict) with the followed settings of ``file`` (another)."""
    out = {k: v for k, v in stored.items() if k not in FOLLOWED_TABLES}
    out.update({k: file[k] for k in FOLLOWED_TABLES if k in file})
    study = {k: v for k, v in stored.get("study", {}).items() if k not in FOLLOWED_STUDY_KEYS}
    study.update({k: v for k, v in file.get("study", {}).items() if k in FOLLOWED_STUDY_KEYS})
    out["study"] = study
    return out


def round_space(study: StudyRecord, round_: RoundRecord, file_space: Space | None) -> Space:
    """The space a round samples from: its stored parameters, with the followed settings
    (objective, trainer, pruner, forbidden combinations...) of the file, else of the study."""
    follow = study.space if file_space is None else file_space.to_dict()
    source = (study.source or "<stored>") if file_space is None else str(file_space.source)
    stored = dict(round_.space)
    forbid = follow.get("forbid")
    # A refined round may lack values a file's [[forbid]] names: its rules are kept where they
    # can still match (Space.with_forbid), not checked as if they were the round's own.
    space = Space.from_dict(dict(follow_file(stored, follow), forbid=[]), source=source)
    return space.with_forbid(forbid) if forbid else space


def create_study(storage: Storage, space: Space, *, name: str | None = None,
                 trials: int | None = None, seed: int | None = None,
                 sampler: str | None = None) -> tuple[StudyRecord, RoundRecord]:
    """Create (or resume and retarget) the study of ``space`` without running a trial
    (``hpsearch create``, before workers start elsewhere). The objective's settings are
    checked first, as :func:`~hpsearch.run.run_study` does, so nothing is written for a
    file whose objective cannot run."""
    from hpsearch.objectives import check_objective

    check_objective(space)
    return prepare_study(storage, space, name=name, sampler=sampler, seed=seed, trials=trials)
