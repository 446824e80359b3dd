"""`import hpsearch`: the library API of the README, loaded lazily, and a study without the CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest

import hpsearch


def test_importing_the_cli_loads_no_heavy_module():
    code = ("import sys, hpsearch, hpsearch.cli\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'torch', 'sqlalchemy', 'rich', 'numpy', 'scipy', 'sklearn', 'matplotlib'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_public_name_resolves():
    missing = [name for name in hpsearch.__all__ if getattr(hpsearch, name, None) is None]
    assert missing == []
    assert hpsearch.StudyBusy.__mro__[1] is hpsearch.HpsearchError
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        hpsearch.nope  # noqa: B018


def test_a_study_from_python_as_in_the_readme(project):
    (project / "proj" / "quad.py").write_text(
        "def train(params, report):\n    return {'loss': (params['x'] - 0.3) ** 2}\n")
    (project / "proj" / "quad.toml").write_text(
        '[study]\nname = "quad"\nmetric = "loss"\ndirection = "minimize"\ntrials = 6\nseed = 2\n'
        '[objective]\nkind = "python"\nfunction = "quad:train"\n'
        '[params]\nx = { type = "uniform", low = 0.0, high = 1.0 }\n')
    url = f"sqlite:///{project}/nb.db"
    with pytest.raises(hpsearch.StudyError, match="no database at"):
        hpsearch.open_storage(url, create=False)
    storage = hpsearch.open_storage(url)
    space = hpsearch.load_space(project / "proj" / "quad.toml")
    summary = hpsearch.run_study(storage, space, hpsearch.RunOptions(add=4))
    assert (summary.study, summary.ran, summary.states) == ("quad", 4, {"complete": 4})
    new = hpsearch.refine_study(storage, "quad", top=3, trials=2)
    assert new.number == 2
    summary = hpsearch.join_study(storage, "quad")
    assert (summary.round, summary.ran) == (2, 2)
    selection = hpsearch.select_trials(storage, "quad", top=2)
    values = [t.value for t in selection.trials]
    assert values == sorted(values) and values[0] == summary.best.value
    assert selection.counts == {"complete": 6}
