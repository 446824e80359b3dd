"""`report --plot`: two PNG files, with one panel per searchable parameter on its own scale."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("matplotlib")

SPACE = '''
[study]
name = "p"
metric = "score"
trials = 12
[objective]
kind = "python"
function = "plotobj:f"
[params]
lr = { type = "log_uniform", low = 1e-4, high = 1.0 }
beta = { type = "log_one_minus", low = 0.9, high = 0.999 }
n = { type = "int", low = 1, high = 4 }
opt = { type = "choice", values = ["a", "b"] }
fixed = 3
'''


@pytest.fixture
def figures(monkeypatch):
    """What every saved figure showed: its visible axes' titles, x scales, x labels and tick
    labels, and how many points each drew (recorded just before matplotlib writes the file)."""
    from matplotlib.figure import Figure

    saved = {}
    original = Figure.savefig

    def savefig(fig, path, *args, **kwargs):
        fig.canvas.draw()  # tick labels exist once drawn
        saved[path.name] = [
            {"title": ax.get_title(), "xscale": ax.get_xscale(), "xlabel": ax.get_xlabel(),
             "xticks": [t.get_text() for t in ax.get_xticklabels()],
             "points": sum(len(c.get_offsets()) for c in ax.collections)}
            for ax in fig.axes if ax.get_visible()
        ]
        return original(fig, path, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return saved


def test_report_plot_writes_history_and_params_png(project, invoke, figures):
    from matplotlib.image import imread

    (project / "proj" / "plotobj.py").write_text(
        "import math\ndef f(p, r):\n    return -abs(math.log10(p['lr']) + 2)\n")
    (project / "proj" / "space.toml").write_text(SPACE)
    assert invoke("run", project / "proj" / "space.toml").exit_code == 0
    r = invoke("report", "p", "--plot", "plots", "--format", "json")
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.stdout)) == 12
    assert "wrote plots/history.png" in r.stderr and "wrote plots/params.png" in r.stderr

    (history,) = figures["history.png"]
    assert history["title"] == "p: maximize score (12 complete)" and history["points"] == 12
    panels = {ax["title"]: ax for ax in figures["params.png"]}
    assert list(panels) == ["lr", "beta", "n", "opt"]  # searchable ones only: not `fixed`
    assert all(ax["points"] == 12 for ax in panels.values())
    assert panels["lr"]["xscale"] == "log" and panels["n"]["xscale"] == "linear"
    assert panels["beta"]["xscale"] == "log" and panels["beta"]["xlabel"] == "1 - beta (log)"
    assert panels["opt"]["xticks"] == ["a", "b"]

    # 7 x 4 inches and (3 columns x 2 rows of 4.2 x 3.2 inches) at 110 dpi, not blank
    for name, (height, width) in {"history.png": (440, 770), "params.png": (704, 1386)}.items():
        image = imread(project / "work" / "plots" / name)
        assert image.shape[:2] == (height, width)
        assert image[..., :3].std() > 0.05
