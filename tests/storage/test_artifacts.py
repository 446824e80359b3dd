"""Issue 27: the kept-artifact folder: atomic writes (a writer SIGKILLed mid-write leaves no
partial file), exactly the best K kept, where the folder is, keep_best checked at load."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from hpsearch.errors import ConfigError
from hpsearch.storage.artifacts import (Artifact, ArtifactFolder, Keeper, artifact_folder,
                                        keep_best_of)
from support.runs import wait_until

#: A child process that takes the folder's lock and writes trial-1.pt slowly: 1 MiB, then a
#: marker file saying it is mid-write, then it waits to be killed.
SLOW_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from hpsearch.storage.artifacts import Artifact, ArtifactFolder

    folder = ArtifactFolder(Path(sys.argv[1]))

    def write(path):
        with open(path, "wb") as f:
            f.write(b"N" * (1 << 20))
            f.flush()
            Path(sys.argv[2]).write_text("mid-write")
            time.sleep(600)

    with folder.locked():
        folder.write(1, Artifact(".pt", write))
""")


def test_a_writer_killed_mid_write_leaves_the_old_file_whole_and_no_partial_one(tmp_path):
    folder = ArtifactFolder(tmp_path / "kept")
    with folder.locked():
        folder.write(1, Artifact(".pt", lambda p: p.write_bytes(b"OLD")))
    marker = tmp_path / "marker"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(folder.path), str(marker)],
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_until(marker.exists, proc=proc, timeout=60, what="the writer mid-write")
        temps = [p for p in folder.path.iterdir() if p.name.startswith(".tmp-")]
        assert len(temps) == 1 and temps[0].stat().st_size == 1 << 20  # really mid-write
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    # The kept name still holds the whole old file; the new one never appeared half-written.
    assert (folder.path / "trial-1.pt").read_bytes() == b"OLD"
    assert set(folder.files()) == {1}
    # The dead writer's temporary file is removed by the next holder of the lock.
    with folder.locked():
        folder.prune({1})
    assert sorted(p.name for p in folder.path.iterdir()) == [".lock", "trial-1.pt"]


def test_the_lock_excludes_another_process(tmp_path):
    folder = ArtifactFolder(tmp_path / "kept")
    code = ("import sys; from pathlib import Path; "
            "from hpsearch.storage.artifacts import ArtifactFolder\n"
            "with ArtifactFolder(Path(sys.argv[1])).locked():\n"
            "    Path(sys.argv[2]).write_text('in')\n")
    marker = tmp_path / "in"
    with folder.locked():
        proc = subprocess.Popen([sys.executable, "-c", code, str(folder.path), str(marker)])
        # The child cannot get in while we hold the lock (it is alive and has not written).
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=1.5)
        assert not marker.exists()
    assert proc.wait(timeout=60) == 0 and marker.exists()


def test_prune_keeps_exactly_the_given_trials(tmp_path):
    folder = ArtifactFolder(tmp_path)
    with folder.locked():
        for n in range(5):
            folder.write(n, Artifact(".pt", lambda p, n=n: p.write_text(str(n))))
        folder.write(2, Artifact("-model.bin", lambda p: p.write_text("bin")))
        assert folder.prune({1, 2}) == [0, 3, 4]
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "trial-1.pt", "trial-2-model.bin"]
    assert folder.file_of(2) == tmp_path / "trial-2-model.bin"


def test_keep_best_is_checked_with_one_line(tmp_path):
    assert keep_best_of({}) == 1
    assert keep_best_of({"trainer": {"keep_best": 0}}) == 0
    for bad in (-1, 1.5, True, "2", 10**6):
        with pytest.raises(ConfigError) as info:
            keep_best_of({"trainer": {"keep_best": bad}}, "s.toml")
        assert str(info.value).startswith("s.toml: trainer.keep_best: ")
        assert "\n" not in str(info.value)


def test_the_folder_is_beside_sqlite_or_where_the_study_says(tmp_path):
    from hpsearch.storage import StudyRecord

    def study(space, name="dig/1"):
        return StudyRecord(1, name, "m", "maximize", "random", 0, space,
                           str(tmp_path / "proj" / "space.toml"), 0.0)

    db = f"sqlite:///{tmp_path}/runs/h.db"
    assert artifact_folder(db, study({})) == tmp_path / "runs" / "h-artifacts" / "dig_1"
    assert artifact_folder("postgresql://u@h/db", study({})) == (
        tmp_path / "proj" / "hpsearch-artifacts" / "dig_1")
    rel = study({"study": {"artifacts": "kept"}}, name="d")
    assert artifact_folder(db, rel) == tmp_path / "proj" / "kept" / "d"
    absolute = study({"study": {"artifacts": str(tmp_path / "abs")}}, name="d")
    assert artifact_folder(db, absolute) == tmp_path / "abs" / "d"


def test_the_keeper_keeps_the_best_k_in_the_order_of_best(tmp_path):
    """Trials recorded in a worst-to-best-to-worst order: the folder always holds the best K
    of what is recorded, ties going where `hpsearch best` sends them (the tie breaker)."""
    import dataclasses

    from hpsearch.storage.db import Storage

    storage = Storage(f"sqlite:///{tmp_path}/h.db")
    space = {"study": {"name": "s", "metric": "acc", "direction": "maximize"},
             "params": {"x": {"type": "uniform", "low": 0.0, "high": 1.0}}}
    study = storage.create_study(name="s", metric="acc", direction="maximize", sampler="random",
                                 seed=0, space=space, source=str(tmp_path / "s.toml"),
                                 target=10)
    round_ = storage.latest_round(study.id)
    keeper = Keeper(storage, study, 2)
    values = [0.5, 0.9, 0.7, 0.9, 0.1]
    losses = [1.0, 0.4, 1.0, 0.2, 1.0]  # trial 3 ties trial 1 on acc, wins on val_loss
    for value, loss in zip(values, losses):
        trial = storage.claim(study, round_, propose=lambda i: {"x": 0.5}, limit=None,
                              worker="w", device=None)
        metrics = {"acc": value, "val_loss": loss}
        storage.finish(trial.id, state="complete", value=value, metrics=metrics)
        rec = dataclasses.replace(trial, state="complete", value=value, metrics=metrics)
        keeper.after_record(rec, Artifact(".pt", lambda p, n=trial.number: p.write_text(str(n))))
    assert keeper.best_numbers() == [3, 1]
    assert sorted(keeper.folder.files()) == [1, 3]
    assert keeper.folder.file_of(3).read_text() == "3"


def _study(tmp_path, space):
    from hpsearch.storage.db import Storage

    storage = Storage(f"sqlite:///{tmp_path}/h.db")
    study = storage.create_study(name="s", metric=space["study"]["metric"] if isinstance(
        space["study"]["metric"], str) else space["study"]["metric"][0], direction="maximize",
        sampler="random", seed=0, space=space, source=str(tmp_path / "s.toml"), target=10)
    return storage, study, storage.latest_round(study.id)


def _record(storage, study, round_, keeper, value, **fields):
    import dataclasses

    trial = storage.claim(study, round_, propose=lambda i: {"x": 0.5}, limit=None, worker="w",
                          device=None)
    storage.finish(trial.id, state="complete", value=value, metrics={}, **fields)
    rec = dataclasses.replace(trial, state="complete", value=value, **fields)
    keeper.after_record(rec, Artifact(".pt", lambda p, n=trial.number: p.write_text(str(n))))
    return trial.number


def test_an_infeasible_trial_is_never_kept(tmp_path):
    """One objective with a constraint: the best K feasible trials, as `best` names them."""
    space = {"study": {"name": "s", "metric": "acc", "direction": "maximize"},
             "constraint": [{"metric": "n", "max": 1.0}],
             "params": {"x": {"type": "uniform", "low": 0.0, "high": 1.0}}}
    storage, study, round_ = _study(tmp_path, space)
    keeper = Keeper(storage, study, 2)
    for value, ok in [(0.5, True), (0.99, False), (0.98, False), (0.7, True), (0.97, False),
                      (0.6, True)]:
        _record(storage, study, round_, keeper, value, feasible=ok)
    assert keeper.best_numbers() == [3, 5]
    assert sorted(keeper.folder.files()) == [3, 5]


def test_several_objectives_keep_the_first_k_fronts_as_they_change(tmp_path):
    """Members of the first K fronts are kept; a trial pushed out by a later one that
    dominates it loses its file; ``keep_best`` counts fronts, not trials."""
    from hpsearch.space.objectives import objectives_of

    space = {"study": {"name": "s", "metric": ["acc", "ms"],
                       "direction": ["maximize", "minimize"]},
             "constraint": [{"metric": "n", "max": 1.0}],
             "params": {"x": {"type": "uniform", "low": 0.0, "high": 1.0}}}
    storage, study, round_ = _study(tmp_path, space)
    keeper = Keeper(storage, study, 1, fronts=objectives_of(space).front_ranks)

    def add(acc, ms, feasible=True):
        return _record(storage, study, round_, keeper, acc, values={"acc": acc, "ms": ms},
                       feasible=feasible)

    a, b, c = add(0.5, 1.0), add(0.8, 2.0), add(0.4, 3.0)   # c: dominated by a at once
    assert sorted(keeper.folder.files()) == [a, b]
    d = add(0.9, 0.5)                                        # dominates a and b
    add(0.99, 0.1, feasible=False)                           # dominates all, but infeasible
    assert sorted(keeper.folder.files()) == [d]
    e = add(0.3, 0.2)                                        # a new end of the front
    assert keeper.best_numbers() == [d, e] and sorted(keeper.folder.files()) == [d, e]
    # K = 2: the front and the second front (a and b again have no file: theirs is gone)
    two = Keeper(storage, study, 2, fronts=objectives_of(space).front_ranks)
    assert two.best_numbers() == [d, e, a, b]
    assert c not in two.best_numbers()
