"""What changed in a study since a cursor: the rows ``hpsearch serve`` sends to open pages.

A :class:`StudyWatch` remembers the highest trial number it has seen and the numbers of the
study's unfinished trials (running, queued, interrupted: the next run takes it again). One refresh is one short read transaction: the
trials numbered above the highest, and the unfinished ones again (``number > N OR number IN
(...)``, on the study's ``(study_id, number)`` index): a new trial, or one that completed, was
pruned, failed or was retried, gets the next sequence number. A page asks for everything after
its cursor, so it receives only the rows that changed, however big the study. Refreshes are
shared by every page that watches the study and happen at most every ``min_interval`` seconds.

Besides the rows: the running trials with their heartbeat age and latest reported step, the
workers as ``hpsearch launch status`` tells them (alive while one of their running trials has
a heartbeat younger than ``stale_after``), the rounds table and the trial counts (one grouped
query, only when something changed).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from hpsearch.launch.status import WorkerStatus
from hpsearch.report.html import cells, rounds_cells, states_text, trial_row
from hpsearch.report.rounds import round_carried
from hpsearch.report.html_data import RoundStats, param_axes
from hpsearch.report.html_live import live_trial
from hpsearch.storage.tables import STEP, TRIAL, TRIAL_COLUMNS, trial_record

__all__ = ["StudyWatch", "UNFINISHED"]

#: States a trial can still leave: an interrupted trial is run again under its number.
UNFINISHED = ("running", "queued", "interrupted")
_CHUNK = 500  # numbers per IN (...) list
_SHOWN_WORKERS = 20


@dataclass
class _Worker:
    finished: int = 0
    last_seen: float | None = None
    running: list[tuple[int, float | None]] = field(default_factory=list)


class StudyWatch:
    """The changes of one study, for every page that shows it."""

    def __init__(self, storage: Any, name: str, *, stale_after: float = 120.0,
                 min_interval: float = 0.5) -> None:
        self.storage = storage
        self.name = name
        self.stale_after = stale_after
        self.min_interval = min_interval
        self.epoch = secrets.token_hex(4)  # a cursor of another server (a restart) resets
        self.study = storage.get_study(name)
        self.axes = param_axes(self.storage_space())
        self._lock = threading.Lock()
        self._carried: dict[int, int | None] = {}  # round -> earlier trials its model used
        self._seq = 0
        self._changed: dict[int, tuple[int, dict[str, Any]]] = {}  # number -> (seq, trial)
        self._states: dict[int, str] = {}  # the unfinished trials' states
        self._max = -1
        self._last = 0.0
        self._summary: dict[str, Any] = {}
        self._running: list[dict[str, Any]] = []
        self._workers: dict[str, _Worker] = {}
        self._start()

    def storage_space(self) -> Any:
        from hpsearch.space import Space

        return Space.from_dict(self.study.space, source=self.study.source or "<stored>")

    # ---------------------------------------------------------------------------- reads
    def _start(self) -> None:
        sid = self.study.id
        with self.storage.engine.connect() as conn:
            top = conn.execute(select(func.max(TRIAL.c.number)).where(TRIAL.c.study_id == sid)).scalar()
            self._max = -1 if top is None else int(top)
            for number, state in conn.execute(select(TRIAL.c.number, TRIAL.c.state).where(
                    TRIAL.c.study_id == sid, TRIAL.c.state.in_(UNFINISHED))):
                self._states[number] = state
            done = TRIAL.c.state.in_(("complete", "pruned", "failed"))
            for worker, n, last in conn.execute(
                    select(TRIAL.c.worker, func.count(), func.max(TRIAL.c.finished_at))
                    .where(TRIAL.c.study_id == sid, TRIAL.c.worker.is_not(None), done)
                    .group_by(TRIAL.c.worker)):
                self._workers[worker] = _Worker(finished=int(n), last_seen=last)
        self._last = 0.0
        self.refresh(force=True)

    def refresh(self, *, force: bool = False) -> None:
        """Read what changed since the last refresh (at most every ``min_interval`` s)."""
        with self._lock:
            now = time.monotonic()
            if not force and now - self._last < self.min_interval:
                return
            self._last = now
            sid = self.study.id
            numbers = sorted(self._states)
            changed = False
            with self.storage.engine.connect() as conn:
                rows = []
                # New trials, and the unfinished ones again, a chunk of numbers at a time.
                for k in range(0, max(1, len(numbers)), _CHUNK):
                    part = numbers[k:k + _CHUNK]
                    where = TRIAL.c.number > self._max
                    if part:
                        where = or_(where, TRIAL.c.number.in_(part))
                    if k > 0:
                        where = TRIAL.c.number.in_(part)
                    rows += conn.execute(select(*TRIAL_COLUMNS).where(
                        TRIAL.c.study_id == sid, where).order_by(TRIAL.c.number)).all()
                records = {r.number: trial_record(r) for r in rows}
                for number in sorted(records):
                    t = records[number]
                    if number <= self._max and self._states.get(number) == t.state:
                        continue  # still running (or queued): the running panel has its step
                    self._seq += 1
                    self._changed[number] = (self._seq, live_trial(
                        t, self.axes, trial_row(t), cells(t.params)))
                    changed = True
                    if t.state in UNFINISHED:
                        self._states[number] = t.state
                    else:
                        self._states.pop(number, None)
                        if t.worker:
                            w = self._workers.setdefault(t.worker, _Worker())
                            w.finished += 1
                            seen = t.finished_at or t.started_at
                            if seen is not None and (w.last_seen is None or seen > w.last_seen):
                                w.last_seen = seen
                    self._max = max(self._max, number)
                running = [records[n] for n in sorted(self._states) if n in records
                           and records[n].state == "running"]
                self._running = self._running_rows(conn, running)
                if changed or not self._summary:
                    self._summary = self._summarize(conn)

    def _running_rows(self, conn: Any, running: list[Any]) -> list[dict[str, Any]]:
        latest: dict[int, tuple[int, dict[str, Any]]] = {}
        ids = [t.id for t in running]
        if ids:
            last = (select(STEP.c.trial_id, func.max(STEP.c.step).label("step"))
                    .where(STEP.c.trial_id.in_(ids)).group_by(STEP.c.trial_id).subquery())
            for tid, step, metrics in conn.execute(
                    select(STEP.c.trial_id, STEP.c.step, STEP.c.metrics).join(last, and_(
                        STEP.c.trial_id == last.c.trial_id, STEP.c.step == last.c.step))):
                latest[tid] = (step, metrics or {})
        for w in self._workers.values():
            w.running = []
        out = []
        for t in running:
            step, metrics = latest.get(t.id, (None, {}))
            value = metrics.get(self.study.metric) if isinstance(metrics, dict) else None
            out.append({"n": t.number, "round": t.round, "worker": t.worker, "heartbeat": t.heartbeat,
                        "step": step, "last": value if isinstance(value, (int, float))
                        and not isinstance(value, bool) else None})
            if t.worker:
                self._workers.setdefault(t.worker, _Worker()).running.append((t.number, t.heartbeat))
        return out

    def _summarize(self, conn: Any) -> dict[str, Any]:
        sid, maximize = self.study.id, self.study.maximize
        complete = and_(TRIAL.c.state == "complete", TRIAL.c.value.is_not(None))
        value = case((complete, TRIAL.c.value))
        stats: dict[int, RoundStats] = {}
        counts: dict[str, int] = {}
        for rnd, state, n, first, lo, hi in conn.execute(
                select(TRIAL.c.round, TRIAL.c.state, func.count(), func.min(TRIAL.c.number),
                       func.min(value), func.max(value))
                .where(TRIAL.c.study_id == sid).group_by(TRIAL.c.round, TRIAL.c.state)):
            counts[state] = counts.get(state, 0) + int(n)
            st = stats.setdefault(rnd, RoundStats())
            st.trials += int(n)
            st.first = first if st.first is None else min(st.first, first)
            if state == "complete":
                st.complete += int(n)
                best = hi if maximize else lo
                if best is not None and (st.best is None or (best > st.best if maximize else best < st.best)):
                    st.best = best
        rounds = self.storage.rounds(sid)
        for r in rounds:  # what a round's model used is fixed when it starts: asked once
            if r.number not in self._carried:
                self._carried[r.number] = round_carried(self.storage, self.study, r)
        total = sum(counts.values())
        return {"rounds": rounds_cells(rounds, stats, self._carried), "total": total,
                "trials_text": f"{total:,}: {states_text(counts)}"}

    # ---------------------------------------------------------------------------- answers
    def cursor(self) -> str:
        """Where a page built now starts asking from."""
        with self._lock:
            return f"{self.epoch}.{self._seq}"

    def changes(self, since: str, *, studies: list[str] | None = None,
                now: float | None = None) -> dict[str, Any]:
        """The answer to a page at cursor ``since``: the trials changed after it, the running
        trials, the workers, the rounds and counts, the new cursor. A cursor of another
        server (or a malformed one) answers ``reset``: the page reloads."""
        self.refresh()
        now = time.time() if now is None else now
        epoch, _, seq = since.partition(".")
        with self._lock:
            if epoch != self.epoch or not seq.isdigit() or int(seq) > self._seq:
                return {"reset": True, "cursor": f"{self.epoch}.{self._seq}"}
            after = int(seq)
            trials = sorted((t for s, t in self._changed.values() if s > after), key=lambda t: t["n"])
            running = [{**r, "age": None if r["heartbeat"] is None else max(0.0, now - r["heartbeat"])}
                       for r in self._running]
            return {"cursor": f"{self.epoch}.{self._seq}", "trials": trials, "running": running,
                    "workers": self._worker_rows(now), **self._summary,
                    **({"studies": studies} if studies is not None else {})}

    def _worker_rows(self, now: float) -> list[dict[str, Any]]:
        from hpsearch.launch.identity import parse_worker

        out = []
        for name, w in self._workers.items():
            beats = [hb for _, hb in w.running if hb is not None]
            age = max(0.0, now - max(beats)) if beats else None
            status = "done" if not w.running else (
                "alive" if age is not None and age <= self.stale_after else "stale")
            ident = parse_worker(name)
            out.append(WorkerStatus(worker=name, host=ident.host if ident else None,
                                    pid=ident.pid if ident else None,
                                    scheduler=ident.scheduler if ident else None,
                                    job=ident.job if ident else None,
                                    task=ident.task if ident else None, status=status,
                                    running=[n for n, _ in w.running], heartbeat_age=age,
                                    finished=w.finished, last_seen=w.last_seen))
        order = {"alive": 0, "stale": 1, "done": 2}
        out.sort(key=lambda w: (order[w.status], -(w.last_seen or 0.0), w.worker))
        return [{"worker": w.worker, "status": w.status, "running": len(w.running),
                 "age": w.heartbeat_age, "finished": w.finished} for w in out[:_SHOWN_WORKERS]]
