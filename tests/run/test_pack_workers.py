"""``run --workers N --pack K`` with real processes: the parent holds every trial of a worker's
pack, so a worker killed mid-pack has all of them recovered, and a signal marks them all."""

from __future__ import annotations

import os
import signal

import pytest

from support.runs import running_trials, spawn_cli, trials_of, wait_until, worker_pid

#: Six trials of one shape; a pack of 3 trains for minutes (2000 epochs of a 2 × 128 MLP in
#: batches of 16, no early stop), so the test kills and signals the workers while they train.
LONG_PACKS = """
[study]
name = "long"
metric = "val_accuracy"
direction = "maximize"
trials = 6
seed = 0
[objective]
kind = "builtin"
[trainer]
dataset = "digits"
epochs = 2000
patience = 2000
device = "cpu"
[params]
learning_rate = { type = "log_uniform", low = 0.001, high = 0.01 }
n_layers = 2
hidden_units = 128
optimizer = "sgd"
batch_size = 16
"""


@pytest.mark.slow
def test_a_worker_killed_mid_pack_has_every_trial_of_its_pack_recovered(tmp_path):
    (tmp_path / "space.toml").write_text(LONG_PACKS)
    db = f"sqlite:///{tmp_path / 'hp.db'}"
    proc = spawn_cli(db, "run", "space.toml", "--workers", "2", "--pack", "3", cwd=tmp_path)
    try:
        running = wait_until(lambda: running_trials(db, "long", 6), proc=proc, timeout=120,
                             what="two packs of 3 running")
        victim = worker_pid(running[0])
        pack = {t.number for t in running if worker_pid(t) == victim}
        others = {t.number for t in running} - pack
        assert len(pack) == len(others) == 3
        os.kill(victim, signal.SIGKILL)
        # The parent sees the worker die and recovers all three trials at once (failed as
        # stale, params queued again), not one of them with two left running.
        wait_until(lambda: all(trials_of(db, "long")[n].state == "failed" for n in pack),
                   proc=proc, timeout=60, what="every trial of the dead worker's pack failed")
        proc.send_signal(signal.SIGINT)  # the other worker marks its pack interrupted
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, (out, err)
    assert "SIGKILL" in err and "running trials" in err, err
    trials = trials_of(db, "long")
    assert not [t for t in trials.values() if t.state == "running"]
    for n in pack:
        assert trials[n].state == "failed" and f"worker pid {victim} died" in trials[n].error
    assert {n for n, t in trials.items() if t.state == "interrupted"} == others
    retries = {t.retry_of: t for t in trials.values() if t.retry_of is not None}
    assert set(retries) == pack and all(t.state == "queued" for t in retries.values())
    assert all(retries[n].params == trials[n].params for n in pack)


def test_a_lost_worker_recovers_what_it_said_and_what_the_database_says(project, db_url):
    """Unit: a pack whose "start" reached the parent for one trial only, and a trial claimed
    after: every running trial of the dead worker is recovered."""
    from hpsearch.run import prepare_study, worker_id
    from hpsearch.run.pool import recover_lost_worker
    from hpsearch.run.records import RunSummary
    from hpsearch.space import load_space
    from hpsearch.storage import Storage

    f = project / "proj" / "lost.toml"
    f.write_text(LONG_PACKS.replace('name = "long"', 'name = "lost"'))
    storage = Storage(db_url)
    try:
        study, round_ = prepare_study(storage, load_space(f))

        class Gone:
            pid = 424243
            exitcode = -signal.SIGKILL

        claim = dict(propose=lambda i: {"learning_rate": 0.005}, limit=6,
                     worker=worker_id(Gone.pid), device=None)
        held = [storage.claim(study, round_, **claim) for _ in range(3)]
        storage.claim(study, round_, **{**claim, "worker": "elsewhere:1"})
        summary = RunSummary(study=study.name, round=round_.number)
        recover_lost_worker(storage, study, summary, 0, Gone(), [held[0]], signalled=False)
        assert sorted(summary.stale_recovered) == [0, 1, 2]
        # after a signal: marked interrupted instead
        more = [storage.claim(study, round_, **claim) for _ in range(2)]
        recover_lost_worker(storage, study, summary, 0, Gone(), more, signalled=True)
    finally:
        storage.dispose()
    from support.runs import trials_of as by_number

    states = {n: t.state for n, t in by_number(db_url, "lost").items()}
    assert [states[n] for n in (0, 1, 2)] == ["failed"] * 3 and states[3] == "running"
    assert sorted(n for n, s in states.items() if s == "interrupted") == [4, 5]
