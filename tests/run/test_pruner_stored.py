"""Issue 22 item 14: ``run --pruner`` is stored with the study, so ``hpsearch worker`` (which
runs without the space file) prunes with it, without ``--worker-arg=--pruner=...``."""

from __future__ import annotations

import textwrap

from support.runs import trials_of
from support.studies import python_study

from hpsearch.run import RunOptions, join_study, run_study
from hpsearch.run.studies import round_space
from hpsearch.space import load_space
from hpsearch.storage import Storage

# Trials with x < 0.5 report a bad curve: the median pruner stops them once it has a median.
CURVES = '''
def train(params, report):
    for step in range(1, 6):
        if report(step, {"score": params["x"] * step}):
            return {"score": params["x"]}
    return {"score": params["x"]}
'''


def test_run_pruner_is_stored_and_a_worker_uses_it(project, db_url):
    (project / "proj" / "curves.py").write_text(textwrap.dedent(CURVES))
    path = project / "proj" / "space.toml"
    path.write_text(python_study("pr", "curves:train", trials=6, direction="maximize",
                                 study="seed = 2", tables="[pruner]\nmin_resource = 1\n"
                                 "n_startup_trials = 2\n"))
    storage = Storage(db_url)
    try:
        run_study(storage, load_space(path), RunOptions(pruner="median"))
        study = storage.get_study("pr")
        assert study.space["study"]["pruner"] == "median"
        round_ = storage.latest_round(study.id)
        assert round_space(study, round_, None).study.pruner == "median"
        join_study(storage, "pr", RunOptions(add=12))  # a worker: no file, no --pruner
    finally:
        storage.dispose()
    joined = [t for t in trials_of(db_url, "pr").values() if t.number >= 6]
    assert len(joined) == 12 and any(t.state == "pruned" for t in joined)
