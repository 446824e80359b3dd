"""Studies: create one from a space file, or resume it and refuse a space that changed.

A study stores the space file it was created from (round 1) and its absolute path; a later
`run` of the same file resumes it, `refine` and `worker` (which run without the file) read the
stored space back. Settings that do not change what a trial means (the objective's module path,
trainer device or epochs) follow the file; parameters, metric and direction may not change once
trials exist, because old and new trials would not be comparable — unless the study
*evolves* (``run --evolve``, or ``[study] on_change = "evolve"``): then the file's space becomes
a new round (:func:`evolve_study`, rule ``{"kind": "evolve", "changes": [...]}``), the study's
stored space follows the file, and the round's model learns from the earlier trials that fit
(:mod:`hpsearch.run.history`). A changed metric, direction or objective kind is refused even
then: the old values would measure something else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpsearch.errors import StudyError
from hpsearch.run.history import is_file_round
from hpsearch.space import MAX_DB_INT, Space
from hpsearch.space.diff import SpaceDiff, diff_spaces
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
    seed: int | None = None, trials: int | None = None, evolve: bool = False,
) -> tuple[StudyRecord, RoundRecord]:
    """Create the study of ``space`` or resume it; return it and the round to run in.

    Resuming refuses with :class:`StudyError` when the file's parameters, metric or direction
    differ from the stored ones, unless the study has no trials yet (an earlier attempt that
    ran none): then the file's space replaces the stored one. With ``evolve`` (or the file's
    ``[study] on_change = "evolve"``) changed parameters start a new round instead
    (:func:`evolve_study`); a changed metric, direction or objective kind is still refused.
    ``trials`` (or the file's ``trials``) becomes the target of a file's round (round 1, or an
    evolved one) while it is the latest; a refined round keeps the target ``refine`` gave it.
    """
    name = name or space.study.name
    if space.study.warm_start:  # before anything is written: one line, exit 3
        from hpsearch.run.history import check_warm_start

        check_warm_start(storage, list(space.study.warm_start), metric=space.study.metric,
                         direction=space.study.direction, study_name=name)
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
        study = _changed_space(storage, study, space, evolve=evolve, sampler=sampler,
                               seed=seed, trials=trials)
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
    # or an edited [study] sampler while a file's own round (round 1, or evolved) is the latest; a
    # refined round keeps the sampler `refine` gave it unless --sampler says otherwise.
    wanted = sampler or (space.study.sampler if is_file_round(round_) else None)
    if wanted is not None and wanted != round_.sampler:
        log.info("study %s round %d: next trials proposed by %s (was %s)", study.name,
                 round_.number, wanted, round_.sampler)
        storage.set_round_sampler(round_.id, wanted)
        round_ = storage.latest_round(study.id)
    if is_file_round(round_):  # round 1 or an evolved round: the file's target
        target = trials if trials is not None else space.study.trials
        if target != round_.target:
            storage.set_round_target(round_.id, target)
            round_ = storage.latest_round(study.id)
    elif trials is not None and trials != round_.target:
        storage.set_round_target(round_.id, trials)
        round_ = storage.latest_round(study.id)
    return round_


def _changed_space(storage: Storage, study: StudyRecord, space: Space, *, evolve: bool,
                   sampler: str | None, seed: int | None, trials: int | None) -> StudyRecord:
    """The study to resume when the file's space may differ from the stored one: unchanged;
    replaced (no trials yet); evolved (a new round); or refused with :class:`StudyError`."""
    name = study.name
    current = Space.from_dict(study.space, source=study.source)
    changes = space_changes(current, space)
    if not changes:
        return study
    if not storage.counts(study) and storage.latest_round(study.id).number == 1:
        return _replace_space(storage, study, space, sampler=sampler, seed=seed)
    diff = diff_spaces(current, space)
    head = f"{space.source}: the space of study {name!r} changed since its trials ran: "
    if diff.refused:
        raise StudyError(
            head + "; ".join(diff.refused)
            + ". Old values would measure something else, so the study cannot evolve: run it "
              "as a new study (--study NEW-NAME or a new [study] name)")
    if not (evolve or space.study.on_change == "evolve"):
        raise StudyError(
            head + "; ".join(changes)
            + ". Run with --evolve (or set [study] on_change = \"evolve\") to continue in a new "
              "round with the new space, its model learning from the earlier trials that fit; "
              "or run it as a new study (--study NEW-NAME or a new [study] name), or narrow "
              f"the existing one with `hpsearch refine {name}`")
    return evolve_study(storage, study, space, diff, sampler=sampler, trials=trials)


def evolve_study(storage: Storage, study: StudyRecord, space: Space, diff: SpaceDiff, *,
                 sampler: str | None = None, trials: int | None = None) -> StudyRecord:
    """A new round of ``study`` with the file's ``space`` (its changes ``diff`` stored in the
    round's rule); the study's stored space follows the file, so the next run resumes the new
    round and ``refine`` clips to the new bounds. The round's seed is the study's plus its
    number minus one (as refine's), its sampler and target the file's (or ``sampler``,
    ``trials``)."""
    latest = storage.latest_round(study.id)
    stored = space.to_dict()
    if (latest.rule or {}).get("kind") == "evolve" and latest.space == stored:
        return study  # an overlapping run evolved it a moment ago
    number = latest.number + 1
    rule = {"kind": "evolve", "from_round": latest.number, "changes": diff.to_list(),
            "source": _abs_source(space)}
    new = storage.add_round(
        study.id, parent=latest.number, space=stored, rule=rule,
        sampler=sampler or space.study.sampler,
        seed=(study.seed + number - 1) % (MAX_DB_INT + 1),
        target=trials if trials is not None else space.study.trials)
    storage.update_study_settings(study.id, space=stored, source=_abs_source(space))
    log.info("study %s: round %d evolved from round %d (%d parameters changed)", study.name,
             new.number, latest.number, len(diff.params))
    return storage.get_study(study.name)


@dataclass
class ChangePreview:
    """What ``run`` would do with a file whose study exists (``validate`` shows it):
    ``diff`` from the study's stored space (empty: unchanged), whether it would ``evolve``,
    and for a grid how many points would remain to run (None otherwise)."""

    study: str
    diff: SpaceDiff
    evolve: bool
    grid_remaining: int | None = None
    grid_size: int | None = None


def preview_change(storage: Storage, space: Space, *, name: str | None = None,
                   evolve: bool = False) -> ChangePreview | None:
    """The change ``run`` would meet with ``space`` (None: its study does not exist yet).
    Nothing is written."""
    from hpsearch.samplers import make_sampler
    from hpsearch.samplers.history import GridWithout

    study = storage.find_study(name or space.study.name)
    if study is None:
        return None
    diff = diff_spaces(Space.from_dict(study.space, source=study.source), space)
    out = ChangePreview(study=study.name, diff=diff,
                        evolve=bool(diff.params) and not diff.refused
                        and (evolve or space.study.on_change == "evolve"))
    round_ = storage.latest_round(study.id)
    if diff and not out.evolve:
        return out
    if (space.study.sampler if diff or is_file_round(round_) else round_.sampler) != "grid":
        return out
    if diff:  # a new round: the new grid less every point already finished
        grid = make_sampler("grid", space, seed=0)
        done = [t.params for t in storage.trials(study, states=["complete", "pruned"],
                                                 best_first=False)]
        left = GridWithout(grid, done)
        out.grid_size, out.grid_remaining = grid.size, left.size
    else:
        grid = make_sampler("grid", round_space(study, round_, space), seed=0)
        done = [t.params for t in storage.trials(study, states=["complete", "pruned"],
                                                 best_first=False)
                if t.round < round_.number and t.finished_at is not None
                and t.finished_at <= round_.created_at] if round_.number > 1 else []
        size = GridWithout(grid, done).size if done else grid.size
        if size is not None:  # a grid always has a size
            out.grid_size, out.grid_remaining = grid.size, max(0, size - round_.n_claimed)
    return out


@dataclass
class RoundStart:
    """What a run prints before its first trial: the round, the change that made it (an
    evolved round that has not started yet), and what its model learns from."""

    study: str
    round: int
    sampler: str
    changes: list[str]
    memory: list[str]


def round_start(storage: Storage, study: StudyRecord, round_: RoundRecord,
                file_space: Space | None, *, sampler: str | None = None) -> RoundStart:
    """The :class:`RoundStart` of ``round_`` (reads the earlier trials it carries)."""
    from hpsearch.run.history import round_memory

    name = sampler or round_.sampler
    rule = round_.rule or {}
    changes = ([f"{c['name']}: {c['text']}" for c in rule.get("changes", [])]
               if rule.get("kind") == "evolve" and round_.n_claimed == 0 else [])
    space = round_space(study, round_, file_space)
    memory = round_memory(storage, study, round_, space, name).describe(name)
    return RoundStart(study=study.name, round=round_.number, sampler=name, changes=changes,
                      memory=memory)


def with_warm_start(space: Space, names: list[str] | None, top: int | None = None) -> Space:
    """``space`` with ``[study] warm_start`` (and ``warm_start_top``) set, for ``run
    --warm-start``: stored with the study's first round (or an evolved round) when it is made."""
    import dataclasses

    changes: dict[str, Any] = {}
    if names:
        changes["warm_start"] = list(names)
    if top is not None:
        changes["warm_start_top"] = top
    if not changes:
        return space
    d = space.to_dict()
    d["study"] = dataclasses.replace(space.study, **changes).to_dict()
    return Space.from_dict(d, source=str(space.source))


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
                       "artifacts", "on_change")  # kept checkpoints, what a changed file does


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
