"""Issue 22 item 2: a pack member that ends before the pack (its last epoch, early stopping,
divergence) is recorded when it ends, not when the pack does: a signal later in the pack does
not re-run it, and with ``[trainer] keep_best`` its checkpoint is kept if it is among the best."""

from __future__ import annotations

import pytest

import hpsearch
from hpsearch.errors import Interrupted
from hpsearch.run import RunOptions, run_study
from hpsearch.space import load_space
from hpsearch.storage.artifacts import ArtifactFolder, artifact_folder

SPACE = """
[study]
name = "early"
metric = "val_accuracy"
direction = "maximize"
sampler = "grid"
trials = 2
seed = 3
[objective]
kind = "builtin"
[trainer]
dataset = "digits"
patience = 10
device = "cpu"
keep_best = 2
[params]
epochs = { type = "choice", values = [1, 6] }
learning_rate = 0.05
n_layers = 1
hidden_units = 16
optimizer = "sgd"
batch_size = 64
"""


@pytest.mark.slow
def test_a_member_that_ends_first_is_recorded_then_and_keeps_its_checkpoint(project):
    db = f"sqlite:///{project}/h.db"
    path = project / "proj" / "early.toml"
    path.write_text(SPACE)
    seen: list[tuple[str, int, int | None]] = []

    def on_event(ev) -> None:
        seen.append((ev.kind, ev.trial.number, ev.step))
        if ev.kind == "step" and ev.step == 3:  # the long member, mid-pack: Ctrl-C
            raise KeyboardInterrupt

    storage = hpsearch.open_storage(db)
    with pytest.raises(Interrupted):
        run_study(storage, load_space(path), RunOptions(pack=2), on_event=on_event)
    study = storage.get_study("early")
    trials = {t.number: t for t in storage.trials(study, best_first=False)}
    short = next(n for n, t in trials.items() if t.params["epochs"] == 1)
    long = next(n for n, t in trials.items() if t.params["epochs"] == 6)
    assert trials[short].state == "complete" and trials[short].note.startswith("packed with")
    assert trials[long].state == "interrupted"
    # recorded as it ended: before the other member's second epoch
    assert seen.index(("end", short, None)) < seen.index(("step", long, 2))
    files = ArtifactFolder(artifact_folder(db, study)).files()
    assert set(files) == {short}  # among the best two: its checkpoint kept
    storage.dispose()
