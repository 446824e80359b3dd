"""Study and round queries: create, find and list studies; add rounds and read them back."""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any, Callable, Iterator

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from hpsearch.errors import ConfigError, StudyError
from hpsearch.storage.base import StorageBase, storage_errors
from hpsearch.storage.engine import redact_url
from hpsearch.storage.limits import check_ints, name_problem
from hpsearch.ranking import tie_breaker
from hpsearch.storage.records import RoundRecord, StudyRecord, StudySummary, TrialRecord
from hpsearch.storage.tables import ROUND, STUDY, TRIAL, best_row

__all__ = ["StudyQueries"]

log = logging.getLogger(__name__)


class StudyQueries(StorageBase):
    """The studies and rounds of a :class:`~hpsearch.storage.Storage`."""

    # ---------------------------------------------------------------------------- studies
    @storage_errors
    def find_study(self, name: str) -> StudyRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(STUDY).where(STUDY.c.name == name)).mappings().first()
        if row is None:
            return None
        return StudyRecord(**{k: row[k] for k in StudyRecord.__dataclass_fields__})

    @storage_errors
    def get_study(self, name: str) -> StudyRecord:
        study = self.find_study(name)
        if study is None:
            known = self.study_names()
            hint = f"; studies here: {', '.join(known)}" if known else "; the database has no studies"
            raise StudyError(f"no study named {name!r} in {redact_url(self.url)}{hint}")
        return study

    @storage_errors
    def study_names(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(STUDY.c.name).order_by(STUDY.c.id)).scalars())

    @storage_errors
    def create_study(
        self, *, name: str, metric: str, direction: str, sampler: str, seed: int,
        space: dict[str, Any], source: str, target: int,
    ) -> StudyRecord:
        """Create a study and its round 1; if another process created it first, return that one.

        Values one of the supported databases cannot hold (:data:`DB_LIMITS`) are a
        :class:`~hpsearch.errors.ConfigError`, on SQLite as on PostgreSQL."""
        _check_limits(name=name, metric=metric, seed=seed, target=target)
        now = time.time()
        try:
            with self._write() as conn, conn.begin():
                study_id = conn.execute(
                    insert(STUDY).values(
                        name=name, metric=metric, direction=direction, sampler=sampler, seed=seed,
                        space=space, source=source, next_number=0, created_at=now,
                    ).returning(STUDY.c.id)
                ).scalar_one()
                conn.execute(insert(ROUND).values(
                    study_id=study_id, number=1, parent=None, space=space, rule=None,
                    sampler=sampler, seed=seed, target=target, n_claimed=0, created_at=now,
                ))
        except IntegrityError:
            log.debug("study %s was created concurrently", name)
        return self.get_study(name)

    @storage_errors
    def summaries(self) -> list[StudySummary]:
        """One summary per study; ``best_number`` is the best trial as ``best`` and ``report``
        name it: ties on the value go to the study's tie breaker, then to the lowest number."""
        out: list[StudySummary] = []
        tied: list[tuple[int, StudyRecord, float]] = []
        with self.engine.connect() as conn:
            studies = conn.execute(select(STUDY).order_by(STUDY.c.id)).mappings().all()
            counts: dict[int, dict[str, int]] = {}
            for sid, state, n in conn.execute(
                select(TRIAL.c.study_id, TRIAL.c.state, func.count()).group_by(
                    TRIAL.c.study_id, TRIAL.c.state)
            ):
                counts.setdefault(sid, {})[state] = n
            rounds = dict(conn.execute(
                select(ROUND.c.study_id, func.max(ROUND.c.number)).group_by(ROUND.c.study_id)
            ).all())
            for s in studies:
                best = best_row(conn, s["id"], s["direction"])
                c = counts.get(s["id"], {})
                if best is not None and best.value is not None:
                    record = StudyRecord(**{k: s[k] for k in StudyRecord.__dataclass_fields__})
                    tied.append((len(out), record, best.value))
                out.append(StudySummary(
                    name=s["name"], metric=s["metric"], direction=s["direction"],
                    n_trials=sum(c.values()), counts=c,
                    best_value=None if best is None else best.value,
                    best_number=None if best is None else best.number,
                    rounds=rounds.get(s["id"], 1), created_at=s["created_at"],
                ))
        for i, record, value in tied:
            number = self._tied_best_number(record, value)
            if number is not None:
                out[i] = dataclasses.replace(out[i], best_number=number)
        return out

    iter_trials: Callable[..., Iterator[TrialRecord]]  # of TrialStream, beside this in Storage

    def _tied_best_number(self, study: StudyRecord, value: float) -> int | None:
        """Among the complete trials of value ``value``, the number of the one the study's tie
        breaker prefers; None when fewer than two share it or there is no tie breaker."""
        tie = tie_breaker(study.space, setting=getattr(study, "tie_breaker", None))
        if tie is None:
            return None
        first = list(self.iter_trials(study, states=["complete"], value=value, sort="value",
                                      tie=(tie.metric, tie.descending), limit=2))
        return first[0].number if len(first) > 1 else None

    @storage_errors
    def update_study_settings(self, study_id: int, *, space: dict[str, Any], source: str) -> None:
        """Replace the stored space dict (objective/trainer settings) and source path."""
        with self._write() as conn, conn.begin():
            conn.execute(update(STUDY).where(STUDY.c.id == study_id).values(space=space, source=source))

    @storage_errors
    def reset_empty_study(
        self, study_id: int, *, metric: str, direction: str, sampler: str, seed: int,
        space: dict[str, Any], source: str,
    ) -> None:
        """Give a study that has no trial yet a new space (its row and round 1), as if it were
        created now: an earlier `run` that failed before its first trial left it behind."""
        with self._write() as conn, conn.begin():
            self._lock_study(conn, study_id)
            n = conn.execute(select(func.count()).select_from(TRIAL)
                             .where(TRIAL.c.study_id == study_id)).scalar_one()
            if n:
                raise StudyError("the study has trials; its space cannot be replaced")
            conn.execute(update(STUDY).where(STUDY.c.id == study_id).values(
                metric=metric, direction=direction, sampler=sampler, seed=seed, space=space,
                source=source))
            conn.execute(update(ROUND).where(ROUND.c.study_id == study_id, ROUND.c.number == 1)
                         .values(space=space, sampler=sampler, seed=seed))

    # ---------------------------------------------------------------------------- rounds
    @storage_errors
    def rounds(self, study_id: int) -> list[RoundRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(ROUND).where(ROUND.c.study_id == study_id).order_by(ROUND.c.number)
            ).mappings().all()
        return [_round_record(r) for r in rows]

    @storage_errors
    def latest_round(self, study_id: int) -> RoundRecord:
        return self.rounds(study_id)[-1]

    @storage_errors
    def get_round(self, study_id: int, number: int) -> RoundRecord:
        # One row (a model sampler reads its round's counter before every claim).
        hot = self._sqlite_hot_path()
        row: Any  # a mapping of the round's columns, or None
        if hot is not None:
            row = hot.round_row(study_id, number)
        else:
            with self.engine.connect() as conn:
                row = conn.execute(select(ROUND).where(
                    ROUND.c.study_id == study_id, ROUND.c.number == number)).mappings().first()
        if row is not None:
            return _round_record(row)
        rounds = self.rounds(study_id)
        for r in rounds:
            if r.number == number:
                return r
        last = rounds[-1].number
        has = "it has only round 1" if last == 1 else f"its rounds: 1-{last}"
        raise StudyError(f"the study has no round {number} ({has})")

    @storage_errors
    def add_round(
        self, study_id: int, *, parent: int, space: dict[str, Any], rule: dict[str, Any],
        sampler: str, seed: int, target: int,
    ) -> RoundRecord:
        _check_limits(seed=seed, target=target)
        with self._write() as conn, conn.begin():
            number = conn.execute(
                select(func.max(ROUND.c.number)).where(ROUND.c.study_id == study_id)
            ).scalar_one() + 1
            conn.execute(insert(ROUND).values(
                study_id=study_id, number=number, parent=parent, space=space, rule=rule,
                sampler=sampler, seed=seed, target=target, n_claimed=0, created_at=time.time(),
            ))
        return self.get_round(study_id, number)

    @storage_errors
    def set_round_sampler(self, round_id: int, sampler: str) -> None:
        """The sampler the round proposes its next trials with (its past trials keep theirs)."""
        with self._write() as conn, conn.begin():
            conn.execute(update(ROUND).where(ROUND.c.id == round_id).values(sampler=sampler))

    @storage_errors
    def set_round_target(self, round_id: int, target: int) -> None:
        _check_limits(target=target)
        with self._write() as conn, conn.begin():
            conn.execute(update(ROUND).where(ROUND.c.id == round_id).values(target=target))


def _check_limits(*, name: str = "", metric: str = "", seed: int = 0, target: int = 0) -> None:
    """Refuse what PostgreSQL would refuse later (SQLite takes anything): the same study must be
    storable in either database."""
    problem = check_ints([("seed", seed), ("trials", target)])
    if problem is None:
        problem = name_problem(name=name, metric=metric)
    if problem is not None:
        raise ConfigError(problem)


def _round_record(row: Any) -> RoundRecord:
    """A round's record from its row (as a mapping)."""
    return RoundRecord(**{k: row[k] for k in RoundRecord.__dataclass_fields__})
