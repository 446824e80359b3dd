"""A sweep that evolves: `run --evolve` / `[study] on_change = "evolve"`, the history its model
carries over, warm starts from other studies, grids and random rounds that never repeat."""

from __future__ import annotations

import pytest

from support.runs import run_cli
from support.studies import python_study

from hpsearch import open_storage
from hpsearch.errors import StudyError
from hpsearch.run import RunOptions, preview_change, run_study
from hpsearch.space import load_space

OBJECTIVE = '''
import math

def train(params, report):
    lr, n = params.get("lr", 0.01), params.get("n", 2)
    bonus = {"adam": 0.1, "rmsprop": 0.3}.get(params.get("opt"), 0.0)
    return {"score": -(math.log10(lr) + 2) ** 2 - 0.1 * (n - 3) ** 2 + bonus
                     + params.get("m", 0.0) + params.get("extra", 0.0)}
'''

BASE = ('lr = { type = "log_uniform", low = 1e-4, high = 1e-3 }\n'
        'n = { type = "int", low = 1, high = 4 }\n'
        'opt = { type = "choice", values = ["sgd", "adam"] }\n'
        'm = { type = "uniform", low = 0.0, high = 0.1, when = { opt = "sgd" } }\n'
        'fix = 0.5\n')


def edit(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new)


#: One space per kind of change (each evolves from BASE).
CHANGES = {
    "added": BASE + 'extra = { type = "uniform", low = 0.0, high = 0.2 }\n',
    "removed": edit('n = { type = "int", low = 1, high = 4 }\n', ""),
    "widened": edit("high = 1e-3", "high = 1.0"),
    "narrowed": edit("low = 1, high = 4", "low = 2, high = 3"),
    "moved": edit("low = 1e-4, high = 1e-3", "low = 5e-4, high = 5e-2"),
    "choice added": edit('"sgd", "adam"', '"sgd", "adam", "rmsprop"'),
    "choice dropped": edit('"sgd", "adam"', '"sgd"'),
    "scale": edit('lr = { type = "log_uniform"', 'lr = { type = "uniform"'),
    "fixed value": edit("fix = 0.5", "fix = 0.7"),
    "fixed to searched": edit("fix = 0.5", 'fix = { type = "uniform", low = 0.4, high = 0.6 }'),
    "searched to fixed": edit('n = { type = "int", low = 1, high = 4 }', "n = 3"),
    "condition": edit('when = { opt = "sgd" }', 'when = { opt = "adam" }'),
}


@pytest.fixture
def project(project):
    (project / "proj" / "evobj.py").write_text(OBJECTIVE)
    return project


def url_of(db, project, request):
    return f"sqlite:///{project}/h.db" if db == "sqlite" else request.getfixturevalue("pg_url")


def write(project, params, *, name="ev", trials=4, sampler="random", study="", file="space.toml"):
    path = project / "proj" / file
    path.write_text(python_study(name, "evobj:train", trials=trials, direction="maximize",
                                 study=f'sampler = "{sampler}"\nn_startup_trials = 4\n{study}',
                                 params=params))
    return path


def in_space(space, params) -> bool:
    """Whether ``params`` is a configuration ``space`` could propose."""
    for name, p in space.params.items():
        active = space.is_active(name, params)
        if active != (name in params) or (active and not p.contains(params[name])):
            return False
    return set(params) <= set(space.params)


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
@pytest.mark.parametrize("kind", list(CHANGES))
def test_every_kind_of_change_evolves_into_a_new_round(project, request, db, kind):
    storage = open_storage(url_of(db, project, request))
    run_study(storage, load_space(write(project, BASE)))
    new = load_space(write(project, CHANGES[kind]))
    with pytest.raises(StudyError, match="Run with --evolve"):
        run_study(storage, new)
    assert [r.number for r in storage.rounds(storage.get_study("ev").id)] == [1]
    summary = run_study(storage, new, evolve=True)
    study = storage.get_study("ev")
    rounds = storage.rounds(study.id)
    assert [r.number for r in rounds] == [1, 2] and summary.round == 2 and summary.ran == 4
    assert rounds[1].rule["kind"] == "evolve" and rounds[1].rule["changes"]
    assert rounds[1].space["params"] == new.to_dict()["params"]
    assert study.space["params"] == new.to_dict()["params"]  # the next run resumes round 2
    late = [t for t in storage.trials(study, best_first=False) if t.round == 2]
    assert len(late) == 4 and all(in_space(new, t.params) for t in late)
    again = run_study(storage, new)  # unchanged now: resumes round 2, nothing to run
    assert again.round == 2 and again.ran == 0
    assert len(storage.rounds(study.id)) == 2
    storage.dispose()


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
@pytest.mark.slow
def test_evolve_with_two_workers_and_a_model_that_learns(project, request, db):
    storage = open_storage(url_of(db, project, request))
    run_study(storage, load_space(write(project, BASE, sampler="tpe", trials=8)))
    new = load_space(write(project, CHANGES["widened"], sampler="tpe", trials=6))
    summary = run_study(storage, new, RunOptions(workers=2), evolve=True)
    study = storage.get_study("ev")
    late = [t for t in storage.trials(study, best_first=False) if t.round == 2]
    assert summary.ran == 6 and len(late) == 6 and len({t.number for t in late}) == 6
    # 8 earlier trials carried >= n_startup_trials (4): the model proposes from the first trial
    assert {t.proposed_by for t in late} == {"tpe"}
    storage.dispose()


def test_the_model_of_an_evolved_round_learns_from_the_earlier_trials(project):
    from hpsearch.run.history import remembering_sampler, round_memory
    from hpsearch.run.studies import round_space
    from hpsearch.samplers import make_sampler

    storage = open_storage(f"sqlite:///{project}/h.db")
    run_study(storage, load_space(write(project, BASE, trials=10)))
    new = load_space(write(project, CHANGES["choice added"], sampler="tpe", trials=1))
    summary = run_study(storage, new, evolve=True)
    study = storage.get_study("ev")
    round_ = storage.latest_round(study.id)
    space = round_space(study, round_, new)
    memory = round_memory(storage, study, round_, space, "tpe")
    earlier = [t for t in storage.trials(study, best_first=False) if t.round == 1]
    # every round-1 trial fits (choices were only added): all ten reach the model, in order
    assert memory.earlier.used == 10 and [p for p, _, _ in memory.earlier.trials] == \
        [t.params for t in earlier]
    # index 0 of the round is a TPE proposal (start-up skipped), unlike a cold sampler's Sobol
    late = storage.trials(study, round_=2)
    assert summary.ran == 1 and late[0].proposed_by == "tpe"
    warm = remembering_sampler(make_sampler("tpe", space, seed=round_.seed), memory)
    cold = make_sampler("tpe", space, seed=round_.seed)
    assert warm.propose([], [], index=0).params == late[0].params
    assert cold.propose([], [], index=0).method == "sobol"
    # past the start-up the cold model sees only the round; the warm one also the earlier trials
    assert warm.propose([], [], index=5).params != cold.propose([], [], index=5).params
    storage.dispose()


def test_random_rounds_are_unaffected_and_refine_after_evolve_works(project):
    from hpsearch.refine import refine_study
    from hpsearch.run import run_round

    storage = open_storage(f"sqlite:///{project}/h.db")
    run_study(storage, load_space(write(project, BASE, trials=6)))
    new = load_space(write(project, CHANGES["widened"], trials=6))
    summary = run_study(storage, new, evolve=True)
    study = storage.get_study("ev")
    assert {t.proposed_by for t in storage.trials(study, round_=2)} == {"random"}
    assert summary.ran == 6
    r3 = refine_study(storage, "ev", top=3, trials=3)
    assert r3.number == 3 and r3.parent == 2
    assert run_round(storage, storage.get_study("ev"), r3).ran == 3
    storage.dispose()


def test_refusal_names_the_flag_and_metric_changes_are_refused_even_with_it(project, invoke):
    space = write(project, BASE)
    assert invoke("run", space).exit_code == 0
    write(project, CHANGES["widened"])
    r = invoke("run", space)
    assert r.exit_code == 3 and "--evolve" in r.stderr and "on_change" in r.stderr
    space.write_text(space.read_text().replace('metric = "score"', 'metric = "loss"'))
    r = invoke("run", space, "--evolve")
    assert r.exit_code == 3
    assert "study.metric changed from 'score' to 'loss'" in r.stderr
    assert "cannot evolve" in r.stderr


def test_cli_prints_the_change_first_then_what_the_model_learns(project, invoke):
    space = write(project, BASE, sampler="tpe", trials=6)
    invoke("run", space)
    write(project, CHANGES["widened"] + 'extra = { type = "uniform", low = 0.0, high = 0.2 }\n',
          sampler="tpe", trials=2)
    r = invoke("run", space, "--evolve")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert "round 2 evolves with the new space:" in lines[0]
    assert lines[1] == "  lr: widened [0.0001, 0.001] -> [0.0001, 1]"
    assert lines[2] == "  extra: added (uniform [0, 0.2])"
    # a python objective documents no default for `extra`: no earlier trial fits
    assert "the model learns from 0 earlier trials of this study (6 with an unknown value" in lines[3]


def test_on_change_is_validated(project, invoke):
    space = write(project, BASE, study='on_change = "sometimes"')
    r = invoke("run", space)
    assert r.exit_code == 2
    assert r.stderr.strip().endswith("study.on_change: must be refuse or evolve (got sometimes)")
    assert len(r.stderr.strip().splitlines()) == 1


def test_validate_previews_the_change(project, invoke):
    space = write(project, BASE)
    invoke("run", space)
    write(project, CHANGES["narrowed"])
    r = invoke("validate", space, "--sample", "0")
    assert r.exit_code == 0
    assert "its space changed; run refuses (exit 3) without --evolve" in r.stdout
    assert "  n: narrowed [1, 4] -> [2, 3]" in r.stdout
    write(project, CHANGES["narrowed"], study='on_change = "evolve"')
    assert "run evolves it" in invoke("validate", space, "--sample", "0").stdout


@pytest.mark.slow
def test_a_cron_tick_evolves_an_edited_file(project, db_url):
    space = write(project, BASE, study='on_change = "evolve"', trials=3)
    first = run_cli(db_url, "run", str(space), "--add", "3", cwd=project / "work")
    assert first.returncode == 0, first.stderr
    write(project, CHANGES["choice added"], study='on_change = "evolve"', trials=3)
    second = run_cli(db_url, "run", str(space), "--add", "3", cwd=project / "work")
    assert second.returncode == 0, second.stderr
    assert "  opt: choices added [rmsprop]" in second.stdout
    storage = open_storage(db_url)
    study = storage.get_study("ev")
    assert [r.number for r in storage.rounds(study.id)] == [1, 2]
    assert len(storage.trials(study, round_=2)) == 3
    storage.dispose()


# ------------------------------------------------------------------------------ warm start
def test_warm_start_feeds_the_model_and_runs_the_best_configurations_first(project):
    storage = open_storage(f"sqlite:///{project}/h.db")
    run_study(storage, load_space(write(project, BASE, name="old", trials=10, file="old.toml")))
    old = storage.get_study("old")
    best = [t.params for t in storage.trials(old, states=["complete"])[:2]]
    new = load_space(write(project, CHANGES["widened"], name="new", sampler="tpe", trials=4,
                           study='warm_start = "old"\nwarm_start_top = 2'))
    run_study(storage, new)
    trials = storage.trials(storage.get_study("new"), best_first=False)
    assert [t.params for t in trials[:2]] == best
    assert [t.proposed_by for t in trials] == ["warm-start", "warm-start", "tpe", "tpe"]
    storage.dispose()


@pytest.mark.parametrize("study, message", [
    ('warm_start = ["nope"]', "warm start: no study 'nope' in this database"),
    ('warm_start = ["other"]', "warm start: study 'other' measures score (minimize), this "
                               "study score (maximize)"),
])
def test_warm_start_errors_are_one_line_exit_3_and_write_nothing(project, invoke, study, message):
    other = project / "proj" / "other.toml"
    other.write_text(python_study("other", "evobj:train", trials=1, direction="minimize",
                                  params=BASE))
    assert invoke("run", other).exit_code == 0
    r = invoke("run", write(project, BASE, study=study))
    assert r.exit_code == 3 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "ev" not in invoke("studies").stdout.split()


def test_warm_start_option_of_run(project, invoke):
    invoke("run", write(project, BASE, name="old", trials=6, file="old.toml"))
    r = invoke("run", write(project, BASE, name="new", sampler="tpe", trials=1),
               "--warm-start", "old", "--warm-start-top", "1")
    assert r.exit_code == 0, r.output
    assert "warm start: the model learns from 6 earlier trials" in r.stdout
    assert "warm start: the first 1 trials run the best configurations" in r.stdout


# ------------------------------------------------------------------------------ never repeat
GRID = ('lr = { type = "choice", values = [1e-3, 1e-2] }\n'
        'opt = { type = "choice", values = ["sgd", "adam"] }\n')


def test_grid_resumed_or_evolved_never_reruns_a_finished_point(project, invoke):
    storage = open_storage(f"sqlite:///{project}/h.db")
    space = write(project, GRID, sampler="grid", trials=2)
    run_study(storage, load_space(space))
    run_study(storage, load_space(write(project, GRID, sampler="grid", trials=10)))  # resumed
    new = write(project, GRID.replace('"sgd", "adam"', '"sgd", "adam", "rmsprop"'),
                sampler="grid", trials=10)
    preview = preview_change(storage, load_space(new), evolve=True)
    assert (preview.grid_size, preview.grid_remaining) == (6, 2)
    r = invoke("validate", new, "--sample", "0", "--evolve")
    assert "grid: 2 of 6 points remain to run" in r.stdout
    summary = run_study(storage, load_space(new), evolve=True)
    assert summary.ran == 2 and summary.stopped == "exhausted"
    study = storage.get_study("ev")
    seen = [tuple(sorted(t.params.items())) for t in storage.trials(study, best_first=False)]
    assert len(seen) == 6 == len(set(seen))
    storage.dispose()


SMALL = ('a = { type = "choice", values = ["x", "y", "z"] }\n'
         'i = { type = "int", low = 1, high = 2 }\n'
         'j = { type = "int", low = 1, high = 3 }\n'
         'lr = 0.01\n')


def test_random_round_on_a_small_discrete_space_does_not_repeat_itself(project):
    ran = []
    for name in ("one", "two"):
        storage = open_storage(f"sqlite:///{project}/{name}.db")
        run_study(storage, load_space(write(project, SMALL, trials=18)))
        ran.append([t.params for t in storage.trials(storage.get_study("ev"), best_first=False)])
        storage.dispose()
    keys = [tuple(sorted(p.items())) for p in ran[0]]
    assert len(set(keys)) == 18  # all 18 configurations, none twice
    assert ran[0] == ran[1]  # the same seed and history: the same proposals


# ------------------------------------------------------------------------------ reports
def test_rounds_and_exports_say_what_changed_and_what_the_model_used(project, invoke):
    import csv
    import io

    from hpsearch.report import rounds_overview

    space = write(project, BASE, sampler="tpe", trials=5)
    invoke("run", space)
    write(project, CHANGES["removed"], sampler="tpe", trials=2)
    assert invoke("run", space, "--evolve").exit_code == 0
    storage = open_storage(f"sqlite:///{project}/h.db")
    rounds = rounds_overview(storage, "ev").to_dict()["rounds"]
    storage.dispose()
    assert [r["kind"] for r in rounds] == ["file", "evolve"]
    assert rounds[1]["changes"] == ["n: removed (was int [1, 4])"]
    # n was searched and a python objective documents no default: no trial is comparable
    assert rounds[0]["carried"] is None and rounds[1]["carried"] == 0
    r = invoke("rounds", "ev")
    assert "evolved from 1" in r.stdout and "n: removed" in r.stdout
    assert "0 earlier trials" in r.stdout
    rows = list(csv.DictReader(io.StringIO(invoke("report", "ev", "--format", "csv").stdout)))
    assert sorted({row["round"] for row in rows}) == ["1", "2"]
