"""A trial killed by its infrastructure (stale heartbeat, dead worker or run) is not a failure
of its configuration: it is retried until it ends on its own, ``[study] max_retries`` times at
most (counted along the ``retry_of`` chain); a configuration given up is said in the run's
summary, in ``report`` and in ``studies``, and an infrastructure death never counts as a
result toward the round's target."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from support.runs import BLOCKING_OBJECTIVE, cli_argv, run_cli, trials_of, wait_until
from support.studies import python_study

from hpsearch.errors import SpaceError
from hpsearch.run import prepare_study
from hpsearch.space import load_space, parse_space
from hpsearch.storage import Storage


def chains(trials: dict) -> dict[int, list]:
    """The configurations of a study: the first trial's number -> its trials, retries after."""
    out: dict[int, list] = {}
    for t in sorted(trials.values(), key=lambda t: t.number):
        root = t.number
        while trials[root].retry_of is not None:
            root = trials[root].retry_of
        out.setdefault(root, []).append(t)
    return out


def claim(storage, study, round_):
    return storage.claim(study, round_, propose=lambda i: {"x": 0.5}, limit=2, worker="w",
                         device=None)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def any_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/h.db"
    return request.getfixturevalue("pg_url")


def test_a_retry_that_dies_is_retried_until_the_bound(any_url):
    space = parse_space(python_study("rt", "m:f", trials=2, study="max_retries = 2"), source="s.toml")
    storage = Storage(any_url)
    study, round_ = prepare_study(storage, space)
    first = claim(storage, study, round_)
    for attempt in range(1, 4):  # three attempts die: the first, its retry, the retry's retry
        running = [t for t in storage.trials(study, best_first=False) if t.state == "running"]
        assert [t.params for t in running] == [first.params]
        assert storage.recover_stale(study.id, older_than_s=0, max_retries=2) == [running[0].number]
        if attempt < 3:
            retry = claim(storage, study, round_)
            assert retry.retry_of == running[0].number and retry.params == first.params
    given_up = storage.given_up(study)
    assert [t.number for t in given_up] == [2]
    assert "given up after 3 attempts ([study] max_retries = 2)" in given_up[0].error
    # given up, not queued: the next claim draws the round's second configuration
    nxt = claim(storage, study, round_)
    assert nxt.retry_of is None and nxt.sample_index == 1
    storage.dispose()


@pytest.mark.parametrize("value", [-1, 101, "3", 1.5])
def test_max_retries_is_validated(value):
    text = python_study("rt", "m:f", trials=2, study=f"max_retries = {value!r}".replace("'", '"'))
    with pytest.raises(SpaceError, match=r"^s\.toml: study\.max_retries: must be"):
        parse_space(text, source="s.toml")


def spawn_run(url: str, space, cwd, *extra: str) -> subprocess.Popen:
    """``hpsearch run`` in its own session (killed with its fork server and workers)."""
    return subprocess.Popen(cli_argv("--db", url, "run", str(space), "--stale-after", "2s",
                                     *extra),
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True,
                            env={**os.environ, "OBJ_BLOCK": str(cwd / "block")})


def claimed_by_this_run(url: str, seen: set[int], n: int) -> list | None:
    running = [t for t in trials_of(url, "rt").values()
               if t.state == "running" and t.number not in seen]
    return running if len(running) >= n else None


def kill_runs(url: str, space, cwd, kills: int, workers: int) -> None:
    """``kills`` runs, each SIGKILLed (its whole process group) once ``workers`` trials run:
    after the first, the trials it holds are the retries of the trials the last one held."""
    (cwd / "block").touch()
    extra = ("--workers", str(workers)) if workers > 1 else ()
    seen: set[int] = set()  # the trials the runs killed so far held
    for n in range(kills):
        if n:
            time.sleep(2.5)  # past --stale-after: the run recovers the last one's trials first
        proc = spawn_run(url, space, cwd, *extra)
        try:
            held = wait_until(lambda: claimed_by_this_run(url, seen, workers), timeout=120,
                              what=f"{workers} trials running in this run", proc=proc)
            seen.update(t.number for t in held)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=60)
    (cwd / "block").unlink()


def sigkilled_study(tmp_path, url, *, kills: int, workers: int):
    (tmp_path / "obj.py").write_text(BLOCKING_OBJECTIVE)
    space = tmp_path / "space.toml"
    space.write_text(python_study("rt", "obj:train", trials=2 * workers, direction="maximize",
                                  study="max_retries = 2", objective="isolate = true"))
    kill_runs(url, space, tmp_path, kills, workers)
    time.sleep(2.5)  # past --stale-after: the next run recovers the killed runs' trials
    extra = ("--workers", str(workers)) if workers > 1 else ()
    done = run_cli(url, "run", str(space), "--stale-after", "2s", *extra, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return done, chains(trials_of(url, "rt"))


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_repeated_sigkills_of_the_retries_lose_no_configuration(tmp_path, workers):
    url = f"sqlite:///{tmp_path}/h.db"
    check_no_configuration_lost(tmp_path, url, workers)


@pytest.mark.slow
def test_repeated_sigkills_on_postgresql(tmp_path, pg_url):
    check_no_configuration_lost(tmp_path, pg_url, 2)


def check_no_configuration_lost(tmp_path, url: str, workers: int) -> None:
    done, configs = sigkilled_study(tmp_path, url, kills=2, workers=workers)
    # two deaths in a row (the first attempts, then their retries): within max_retries = 2
    assert len(configs) == 2 * workers
    for root, attempts in configs.items():
        assert attempts[-1].state == "complete", (root, [(t.number, t.state, t.error)
                                                         for t in attempts])
    assert sum(len(a) == 3 for a in configs.values()) == workers  # killed twice, then run
    assert "given up" not in done.stdout


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_past_the_bound_a_configuration_is_given_up_and_said(tmp_path, workers):
    url = f"sqlite:///{tmp_path}/h.db"
    done, configs = sigkilled_study(tmp_path, url, kills=3, workers=workers)
    given = [a for a in configs.values() if a[-1].state == "failed"]
    assert len(given) == workers and all(len(a) == 3 for a in given)
    assert all("given up after 3 attempts" in a[-1].error for a in given)
    # the target counts configurations: those given up, and the others run to their end
    assert len(configs) == 2 * workers
    assert sum(a[-1].state == "complete" for a in configs.values()) == workers
    assert (f"{workers} configuration{'s' if workers > 1 else ''} given up after 3 attempts "
            f"([study] max_retries = 2)") in done.stdout
    report = run_cli(url, "report", "rt", cwd=tmp_path)
    assert "given up after 3 attempts" in report.stdout, report.stdout
    studies = run_cli(url, "studies", "--format", "json", cwd=tmp_path)
    assert '"given_up": %d' % workers in studies.stdout.replace(" ", "").replace(
        '"given_up":', '"given_up": '), studies.stdout


def test_a_stored_space_without_max_retries_uses_the_default(tmp_path):
    from hpsearch.run.summary import retry_limit
    from hpsearch.space.study import DEFAULT_MAX_RETRIES

    space = tmp_path / "s.toml"
    space.write_text(python_study("rt", "m:f", trials=2))
    assert retry_limit(load_space(space)) == DEFAULT_MAX_RETRIES == 3


PACKED = """
[study]
name = "rt"
metric = "val_accuracy"
direction = "maximize"
trials = 4
seed = 1
max_retries = 2
[objective]
kind = "builtin"
[trainer]
dataset = "synthetic"
n_samples = 400
epochs = {epochs}
patience = {epochs}  # no early stop: the killed runs must still be training
device = "cpu"
[params]
learning_rate = {{ type = "log_uniform", low = 0.01, high = 0.1 }}
n_layers = 1
hidden_units = 8
optimizer = "sgd"
batch_size = 32
"""


@pytest.mark.slow
def test_sigkills_of_packed_retries_lose_no_configuration(tmp_path):
    # run --pack 4: the killed runs hold whole packs, the second one the first one's retries
    url = f"sqlite:///{tmp_path}/h.db"
    space = tmp_path / "space.toml"
    space.write_text(PACKED.format(epochs=100000))  # trains until killed
    seen: set[int] = set()
    for n in range(2):
        if n:
            time.sleep(2.5)  # past --stale-after
        proc = spawn_run(url, space, tmp_path, "--pack", "4")
        try:
            held = wait_until(lambda: steps_in_this_run(url, seen, 4), timeout=300,
                              what="4 packed trials training", proc=proc)
            seen.update(t.number for t in held)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=60)
    time.sleep(2.5)
    space.write_text(PACKED.format(epochs=1))  # [trainer] follows the file: a quick last run
    done = run_cli(url, "run", str(space), "--stale-after", "2s", "--pack", "4", cwd=tmp_path,
                   timeout=300)
    assert done.returncode == 0, done.stderr
    configs = chains(trials_of(url, "rt"))
    assert len(configs) == 4
    assert all(len(a) == 3 and a[-1].state == "complete" for a in configs.values()), configs
    assert "given up" not in done.stdout


def steps_in_this_run(url: str, seen: set[int], n: int) -> list | None:
    """The running trials not held by a killed run, when ``n`` of them have stored a step."""
    running = [t for t in trials_of(url, "rt").values()
               if t.state == "running" and t.number not in seen and t.steps]
    return running if len(running) >= n else None
