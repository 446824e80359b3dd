"""Issue 27: ``[trainer] keep_best = K`` keeps the checkpoints of a study's best K trials;
``best --weights`` hands out the best one; ``hpsearch.load_model`` gives back the model."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

import hpsearch
from hpsearch.run import RunOptions, run_study
from hpsearch.space import load_space
from hpsearch.storage.artifacts import ArtifactFolder, artifact_folder
from support.runs import run_cli

DIGITS = """
[study]
name = "dig"
trials = {trials}
seed = 3
{study}
[trainer]
dataset = "digits"
epochs = 4
device = "cpu"
keep_best = {k}
[params]
learning_rate = {{ type = "log_uniform", low = 0.001, high = 0.1 }}
hidden_units = {{ type = "int", low = 16, high = 48 }}
dropout = {{ type = "uniform", low = 0.0, high = 0.3 }}
{params}
"""


def digits_space(folder, *, trials=6, k=2, study="", params=""):
    path = folder / "space.toml"
    path.write_text(DIGITS.format(trials=trials, k=k, study=study, params=params))
    return path


def kept(db: str, name: str = "dig") -> dict[int, list]:
    storage = hpsearch.open_storage(db, create=False)
    study = storage.get_study(name)
    return ArtifactFolder(artifact_folder(db, study)).files()


def best_k(db: str, k: int, name: str = "dig") -> set[int]:
    from hpsearch.ranking import tie_breaker

    storage = hpsearch.open_storage(db, create=False)
    study = storage.get_study(name)
    tie = tie_breaker(study.space)
    return {t.number for t in storage.iter_trials(
        study, states=["complete"], sort="value", descending=True,
        tie=(tie.metric, tie.descending), limit=k)}


def val_split_raw():
    """The digits validation rows as the trainer splits them (val_fraction 0.2, split_seed 0),
    raw (not standardised)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    _, val = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y, random_state=0)
    val = np.sort(val)
    return X[val], y[val]


@pytest.mark.slow
def test_a_digits_study_keeps_two_and_the_best_reproduces_its_accuracy_exactly(project):
    db = f"sqlite:///{project}/h.db"
    space = load_space(digits_space(project / "proj", trials=8, k=2))
    storage = hpsearch.open_storage(db)
    run_study(storage, space, RunOptions())
    files = kept(db)
    assert len(files) == 2 and set(files) == best_k(db, 2)
    assert all(len(paths) == 1 and paths[0].suffix == ".pt" for paths in files.values())

    out = project / "work" / "model.pt"
    r = run_cli(db, "best", "dig", "--weights", str(out), cwd=project / "work")
    assert r.returncode == 0, r.stderr
    study, best = hpsearch.get_best(storage, "dig")
    assert f"wrote {out} (trial {best.number})" in r.stderr

    model = hpsearch.load_model(out)
    assert isinstance(model, torch.nn.Module) and not model.training
    assert model.trial == best.number and model.params == best.params
    X, y = val_split_raw()
    # The same split the trainer standardised: the stored statistics give its inputs exactly.
    from hpsearch.trainer import TrainerSettings
    from hpsearch.trainer.data import load_dataset

    data = load_dataset(TrainerSettings(dataset="digits"))
    assert np.array_equal(model.standardise(X), data.X_val)
    accuracy = float((model.predict(X) == y).mean())
    assert accuracy == best.metrics["val_accuracy"] == best.value
    assert model.classes == list(range(10))


@pytest.mark.slow
def test_packed_trials_keep_their_members_weights(project):
    db = f"sqlite:///{project}/h.db"
    # One shape (hidden_units, batch_size fixed), so every turn is one pack of 3.
    path = digits_space(project / "proj", trials=6, k=2,
                        params="batch_size = 64\n").read_text()
    path = path.replace('hidden_units = { type = "int", low = 16, high = 48 }', "hidden_units = 32")
    (project / "proj" / "space.toml").write_text(path)
    storage = hpsearch.open_storage(db)
    summary = run_study(storage, load_space(project / "proj" / "space.toml"), RunOptions(pack=3))
    assert summary.ran == 6
    files = kept(db)
    assert set(files) == best_k(db, 2)
    X, y = val_split_raw()
    for number, (file,) in files.items():
        model = hpsearch.load_model(file)
        trial = storage.trial(storage.get_study("dig"), number)
        assert "packed" in (trial.note or "")
        assert float((model.predict(X) == y).mean()) == trial.metrics["val_accuracy"]


@pytest.mark.slow
def test_four_workers_keep_exactly_k(project):
    db = f"sqlite:///{project}/h.db"
    digits_space(project / "proj", trials=16, k=3)
    r = run_cli(db, "run", str(project / "proj" / "space.toml"), "--workers", "4",
                cwd=project / "work", timeout=600)
    assert r.returncode == 0, r.stderr
    assert len(best_k(db, 99)) == 16  # every trial complete
    files = kept(db)
    assert len(files) == 3 and set(files) == best_k(db, 3)
    folder = next(iter(files.values()))[0].parent
    assert not [p for p in folder.iterdir() if p.name.startswith(".tmp-")]


@pytest.mark.slow
def test_keep_best_zero_keeps_nothing_and_best_weights_exits_3(project):
    db = f"sqlite:///{project}/h.db"
    storage = hpsearch.open_storage(db)
    run_study(storage, load_space(digits_space(project / "proj", trials=2, k=0)), RunOptions())
    assert kept(db) == {}
    r = run_cli(db, "best", "dig", "--weights", "m.pt", cwd=project / "work")
    assert r.returncode == 3
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "has no kept checkpoint" in lines[0], r.stderr
    assert not (project / "work" / "m.pt").exists()


@pytest.mark.slow
def test_the_artifacts_setting_moves_the_folder(project):
    db = f"sqlite:///{project}/h.db"
    storage = hpsearch.open_storage(db)
    space = digits_space(project / "proj", trials=3, k=1, study='artifacts = "kept"')
    run_study(storage, load_space(space), RunOptions())
    assert [p.name for p in (project / "proj" / "kept" / "dig").glob("trial-*")] == [
        f"trial-{hpsearch.get_best(storage, 'dig')[1].number}.pt"]
    assert not (project / "h-artifacts").exists()


PYTHON_ARTIFACT = '''
from pathlib import Path

def train(params, report):
    path = Path(f"model-{params['x']:.6f}.bin")
    path.write_text(repr(params["x"]))
    return {"score": params["x"], "artifact": str(path.resolve())}
'''


def test_a_python_objective_keeps_the_file_it_names(project):
    (project / "proj" / "artobj.py").write_text(PYTHON_ARTIFACT)
    (project / "proj" / "space.toml").write_text(
        '[study]\nname = "py"\nmetric = "score"\ntrials = 6\n'
        '[objective]\nkind = "python"\nfunction = "artobj:train"\n'
        '[trainer]\nkeep_best = 2\n'
        '[params]\nx = { type = "uniform", low = 0, high = 1 }\n')
    db = f"sqlite:///{project}/h.db"
    storage = hpsearch.open_storage(db)
    run_study(storage, load_space(project / "proj" / "space.toml"), RunOptions())
    files = kept(db, "py")
    study = storage.get_study("py")
    top = storage.trials(study, states=["complete"], limit=2)
    assert set(files) == {t.number for t in top}
    for t in top:
        (path,) = files[t.number]
        assert path.name.startswith(f"trial-{t.number}-model-")
        assert float(path.read_text()) == t.params["x"]


def test_an_objective_without_artifacts_leaves_no_folder(project):
    (project / "proj" / "plain.py").write_text("def train(params, report):\n"
                                               "    return {'score': params['x']}\n")
    (project / "proj" / "space.toml").write_text(
        '[study]\nname = "plain"\nmetric = "score"\ntrials = 3\n'
        '[objective]\nkind = "python"\nfunction = "plain:train"\n'
        '[params]\nx = { type = "uniform", low = 0, high = 1 }\n')
    storage = hpsearch.open_storage(f"sqlite:///{project}/h.db")
    run_study(storage, load_space(project / "proj" / "space.toml"), RunOptions())
    assert not (project / "h-artifacts").exists()


@pytest.mark.slow
@pytest.mark.postgres
def test_keep_best_on_postgresql_with_two_workers(project, pg_url):
    """A server database has no "beside": the folder is in the space file's folder."""
    space = digits_space(project / "proj", trials=8, k=2)
    r = run_cli(pg_url, "run", str(space), "--workers", "2", cwd=project / "work", timeout=600)
    assert r.returncode == 0, r.stderr
    files = kept(pg_url)
    assert set(files) == best_k(pg_url, 2) and len(files) == 2
    assert next(iter(files.values()))[0].parent == project / "proj" / "hpsearch-artifacts" / "dig"
    r = run_cli(pg_url, "best", "dig", "--weights", "m.pt", cwd=project / "work")
    assert r.returncode == 0, r.stderr
    model = hpsearch.load_model(project / "work" / "m.pt")
    X, y = val_split_raw()
    best = hpsearch.get_best(hpsearch.open_storage(pg_url, create=False), "dig")[1]
    assert model.trial == best.number
    assert float((model.predict(X) == y).mean()) == best.value


def test_a_command_keeps_the_file_its_last_json_line_names(project):
    """A relative path is the command's: relative to the folder it runs in."""
    (project / "proj" / "prog.py").write_text(
        "import json, sys\n"
        "x = float(sys.argv[1])\n"
        "open(f'out-{x:.6f}.txt', 'w').write(str(x))\n"
        "print(json.dumps({'score': x, 'artifact': f'out-{x:.6f}.txt'}))\n")
    (project / "proj" / "space.toml").write_text(
        '[study]\nname = "cmd"\nmetric = "score"\ntrials = 4\n'
        '[objective]\nkind = "command"\nargv = ["' + sys.executable + '", "prog.py", "{x}"]\n'
        '[trainer]\nkeep_best = 1\n'
        '[params]\nx = { type = "uniform", low = 0, high = 1 }\n')
    db = f"sqlite:///{project}/h.db"
    storage = hpsearch.open_storage(db)
    run_study(storage, load_space(project / "proj" / "space.toml"), RunOptions())
    best = hpsearch.get_best(storage, "cmd")[1]
    ((number, (path,)),) = kept(db, "cmd").items()
    assert number == best.number and float(path.read_text()) == best.value


@pytest.mark.parametrize("value, shown", [("-1", "-1"), ("1.5", "1.5"), ("true", "True"),
                                          ('"2"', "'2'"), ("1001", "1001")])
def test_a_bad_keep_best_is_one_line_exit_2(project, invoke, value, shown):
    path = digits_space(project / "proj", k=value)
    r = invoke("validate", path)
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith(
        f"{path}: trainer.keep_best: {shown} must be an integer from 0 to 1000"), r.output
    assert not (project / "h-artifacts").exists()


MO_ARTIFACT = '''
from pathlib import Path

def train(params, report):
    x, y = params["x"], params["y"]
    path = Path(f"model-{x}-{y}.bin")
    path.write_text(f"{x} {y}")
    return {"acc": x, "ms": x * x + 0.5 * y, "n": x, "artifact": str(path.resolve())}
'''


@pytest.mark.parametrize("k, fronts", [(1, {0}), (2, {0, 1})])
def test_several_objectives_keep_the_first_k_feasible_fronts(project, invoke, k, fronts):
    """The grid of tests/support/multi.py without its failed trials: y = 0 is the front,
    y = 1 the second front, x = 0.85 breaks n <= 0.8 (the best accuracy, never kept)."""
    (project / "proj" / "moart.py").write_text(MO_ARTIFACT)
    (project / "proj" / "space.toml").write_text(
        '[study]\nname = "mo"\nmetric = ["acc", "ms"]\ndirection = ["maximize", "minimize"]\n'
        'sampler = "grid"\ntrials = 8\n'
        '[objective]\nkind = "python"\nfunction = "moart:train"\n'
        f'[trainer]\nkeep_best = {k}\n'
        '[[constraint]]\nmetric = "n"\nmax = 0.8\n'
        '[params]\nx = { type = "choice", values = [0.1, 0.3, 0.5, 0.85] }\n'
        'y = { type = "choice", values = [0, 1] }\n')
    db = f"sqlite:///{project}/h.db"
    storage = hpsearch.open_storage(db)
    run_study(storage, load_space(project / "proj" / "space.toml"), RunOptions())
    by_number = {t.number: t for t in storage.trials(storage.get_study("mo"))}
    files = kept(db, "mo")
    assert {(by_number[n].params["x"], by_number[n].params["y"]) for n in files} == {
        (x, y) for x in (0.1, 0.3, 0.5) for y in fronts}
    for n, (path,) in files.items():
        assert path.read_text() == f"{by_number[n].params['x']} {by_number[n].params['y']}"
    # every front member `best --pick` can name has its file
    front = hpsearch.study_front(storage, "mo")
    assert {t.number for t in front.members} <= set(files)
    assert front.pick("ms").number in files and front.pick("acc").number in files
    storage.dispose()
    # `best --pick METRIC --weights`: the picked member's file
    for metric, content in [("ms", "0.1 0"), ("acc", "0.5 0")]:
        r = invoke("best", "mo", "--pick", metric, "--weights", project / f"{metric}.bin")
        assert r.exit_code == 0, r.output
        assert (project / f"{metric}.bin").read_text() == content
