"""Model samplers in the run loop, through the CLI: pinned proposals for a seeded history, the
method of each trial stored, a restarted run that continues from the database alone, four
workers that never run the same configuration at once, PostgreSQL."""

from __future__ import annotations

import itertools

import pytest

from support.runs import run_cli, trials_of
from support.studies import python_study

OBJECTIVE = '''
import math, os, time

def train(params, report):
    time.sleep(float(os.environ.get("OBJ_SLEEP", "0")))
    x, y = params["x"], params["y"]
    if isinstance(y, str):
        y = {"a": 0.1, "b": 0.01, "c": 0.001, "d": 1.0}[y]
    return {"loss": (x - 0.3) ** 2 + (math.log10(y) + 1) ** 2}
'''


def space(path, *, sampler, name="m", trials=6, startup=3, params=None):
    params = params or ('x = { type = "uniform", low = 0, high = 1 }\n'
                        'y = { type = "log_uniform", low = 1e-3, high = 1 }\n')
    path.write_text(python_study(name, "obj:train", trials=trials, metric="loss", direction="minimize",
                                 study=f'sampler = "{sampler}"\nn_startup_trials = {startup}\nseed = 3',
                                 params=params))
    (path.parent / "obj.py").write_text(OBJECTIVE)
    return path


def rounded(params):
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in params.items()}


# The model's proposals after three Sobol start-up trials, for seed 3 and this objective:
# printed once and pasted. A change here is a change of behaviour (or of Optuna's samplers).
PINNED = {
    "tpe": [{"x": 0.696822, "y": 0.288096}, {"x": 0.272816, "y": 0.003627},
            {"x": 0.997303, "y": 0.133699}],
    "gp": [{"x": 0.902859, "y": 0.515389}, {"x": 0.515296, "y": 1.0},
           {"x": 0.217531, "y": 0.083453}],
}


@pytest.mark.slow  # over a second: out of `make test-fast`
@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
@pytest.mark.parametrize("sampler", ["tpe", "gp"])
def test_pinned_proposals_for_a_seeded_history(project, request, db, sampler):
    url = f"sqlite:///{project}/h.db" if db == "sqlite" else request.getfixturevalue("pg_url")
    f = space(project / "proj" / "space.toml", sampler=sampler)
    r = run_cli(url, "run", str(f), cwd=project / "work")
    assert r.returncode == 0, r.stderr
    trials = [t for _, t in sorted(trials_of(url, "m").items())]
    assert [t.proposed_by for t in trials] == ["sobol"] * 3 + [sampler] * 3
    got = [rounded(t.params) for t in trials[3:]]
    if PINNED[sampler] is None:
        pytest.fail(f"pin these: {got!r}")
    assert got == PINNED[sampler]


@pytest.mark.slow  # over a second: out of `make test-fast`
def test_auto_says_which_model_it_picked(project, db_url):
    f = space(project / "proj" / "space.toml", sampler="auto", trials=5)
    r = run_cli(db_url, "run", str(f), cwd=project / "work")
    assert r.returncode == 0, r.stderr
    from hpsearch.samplers.auto import pick, round_cost
    from hpsearch.samplers.model import Finished

    trials = [t for _, t in sorted(trials_of(db_url, "m").items())]
    methods = [t.proposed_by for t in trials]
    # Each model trial names the model auto picked for it, from the round's stored durations
    # (issue 25: these trials are fast, so GP's turn at index 3 costs too much: TPE).
    picked = []
    for i in (3, 4):
        before = [Finished(t.params, t.value, t.state, seconds=t.duration,
                           proposed_by=t.proposed_by) for t in trials[:i]]
        seconds, gp = round_cost(before)
        picked.append(pick(i, i, trial_seconds=seconds, gp_proposed=gp))
    assert methods == ["sobol"] * 3 + picked
    assert picked[1] == "tpe" and all(t.duration is not None for t in trials)


@pytest.mark.slow  # over a second: out of `make test-fast`
def test_a_restarted_run_continues_from_the_database_alone(project):
    """Three runs of --add 3, 3, 2 propose exactly what one run of 8 trials proposes."""
    f = space(project / "proj" / "space.toml", sampler="tpe", trials=8)
    once, pieces = f"sqlite:///{project}/once.db", f"sqlite:///{project}/pieces.db"
    assert run_cli(once, "run", str(f), cwd=project / "work").returncode == 0
    for n in (3, 3, 2):
        r = run_cli(pieces, "run", str(f), "--add", str(n), cwd=project / "work")
        assert r.returncode == 0, r.stderr
    a, b = trials_of(once, "m"), trials_of(pieces, "m")
    assert [(t.params, t.proposed_by) for t in a.values()] == \
           [(t.params, t.proposed_by) for t in b.values()]
    assert len(a) == 8 and a[7].proposed_by == "tpe"


@pytest.mark.slow
def test_four_workers_never_run_the_same_configuration_at_once(project, db_url):
    """A small discrete space (40 points) where the model, without the running trials as
    pending points, would propose the same optimum to several workers at once."""
    params = ('x = { type = "int", low = 0, high = 9 }\n'
              'y = { type = "choice", values = ["a", "b", "c", "d"] }\n')
    f = space(project / "proj" / "space.toml", sampler="tpe", trials=20, startup=4,
              params=params)
    r = run_cli(db_url, "run", str(f), "--workers", "4", cwd=project / "work",
                env={"OBJ_SLEEP": "0.5"}, timeout=300)
    assert r.returncode == 0, r.stderr
    trials = list(trials_of(db_url, "m").values())
    assert len(trials) == 20 and all(t.state == "complete" for t in trials)
    assert len({t.worker for t in trials}) > 1
    overlapping = [(a, b) for a, b in itertools.combinations(trials, 2)
                   if a.started_at < b.finished_at and b.started_at < a.finished_at]
    assert overlapping, "the workers never ran trials at the same time"
    same = [(a.number, b.number, a.params) for a, b in overlapping if a.params == b.params]
    assert not same


def test_a_fit_prepared_outside_the_lock_is_used_only_for_the_history_it_saw(project, db_url):
    """The loop fits before the claim; under the lock the claim reuses that fit only when the
    index and the history are those it was made for. Another worker's claim in between makes
    it fit again, on the history that includes the other trial as pending."""
    from hpsearch.run import prepare_study
    from hpsearch.run.proposing import SamplerProposer
    from hpsearch.storage import Proposer
    from hpsearch.samplers import make_sampler
    from hpsearch.space import load_space
    from hpsearch.storage import Storage

    sp = load_space(space(project / "proj" / "space.toml", sampler="tpe", startup=2))
    storage = Storage(db_url)
    try:
        study, round_ = prepare_study(storage, sp)
        prepared = SamplerProposer(make_sampler("tpe", sp, seed=round_.seed), storage, study,
                                   round_)
        seen = []

        class Propose(Proposer):
            uses_history = True

            def __call__(self, index, history):
                seen.append((index, history))
                return prepared(index, history)

        propose = Propose()

        def claim(fn, **kw):
            return storage.claim(study, round_, propose=fn, limit=None, worker="w1",
                                 device=None, **kw)

        for k in range(4):
            prepared.prepare()
            t = claim(propose)
            storage.finish(t.id, state="complete", value=float(k))
        assert (prepared.hits, prepared.misses) == (4, 0)
        prepared.prepare()
        claim(lambda i: {"x": 0.5, "y": 0.1})          # another worker claims meanwhile
        t = claim(propose)
        assert (prepared.hits, prepared.misses) == (4, 1)
        index, history = seen[-1]
        assert index == t.sample_index == 5 and history.pending == [{"x": 0.5, "y": 0.1}]
        fresh = make_sampler("tpe", sp, seed=round_.seed).proposal(index, history)
        assert (t.params, t.proposed_by) == (fresh.params, fresh.method)
    finally:
        storage.dispose()


@pytest.mark.slow  # over a second: out of `make test-fast`
def test_a_changed_sampler_takes_over_the_rest_of_the_round(project, db_url):
    """Editing `[study] sampler` (or passing --sampler) on a study with trials is no "space
    changed" refusal: the round's next trials come from the new sampler, and the round says so."""
    from hpsearch.storage import Storage

    f = space(project / "proj" / "s.toml", sampler="random", trials=3)
    assert run_cli(db_url, "run", str(f), cwd=project / "work").returncode == 0
    space(f, sampler="tpe", trials=5, startup=3)
    r = run_cli(db_url, "run", str(f), cwd=project / "work")
    assert r.returncode == 0, r.stderr
    trials = trials_of(db_url, "m")
    # the round's 3 random trials count as the model's start-up (n_startup_trials = 3)
    assert [trials[n].proposed_by for n in range(5)] == ["random", "random", "random", "tpe", "tpe"]
    storage = Storage(db_url)
    assert storage.latest_round(storage.get_study("m").id).sampler == "tpe"
    r = run_cli(db_url, "run", str(f), "--add", "1", "--sampler", "random", cwd=project / "work")
    assert r.returncode == 0, r.stderr
    assert trials_of(db_url, "m")[5].proposed_by == "random"
    assert storage.latest_round(storage.get_study("m").id).sampler == "random"
