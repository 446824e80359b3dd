"""The built-in trainer's warm-up (issue 12, item 10): torch's first-use costs (the optimizer's
``torch._dynamo`` import, autograd, kernels, the thread pool) are the run's start-up, so trial
0's recorded duration is like the others' on a space where every trial is the same."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import textwrap

import pytest

from hpsearch.objectives.builtin import BuiltinObjective
from hpsearch.space import parse_space

SPACE = '''
[study]
name = "same"
metric = "val_accuracy"
direction = "maximize"
trials = 4
[objective]
kind = "builtin"
[trainer]
dataset = "digits"
epochs = 2
[params]
learning_rate = 0.01
hidden_units = 32
optimizer = "adam"
'''

# In a fresh interpreter: the test process has paid torch's first-use costs long ago.
SCRIPT = textwrap.dedent('''
    import json, sys
    from hpsearch.run import RunOptions, run_study
    from hpsearch.space import parse_space
    from hpsearch.storage import Storage

    storage = Storage(sys.argv[1])
    summary = run_study(storage, parse_space(sys.argv[2], source=sys.argv[3]),
                        RunOptions(device="cpu"))
    trials = storage.trials(storage.get_study("same"), best_first=False)
    print(json.dumps({"startup_s": summary.startup_s,
                      "durations": [t.duration for t in trials],
                      "states": [t.state for t in trials]}))
''')


def run_fresh(tmp_path) -> dict:
    url = f"sqlite:///{tmp_path / 'warm.db'}"
    out = subprocess.run([sys.executable, "-c", SCRIPT, url, SPACE, str(tmp_path / "s.toml")],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


@pytest.mark.slow  # over a second: out of `make test-fast`
def test_trial_0_is_not_slower_than_the_others_on_an_all_fixed_space(tmp_path):
    got = run_fresh(tmp_path)
    assert got["states"] == ["complete"] * 4
    first, rest = got["durations"][0], got["durations"][1:]
    # Before the warm-up trained anything, trial 0 took ~1 s more than the others (0.02 s
    # each here): the optimizer's first use imported torch._dynamo. The margin absorbs a
    # busy machine's noise, not that second.
    assert first < 2 * statistics.median(rest) + 0.3, got
    assert got["startup_s"] > 0, got


def test_warm_up_leaves_the_global_random_state_alone():
    import torch

    objective = BuiltinObjective.from_space(parse_space(SPACE, source="s.toml"), device="cpu")
    torch.manual_seed(123)
    before = torch.get_rng_state()
    objective.warm_up()
    assert torch.equal(torch.get_rng_state(), before)
