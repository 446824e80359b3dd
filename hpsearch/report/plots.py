"""Plots for people who would rather look than read: `hpsearch report STUDY --plot DIR`.

Two PNG files: ``history.png`` (each trial's value by number, and the best so far) and
``params.png`` (the value against every numeric or choice parameter, on the parameter's own
scale: log axes for log-scaled parameters, 1-x on a log axis for ``log_one_minus``). matplotlib
is imported here only (``pip install hpsearch[plot]``), with the Agg backend: no display needed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from hpsearch.errors import ConfigError

if TYPE_CHECKING:
    from hpsearch.storage import StudyRecord, TrialRecord

__all__ = ["write_plots"]


def write_plots(trials: Sequence[TrialRecord], study: StudyRecord, out_dir: Path) -> list[Path]:
    """Write ``history.png`` and ``params.png`` for ``trials`` into ``out_dir``; return the paths."""
    try:
        import matplotlib
    except ImportError as exc:
        raise ConfigError("--plot needs matplotlib: pip install 'hpsearch[plot]'") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from hpsearch.space import Space

    out_dir.mkdir(parents=True, exist_ok=True)
    done = sorted((t for t in trials if t.state == "complete" and t.value is not None),
                  key=lambda t: t.number)
    space = Space.from_dict(study.space, source=study.source or "<stored>")
    paths = [out_dir / "history.png", out_dir / "params.png"]

    fig, ax = plt.subplots(figsize=(7, 4))
    xs = [t.number for t in done]
    ys = [t.value for t in done]
    ax.scatter(xs, ys, s=14, label="trial", color="tab:blue")
    best, running = [], None
    for y in ys:
        running = y if running is None else (max(running, y) if study.maximize else min(running, y))
        best.append(running)
    ax.step(xs, best, where="post", color="tab:red", label="best so far")
    ax.set_xlabel("trial")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(study.metric)
    ax.set_title(f"{study.name}: {study.direction} {study.metric} ({len(done)} complete)")
    ax.legend(loc="best")
    fig.tight_layout()
    fig.savefig(paths[0], dpi=110)
    plt.close(fig)

    names = [p.name for p in space.params.values() if p.searchable]
    cols = min(3, max(1, len(names)))
    rows = max(1, math.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, names):
        param = space.params[name]
        pts = [(t.params[name], t.value) for t in done if name in t.params]
        _scatter_param(ax, param, pts)
        ax.set_title(name, fontsize=10)
        ax.set_ylabel(study.metric, fontsize=8)
    fig.suptitle(f"{study.name}: {study.metric} against each parameter")
    fig.tight_layout()
    fig.savefig(paths[1], dpi=110)
    plt.close(fig)
    return paths


def _log_x(ax) -> None:
    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())  # labels at 2x, 3x... collide on a short axis


def _scatter_param(ax, param, pts: list[tuple[Any, float]]) -> None:
    if param.kind == "choice":
        labels = [str(v) for v in param.values]
        index = {str(v): i for i, v in enumerate(param.values)}
        ax.scatter([index[str(v)] for v, _ in pts], [y for _, y in pts], s=12)
        ax.set_xticks(range(len(labels)), labels, fontsize=8)
        return
    # The space's own name of the scale (what `validate` shows): log, log(1-x), log int, ...
    scale = param.describe()["scale"]
    if scale == "log(1-x)":
        ax.scatter([1 - v for v, _ in pts], [y for _, y in pts], s=12)
        _log_x(ax)
        ax.set_xlabel(f"1 - {param.name} (log)", fontsize=8)
        return
    ax.scatter([v for v, _ in pts], [y for _, y in pts], s=12)
    if scale.startswith("log"):
        _log_x(ax)
