"""What `hpsearch run` loads: the run path, not the read commands' modules nor the ORM."""

from __future__ import annotations

import subprocess
import sys

SPACE = """\
[study]
name = "imports"
metric = "loss"
direction = "minimize"
trials = 3
[objective]
kind = "python"
function = "quad:train"
[params]
x = { type = "uniform", low = 0.0, high = 1.0 }
"""

PROBE = """\
import sys
from hpsearch.cli import cli
try:
    cli.main(args=["--db", "sqlite:///i.db", "--quiet", "run", "s.toml"], prog_name="hpsearch")
except SystemExit as exc:
    assert exc.code == 0, exc.code
print(" ".join(sorted(sys.modules)))
"""

NOT_ON_THE_RUN_PATH = (
    "sqlalchemy.orm",            # the tables are Core tables
    "hpsearch.report.front",     # the report package's modules: loaded by report commands
    "hpsearch.report.exports",
    "hpsearch.report.plots",
    "hpsearch.render.tables",    # the read commands' tables
    "hpsearch.launch.slurm",     # job scripts
    "hpsearch.launch.k8s",
)


def test_a_run_loads_no_read_command_module_and_no_orm(tmp_path):
    (tmp_path / "quad.py").write_text("def train(params, report):\n"
                                      "    return {'loss': (params['x'] - 0.3) ** 2}\n")
    (tmp_path / "s.toml").write_text(SPACE)
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, capture_output=True,
                         text=True, check=True)
    loaded = set(out.stdout.split())
    assert "hpsearch.run.loop" in loaded and "sqlalchemy" in loaded  # it did run
    assert sorted(loaded & set(NOT_ON_THE_RUN_PATH)) == []
