"""`report --plot` read back through matplotlib, as a person would look at the figures: the
rounds apart by colour and marker, the best-so-far line over every trial even with --top, log
axes log-scaled with plain-number labels that do not collide, a 17-parameter figure whose
titles and labels never overlap, and a study with no completed trial refused with a message."""

from __future__ import annotations

import math
import random

import pytest

pytest.importorskip("matplotlib")

from hpsearch.space import Space  # noqa: E402
from hpsearch.storage import Storage  # noqa: E402

PARAMS = {
    "lr": {"type": "log_uniform", "low": 1e-4, "high": 1.0},
    "beta": {"type": "log_one_minus", "low": 0.9, "high": 0.999},
    "units": {"type": "int", "low": 8, "high": 512, "log": True},
    "opt": {"type": "choice", "values": ["adam", "sgd"]},
}


def make_study(db_url, params, *, rounds=(20, 10), state="complete", name="s"):
    """A study of ``sum(rounds)`` trials made through the storage, round by round; values are a
    noisy function of lr, so the running best changes many times. Returns the values by trial."""
    spec = {"study": {"name": name, "metric": "score", "direction": "maximize",
                      "sampler": "random", "trials": rounds[0], "seed": 0},
            "objective": {"kind": "python", "function": "m:f"}, "params": params}
    space = Space.from_dict(spec, source="s.toml")
    storage = Storage(db_url)
    study = storage.create_study(name=name, metric="score", direction="maximize",
                                 sampler="random", seed=0, space=space.to_dict(),
                                 source="s.toml", target=rounds[0])
    rng = random.Random(3)
    values = {}
    for k, n in enumerate(rounds):
        rnd = storage.latest_round(study.id) if k == 0 else storage.add_round(
            study.id, parent=k, space=space.to_dict(), rule={"top": 5}, sampler="random",
            seed=k, target=n)
        for _ in range(n):
            t = storage.claim(study, rnd, propose=lambda i: space.from_unit(
                [rng.random() for _ in range(space.dim)]), limit=None, worker="w", device=None)
            if state != "complete":
                storage.finish(t.id, state=state, error="boom")
                continue
            v = -abs(math.log10(t.params["lr"]) + 2) + rng.uniform(0, 0.3) if "lr" in t.params \
                else rng.random()
            storage.finish(t.id, state="complete", value=v, metrics={"score": v})
            values[t.number] = v
    storage.dispose()
    return values


@pytest.fixture
def figures(monkeypatch):
    """Each saved figure by file name, drawn (so that text has its final place), kept open."""
    from matplotlib.figure import Figure

    saved = {}
    original = Figure.savefig

    def savefig(fig, path, *args, **kwargs):
        saved[path.name] = fig
        return original(fig, path, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return saved


def drawn(fig):
    """The renderer of ``fig`` drawn again (pyplot.close() left it a canvas that cannot draw)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def boxes(fig):
    """Every piece of text a reader must be able to read, with its axes: the figure title, each
    panel's title, axis labels and tick labels, as display-space bounding boxes."""
    renderer = drawn(fig)
    out = []
    if fig._suptitle is not None and fig._suptitle.get_text():
        out.append(("suptitle", None, fig._suptitle.get_window_extent(renderer)))
    for k, ax in enumerate(fig.axes):
        if not ax.get_visible():
            continue
        texts = [("title", ax.title), ("xlabel", ax.xaxis.label), ("ylabel", ax.yaxis.label)]
        x0, x1 = sorted(ax.get_xlim())
        y0, y1 = sorted(ax.get_ylim())
        texts += [("xtick", t) for t in ax.get_xticklabels() if x0 <= t.get_position()[0] <= x1]
        texts += [("ytick", t) for t in ax.get_yticklabels() if y0 <= t.get_position()[1] <= y1]
        for kind, t in texts:
            if t.get_visible() and t.get_text():
                out.append((kind, k, t.get_window_extent(renderer)))
    return out


def overlaps(a, b, pad=0.5):
    return (a.x0 + pad < b.x1 and b.x0 + pad < a.x1 and a.y0 + pad < b.y1 and b.y0 + pad < a.y1)


def test_history_marks_rounds_and_draws_the_best_of_all_trials_with_top(db_url, invoke, figures):
    values = make_study(db_url, PARAMS)
    r = invoke("report", "s", "--plot", "plots", "--top", "5", "--format", "json")
    assert r.exit_code == 0, r.output
    (ax,) = [a for a in figures["history.png"].axes if a.get_visible()]
    rounds = {c.get_label(): c for c in ax.collections if c.get_label().startswith("round")}
    assert set(rounds) <= {"round 1", "round 2"} and sum(len(c.get_offsets()) for c in rounds.values()) == 5
    # Every round has its own colour and marker, shown in the legend even when --top left it out.
    legend = {t.get_text() for t in ax.get_legend().get_texts()}
    assert "best so far (all trials)" in legend
    if len(rounds) == 2:
        a, b = rounds["round 1"], rounds["round 2"]
        assert tuple(a.get_facecolor()[0]) != tuple(b.get_facecolor()[0])
        assert not (a.get_paths()[0].vertices.shape == b.get_paths()[0].vertices.shape
                    and (a.get_paths()[0].vertices == b.get_paths()[0].vertices).all())
    (best,) = [line for line in ax.get_lines() if line.get_label().startswith("best so far")]
    numbers = sorted(values)
    running, expected = -math.inf, []
    for n in numbers:
        running = max(running, values[n])
        expected.append(running)
    # A step line (drawn "post") through the change points: read at each trial number, it is
    # the running best of every trial, not only of the top 5; it reaches the last trial.
    xs, ys = list(best.get_xdata()), list(best.get_ydata())
    assert best.get_drawstyle() == "steps-post" and xs[0] == numbers[0] and xs[-1] == numbers[-1]
    read = [ys[max(k for k, x in enumerate(xs) if x <= n)] for n in numbers]
    assert read == pytest.approx(expected)
    assert len(set(expected)) > 3  # the best changed several times: the check means something
    # The start of round 2 is marked where its first trial is.
    assert any(abs(line.get_xdata()[0] - 19.5) < 1e-9 for line in ax.get_lines()
               if line is not best)


def test_rounds_have_distinct_markers_and_colours(db_url, invoke, figures):
    make_study(db_url, PARAMS, rounds=(8, 8, 8))
    assert invoke("report", "s", "--plot", "plots", "--format", "json").exit_code == 0
    (ax,) = [a for a in figures["history.png"].axes if a.get_visible()]
    rounds = [c for c in ax.collections if c.get_label().startswith("round")]
    assert [c.get_label() for c in rounds] == ["round 1", "round 2", "round 3"]
    colours = {tuple(c.get_facecolor()[0]) for c in rounds}
    shapes = {c.get_paths()[0].vertices.tobytes() for c in rounds}
    assert len(colours) == 3 and len(shapes) == 3


@pytest.mark.slow  # over a second: out of `make test-fast`
def test_log_axes_are_log_scaled_with_plain_labels_that_do_not_collide(db_url, invoke, figures):
    make_study(db_url, PARAMS, rounds=(30,))
    assert invoke("report", "s", "--plot", "plots", "--format", "json").exit_code == 0
    fig = figures["params.png"]
    renderer = drawn(fig)
    panels = {ax.get_title(): ax for ax in fig.axes if ax.get_visible()}
    assert list(panels) == ["lr", "beta", "units", "opt"]
    for name in ("lr", "beta", "units"):
        ax = panels[name]
        assert ax.get_xscale() == "log", name
        labels = [t for t in ax.get_xticklabels() if t.get_text()]
        lo, hi = ax.get_xlim()
        inside = [t for t in labels if lo <= t.get_position()[0] <= hi]
        assert len(inside) >= 2, (name, [t.get_text() for t in labels])
        for t in inside:  # plain numbers, not 10^-3 mathtext
            assert "$" not in t.get_text() and float(t.get_text()) > 0, t.get_text()
        ext = [t.get_window_extent(renderer) for t in inside]
        assert not any(overlaps(a, b) for i, a in enumerate(ext) for b in ext[i + 1:]), name
    assert panels["beta"].get_xlabel() == "1 - beta (log)"
    assert [t.get_text() for t in panels["opt"].get_xticklabels()] == ["adam", "sgd"]
    # Choices are jittered: the points of one choice do not all sit on one x.
    xs = [x for x, _ in panels["opt"].collections[0].get_offsets()]
    assert len({round(x, 6) for x in xs}) > 2


@pytest.mark.slow  # over a second: out of `make test-fast`
def test_seventeen_parameters_never_overlap(db_url, invoke, figures):
    params = dict(PARAMS)
    for i in range(13):
        params[f"a_fairly_long_parameter_name_{i}"] = (
            {"type": "log_uniform", "low": 1e-6, "high": 10.0} if i % 3 == 0 else
            {"type": "uniform", "low": -1000.0, "high": 1000.0} if i % 3 == 1 else
            {"type": "choice", "values": ["relu", "gelu", "tanh", "sigmoid"]})
    make_study(db_url, params, rounds=(25,))
    assert invoke("report", "s", "--plot", "plots", "--format", "json").exit_code == 0
    fig = figures["params.png"]
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 17
    texts = boxes(fig)
    clashes = [(k1, a1, k2, a2) for i, (k1, a1, b1) in enumerate(texts)
               for (k2, a2, b2) in texts[i + 1:]
               if a1 != a2 and overlaps(b1, b2)]
    assert clashes == []
    # Titles also stay clear of other panels' plotting areas.
    renderer = drawn(fig)
    for kind, k, box in texts:
        if kind in ("title", "suptitle", "xlabel"):
            for j, ax in enumerate(fig.axes):
                if ax.get_visible() and j != k:
                    assert not overlaps(box, ax.get_window_extent(renderer)), (kind, k, j)


def test_a_study_without_completed_trials_is_a_clear_error(db_url, invoke, project):
    make_study(db_url, PARAMS, rounds=(4,), state="failed")
    r = invoke("report", "s", "--plot", "plots")
    assert r.exit_code == 3
    assert "study 's' has no completed trial" in r.stderr and "nothing to plot" in r.stderr
    assert not (project / "work" / "plots" / "history.png").exists()
