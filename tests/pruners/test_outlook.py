"""What share of the trials a pruner lets finish, said up front (issue 22, item 14):
`run --sampler auto --pruner asha` on the python example completed 2 of 20 trials unannounced."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hpsearch.cli import cli
from hpsearch.pruners import PrunerSettings
from hpsearch.pruners.outlook import finishing_share, pruner_outlook

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python_objective" / "space.toml"


@pytest.mark.parametrize("kind, settings, steps, share", [
    ("none", PrunerSettings(), 10, 1.0),
    ("asha", PrunerSettings(), 2, 1 / 3),                       # judged at step 1
    ("asha", PrunerSettings(), 3, 1 / 9),                       # at 1 and at its last step 3
    ("asha", PrunerSettings(max_resource=9), 9, 1 / 9),         # 1, 3; not at its budget 9
    ("asha", PrunerSettings(reduction_factor=4, min_resource=2), 8, 1 / 16),
    ("hyperband", PrunerSettings(max_resource=9), 9, (9 / 9 + 5 / 3 + 3) / 17),
    ("median", PrunerSettings(), 10, None),
])
def test_finishing_share(kind, settings, steps, share):
    got = finishing_share(kind, settings, steps)
    assert got == pytest.approx(share) if share is not None else got is None


def test_outlook_lines():
    assert pruner_outlook("asha", PrunerSettings(), 20) == (
        "pruner asha (reduction factor 3, rungs at steps 1, 3, 9, 27): a trial reporting 1-2 "
        "steps runs to the end 1 time in 3, 3-8 steps 1 in 9, 9-26 steps 1 in 27, 27+ steps 1 in "
        "81; of 20 trials about 7, 2, 1 or 0 complete, the rest are pruned")
    assert pruner_outlook("asha", PrunerSettings(max_resource=9), 90) == (
        "pruner asha: about 11 % of trials run to the end (to step 9); at 90 trials about 10 "
        "complete, the rest are pruned")
    assert pruner_outlook("median", PrunerSettings(), 20) is None
    assert pruner_outlook("none", PrunerSettings(), 20) is None


def test_run_and_validate_say_it_before_any_trial(tmp_path):
    space = tmp_path / "space.toml"
    space.write_text(EXAMPLE.read_text().replace('sampler = "random"',
                                                 'sampler = "random"\npruner = "asha"'))
    (tmp_path / "sgd_digits.py").write_text((EXAMPLE.parent / "sgd_digits.py").read_text())
    result = CliRunner().invoke(cli, ["validate", str(space), "--sample", "0"])
    assert result.exit_code == 0, result.output
    assert "pruner asha (reduction factor 3, rungs at steps 1, 3, 9, 27)" in result.output
    # run --pruner on a file without one: the note comes first, on stderr (--trials 1 to end
    # quickly).
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path}/h.db", "run",
                                      str(EXAMPLE), "--pruner", "asha", "--trials", "1",
                                      "--study", "o"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0].endswith(
        "note: pruner asha (reduction factor 3, rungs at steps 1, 3, 9, 27): a trial reporting "
        "1-2 steps runs to the end 1 time in 3, 3-8 steps 1 in 9, 9-26 steps 1 in 27, 27+ steps "
        "1 in 81; of 1 trial about 0, 0, 0 or 0 complete, the rest are pruned")
