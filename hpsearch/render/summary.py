"""The lines a run leaves: one per finished trial, the run's last line, a refined round's.

Each is a plain line (after a timestamp in cron mode: off a terminal, or --quiet), so a cron
log reads as one; :class:`~hpsearch.render.progress.RunProgress` uses the trial lines too.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from hpsearch.render.text import TIME_FORMAT, echo, fmt_seconds, fmt_value, plural, stamped

if TYPE_CHECKING:
    from hpsearch.run import ChangePreview, RoundStart, RunSummary, TrialEvent
    from hpsearch.storage import RoundRecord

__all__ = [
    "step_text", "trial_line", "NOTHING_TO_RUN", "best_text", "echo_run_summary",
    "echo_refined_round", "echo_round_start",
    "echo_change_preview",
]


def step_text(step: int | None, metrics: dict[str, Any] | None) -> str:
    """``step 3: val_loss=0.2134, val_accuracy=0.9611``: what a running trial reported last
    (its validation metrics first, at most three)."""
    metrics = metrics or {}
    keys = sorted(metrics, key=lambda k: not k.startswith("val"))[:3]
    shown = ", ".join(f"{k}={fmt_value(metrics[k])}" for k in keys)
    head = "" if step is None else f"step {step}"
    return f"{head}: {shown}" if head and shown else head or shown


def _model_names() -> frozenset[str]:
    """The samplers that learn from the history (tpe, gp, cmaes): a trial they proposed says
    so on its line; an index sampler's name (random, sobol, grid: every trial of such a study,
    and a model's start-up trials) would only repeat itself, and stays in `show`/`report`."""
    from hpsearch.samplers import SAMPLERS

    return frozenset(n for n, cls in SAMPLERS.items() if cls.uses_history)


def trial_line(ev: TrialEvent) -> str:
    """``[3/8] trial 2 complete value=0.9611 best 0.9722 (1.2s)``: one finished trial; ``by
    tpe`` after it when a model sampler proposed it (``auto``: the model it picked)."""
    t = ev.trial
    total = "" if ev.total is None else f"/{ev.total}"
    state = t.state
    pruned_step = getattr(t, "pruned_step", None)
    if state == "pruned" and pruned_step is not None:
        state = f"pruned at step {pruned_step}"
    parts = [f"[{ev.done}{total}] trial {t.number} {state}"]
    if t.value is not None:
        parts.append(f"value={t.value:.6g}")
    if ev.best_value is not None:
        parts.append(f"best {ev.best_value:.4g}")
    parts.append(f"({fmt_seconds(t.duration)})")
    by = getattr(t, "proposed_by", None)
    if by in _model_names():
        parts.append(f"by {by}")
    line = " ".join(parts)
    if t.error:
        line += f" error: {t.error.splitlines()[0]}"
    return line


#: Why a run that ran no trial had nothing to do, by its ``stopped`` reason.
NOTHING_TO_RUN = {
    "target": "the round has its target (--add N runs N more, --trials N sets a new target)",
    "exhausted": "every point of the grid has run",
}


def _states(summary: RunSummary) -> str:
    return ", ".join(f"{n} {s}" for s, n in sorted(summary.states.items())) or "no trials"


def best_text(summary: RunSummary) -> str:
    """The run's best and the study's best, never one presented as the other: with
    overlapping runs (cron, --add in parallel, other machines) the study's best may be
    another run's trial."""
    own, study = summary.best, getattr(summary, "study_best", None)
    if own is not None and own.value is None:
        own = None
    if study is None or study.value is None:
        return "" if own is None else f"best trial {own.number}: {own.value:.6g}"
    if own is not None and own.number == study.number:
        return f"best trial {own.number}: {own.value:.6g} (the study's best)"
    text = f"study's best: trial {study.number}: {study.value:.6g}"
    if own is not None:
        text = f"this run's best: trial {own.number}: {own.value:.6g}; {text}"
    return text


def given_up_text(given_up: list[tuple[int, str]]) -> str:
    """The study's given-up configurations in a few words: how many, why, their last trials."""
    numbers = ", ".join(str(n) for n, _ in given_up[:10]) + (", ..." if len(given_up) > 10 else "")
    last = given_up[-1][1]
    why = last[last.index("given up "):] if "given up " in last else "given up (stale)"
    return (f"{plural(len(given_up), 'configuration')} {why}, each attempt killed by its "
            f"infrastructure (stale heartbeat, dead worker or run): trial"
            f"{'s' * (len(given_up) > 1)} {numbers}")


def echo_run_summary(summary: RunSummary, *, stamp: bool = False) -> None:
    """The last line of ``run``/``worker`` (after a timestamp when ``stamp``: cron mode); lost
    workers as warnings on stderr."""
    if summary.stopped == "busy" and summary.ran == 0 and summary.busy is not None:
        running, limit = summary.busy
        echo(stamped(f"study {summary.study}: {plural(running, 'trial')} already running "
                     f"(--max-concurrent {limit}); started none", stamp))
        return
    if summary.ran == 0 and summary.stopped in NOTHING_TO_RUN:
        line = (f"study {summary.study} round {summary.round}: nothing to run, "
                f"{NOTHING_TO_RUN[summary.stopped]}; stopped: {summary.stopped}")
    else:
        line = (f"study {summary.study} round {summary.round}: ran {plural(summary.ran, 'trial')} "
                f"({_states(summary)}); stopped: {summary.stopped}")
    if summary.workers > 1:
        line += f"; {summary.workers} workers"
    if summary.stale_recovered:
        numbers = ", ".join(map(str, summary.stale_recovered))
        line += (f"; failed as stale (no heartbeat; retried until [study] max_retries): "
                 f"{numbers}")
    given_up = getattr(summary, "given_up", None)
    if given_up:
        line += f"; {given_up_text(given_up)}"
    best_part = best_text(summary)
    if best_part:
        line += f"; {best_part}"
    elsewhere = getattr(summary, "running_elsewhere", 0)
    if elsewhere:
        line += f"; {plural(elsewhere, 'trial')} still running elsewhere"
        stale_at = getattr(summary, "stale_at", None)
        if stale_at is not None:
            line += (f" (if no heartbeat comes, failed as stale at "
                     f"{time.strftime(TIME_FORMAT, time.localtime(stale_at))} and retried by the "
                     f"next run)")
    startup = getattr(summary, "startup_s", None)
    if startup is not None and summary.ran and startup >= 0.1:
        line += f"; start-up {fmt_seconds(startup)}"
    echo(stamped(line, stamp))
    pack_note = getattr(summary, "pack_note", None)
    if pack_note:
        echo(stamped(pack_note, stamp))
    for lost in summary.lost_workers:
        echo(stamped(f"warning: {lost}", stamp), err=True)


def echo_refined_round(new: RoundRecord, summary: RunSummary, *, stamp: bool = False) -> None:
    """One line per round ``refine`` made and ran (timestamped when ``stamp``)."""
    rule = new.rule or {}
    line = (f"study {summary.study} round {new.number} (from round {rule.get('from_round')}, "
            f"top {plural(rule.get('top') or 0, 'trial')}, {new.sampler}): "
            f"ran {plural(summary.ran, 'trial')} ({_states(summary)})")
    best = getattr(summary, "study_best", None) or summary.best
    if best is not None and best.value is not None:
        line += f"; best so far: trial {best.number}, {best.value:.6g}"
    echo(stamped(line, stamp))


def echo_round_start(start: RoundStart, *, stamp: bool = False) -> None:
    """Before a run's first trial: an evolved round's change, one line per parameter, and what
    its model learns from (nothing when neither applies)."""
    if start.changes:
        echo(stamped(f"study {start.study}: the space changed; round {start.round} "
                           f"evolves with the new space:", stamp))
        for line in start.changes:
            echo(f"  {line}")
    for line in start.memory:
        echo(stamped(f"study {start.study} round {start.round}: {line}", stamp))


def echo_change_preview(preview: ChangePreview) -> None:
    """``validate`` on a file whose study exists: what changed and what ``run`` would do."""
    if not preview.diff:
        echo(f"study {preview.study} exists; its space is unchanged: run resumes it")
    elif preview.diff.refused:
        echo(f"study {preview.study} exists; run would refuse (exit 3): "
                   + "; ".join(preview.diff.refused) + " (a new study is needed)")
    else:
        how = ("run evolves it: a new round with this space, its model learning from the "
               "earlier trials that fit" if preview.evolve else
               "run refuses (exit 3) without --evolve or [study] on_change = \"evolve\"")
        echo(f"study {preview.study} exists and its space changed; {how}:")
        for line in preview.diff.lines():
            echo(f"  {line}")
    if preview.grid_remaining is not None:
        echo(f"grid: {preview.grid_remaining} of {preview.grid_size} points remain to run")
