"""`report --plot`: real PNG files with the expected panels."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner

from hpsearch.cli import cli

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


def test_report_plot_writes_history_and_params_png(tmp_path, monkeypatch):
    (tmp_path / "plotobj.py").write_text("import math\ndef f(p, r):\n    return -abs(math.log10(p['lr']) + 2)\n")
    (tmp_path / "space.toml").write_text(SPACE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "plotobj", raising=False)
    db = f"sqlite:///{tmp_path}/h.db"
    assert CliRunner().invoke(cli, ["--db", db, "run", "space.toml"]).exit_code == 0
    r = CliRunner().invoke(cli, ["--db", db, "report", "p", "--plot", "plots", "--format", "json"])
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.stdout)) == 12
    assert "wrote plots/history.png" in r.stderr and "wrote plots/params.png" in r.stderr
    from matplotlib.image import imread

    for name in ("history.png", "params.png"):
        data = (tmp_path / "plots" / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        image = imread(tmp_path / "plots" / name)
        assert image.shape[0] > 200 and image.shape[1] > 400
        assert image[..., :3].std() > 0.05  # not a blank canvas
