"""A small study with two objectives and a constraint whose front is known by hand: the grid
over x in {0.1, 0.3, 0.5, 0.85, 0.97} and y in {0, 1} of acc = x, ms = x² + y/2, n = x.
x = 0.97 reports ms = NaN (failed), x = 0.85 breaks n <= 0.8 (infeasible), y = 0 is the front,
y = 1 the second front."""

from __future__ import annotations

import hpsearch
from hpsearch.space import parse_space

OBJECTIVE = '''
def train(params, report):
    x, y = params["x"], params["y"]
    ms = float("nan") if x > 0.95 else x * x + 0.5 * y
    report(1, {"acc": x / 2, "ms": ms})
    return {"acc": x, "ms": ms, "n": x}
'''

SPACE = '''
[study]
name = "mo"
metric = ["acc", "ms"]
direction = ["maximize", "minimize"]
sampler = "grid"
trials = 10
[objective]
kind = "python"
function = "moobj:train"
[[constraint]]
metric = "n"
max = 0.8
[params]
x = { type = "choice", values = [0.1, 0.3, 0.5, 0.85, 0.97] }
y = { type = "choice", values = [0, 1] }
'''


def run_mo_study(project, workers: int = 1, url: str | None = None):
    (project / "proj" / "moobj.py").write_text(OBJECTIVE)
    space = parse_space(SPACE, source=str(project / "proj" / "mo.toml"))
    storage = hpsearch.open_storage(url or f"sqlite:///{project}/mo.db")
    hpsearch.run_study(storage, space, hpsearch.RunOptions(workers=workers))
    return storage


