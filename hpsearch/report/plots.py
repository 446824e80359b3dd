"""Plots for people who would rather look than read: `hpsearch report STUDY --plot DIR`.

Two PNG files: ``history.png`` (each trial's value by number coloured by round, where each
refine round starts, and the best so far over every trial) and
``params.png`` (the value against every numeric or choice parameter, on the parameter's own
scale: log axes with readable labels for log-scaled parameters, 1-x on a log axis for
``log_one_minus``, choices jittered so that their trials do not hide each other). matplotlib
is imported here only (``pip install hpsearch[plot]``), with the Agg backend: no display needed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from hpsearch.errors import ConfigError, StudyError
from hpsearch.report.html_data import StudyStats

if TYPE_CHECKING:
    from hpsearch.storage import StudyRecord, TrialRecord

__all__ = ["write_plots", "ROUND_MARKERS"]

#: The history's marker of round 1, 2, ... (with matplotlib's colours C0, C1, ...).
ROUND_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def write_plots(trials: Sequence[TrialRecord], study: StudyRecord, out_dir: Path, *,
                history: Sequence[Any] | StudyStats | None = None) -> list[Path]:
    """Write ``history.png`` and ``params.png`` for ``trials`` into ``out_dir``; return the paths.

    ``history``: every trial of the study (default: ``trials``), as records or rows with
    ``number``, ``round``, ``state`` and ``value``, or already gathered as a
    :class:`~hpsearch.report.html_data.StudyStats`: the running best is drawn over them, so
    ``--top`` shows the best trials against the study's real progress.

    Raises
    ------
    StudyError
        No completed trial among ``trials``: nothing to draw (rather than empty axes).
    """
    try:
        import matplotlib
    except ImportError as exc:
        raise ConfigError("--plot needs matplotlib: pip install 'hpsearch[plot]'") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hpsearch.space import Space

    done = _completed(trials)
    if not done:
        raise StudyError(f"study {study.name!r} has no completed trial with a value"
                         f"{' among the selected ones' if history is not None else ''}: "
                         "nothing to plot yet")
    out_dir.mkdir(parents=True, exist_ok=True)
    space = Space.from_dict(study.space, source=study.source or "<stored>")
    paths = [out_dir / "history.png", out_dir / "params.png"]

    if not isinstance(history, StudyStats):
        rows = _completed(history) if history is not None else done
        history = StudyStats.collect(((t.number, t.round, t.state, t.value, None, None)
                                      for t in rows), maximize=study.maximize)
    fig, ax = plt.subplots(figsize=(7, 4))
    _draw_history(ax, done, history, study)
    fig.tight_layout()
    fig.savefig(paths[0], dpi=110)
    plt.close(fig)

    names = [p.name for p in space.params.values() if p.searchable]
    cols = min(3, max(1, len(names)))
    n_rows = max(1, math.ceil(len(names) / cols))
    # constrained layout keeps the figure's title, the panels' titles and tick labels apart
    # however many parameters there are (tight_layout let a 17-parameter figure overlap).
    fig, axes = plt.subplots(n_rows, cols, figsize=(4.2 * cols, 3.2 * n_rows), squeeze=False,
                             layout="constrained")
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, names):
        param = space.params[name]
        pts = [(t.params[name], t.value) for t in done
               if name in t.params and t.value is not None]  # done: all have a value
        _scatter_param(ax, param, pts)
        ax.set_title(name, fontsize=10)
        ax.set_ylabel(study.metric, fontsize=8)
        ax.tick_params(labelsize=8)
    fig.suptitle(f"{study.name}: {study.metric} against each parameter")
    fig.savefig(paths[1], dpi=110)
    plt.close(fig)
    return paths


def _completed(trials: Sequence[TrialRecord]) -> list[TrialRecord]:
    return sorted((t for t in trials if t.state == "complete" and t.value is not None
                   and not math.isnan(t.value)), key=lambda t: t.number)


def _draw_history(ax, done: list[TrialRecord], everyone: StudyStats, study: StudyRecord) -> None:
    """Each shown trial's value coloured (and marked) by round, a dashed line where each later
    round starts, and the running best over every trial of the study (``everyone``)."""
    from matplotlib.ticker import MaxNLocator

    rounds = sorted({t.round for t in done} | set(everyone.rounds))
    for r in rounds:
        mine = [t for t in done if t.round == r]
        if mine:
            # A colour and a marker per round: the rounds stay apart in grey print too.
            k = (r - 1) % len(ROUND_MARKERS)
            ax.scatter([t.number for t in mine], [t.value for t in mine], s=16,
                       color=f"C{k}", marker=ROUND_MARKERS[k],
                       label=f"round {r}" if len(rounds) > 1 else "trial")
    for r in rounds[1:]:
        first = everyone.rounds[r].first if r in everyone.rounds else None
        if first is not None:
            ax.axvline(first - 0.5, color=f"C{(r - 1) % len(ROUND_MARKERS)}", linestyle="--",
                       linewidth=0.8)
            ax.annotate(f"round {r}", (first - 0.5, 1), xycoords=("data", "axes fraction"),
                        xytext=(3, -12), textcoords="offset points", fontsize=8, color="grey")
    xs, best = everyone.best_so_far  # where the best changed, and the last complete trial
    ax.step(xs, best, where="post", color="tab:red", label="best so far (all trials)")
    ax.set_xlabel("trial")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(study.metric)
    total = everyone.n_complete
    shown = f"{len(done):,} complete" if len(done) == total else \
        f"{len(done):,} of {total:,} complete shown"
    ax.set_title(f"{study.name}: {study.direction} {study.metric} ({shown})")
    ax.legend(loc="best", fontsize=8)


def _log_x(ax, values: Sequence[float], low: float | None = None, high: float | None = None) -> None:
    """A log x axis with readable labels: decades, or 1-2-5 steps on a short range, written
    as plain numbers (0.001, 0.02) rather than 10^-3 and without the crowded minor labels."""
    from matplotlib.ticker import FixedLocator, NullFormatter

    from hpsearch.report.html_data import log_ticks

    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())
    pos = [v for v in values if v > 0]
    lo = min([v for v in (low, high) if v is not None and v > 0] + pos, default=None)
    hi = max([v for v in (low, high) if v is not None and v > 0] + pos, default=None)
    if lo is None or hi is None or not hi > lo:
        return
    ticks, labels = log_ticks(lo, hi)
    if ticks:
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.set_xticks(ticks, labels)


def _scatter_param(ax, param, pts: list[tuple[Any, float]]) -> None:
    if param.kind == "choice":
        import random

        labels = [str(v) for v in param.values]
        index = {str(v): i for i, v in enumerate(param.values)}
        for v, _ in pts:  # values of an edited space stay visible
            if str(v) not in index:
                index[str(v)] = len(labels)
                labels.append(str(v))
        # Jitter: many trials share each choice; spread them so the cloud shows its density.
        rng = random.Random(0)
        ax.scatter([index[str(v)] + rng.uniform(-0.18, 0.18) for v, _ in pts],
                   [y for _, y in pts], s=12, alpha=0.7)
        ax.set_xticks(range(len(labels)), labels, fontsize=8)
        ax.set_xlim(-0.5, len(labels) - 0.5)
        return
    # The space's own name of the scale (what `validate` shows): log, log(1-x), log int, ...
    scale = param.describe()["scale"]
    if scale == "log(1-x)":
        xs = [1 - v for v, _ in pts]
        ax.scatter(xs, [y for _, y in pts], s=12)
        _log_x(ax, xs, 1 - param.high, 1 - param.low)
        ax.set_xlabel(f"1 - {param.name} (log)", fontsize=8)
        return
    xs = [v for v, _ in pts]
    ax.scatter(xs, [y for _, y in pts], s=12)
    if scale.startswith("log"):
        _log_x(ax, xs, param.low, param.high)
