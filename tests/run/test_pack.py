"""``run --pack K`` (issue 17): packed trials are stored as sequential ones, with a note."""

from __future__ import annotations

import pytest

from hpsearch.errors import ConfigError

SPACE = """
[study]
name = "{name}"
metric = "val_accuracy"
direction = "maximize"
sampler = "random"
trials = {trials}
seed = 3
[objective]
kind = "builtin"
[trainer]
dataset = "digits"
epochs = 2
patience = 10
device = "cpu"
{trainer}
[params]
learning_rate = {{ type = "log_uniform", low = 0.01, high = 0.1 }}
momentum = {{ type = "uniform", low = 0.0, high = 0.9 }}
n_layers = 1
hidden_units = {hidden}
optimizer = "sgd"
batch_size = 64
"""

COMMAND_SPACE = """
[study]
name = "cmd"
metric = "loss"
trials = 2
[objective]
kind = "command"
argv = ["true"]
[params]
x = { type = "uniform", low = 0, high = 1 }
"""


def write(project, name: str = "p", *, trials: int = 4, hidden: str = "16", trainer: str = ""):
    f = project / "proj" / f"{name}.toml"
    f.write_text(SPACE.format(name=name, trials=trials, hidden=hidden, trainer=trainer))
    return f


def run(db_url, path, **options):
    from hpsearch.run import RunOptions, run_study
    from hpsearch.space import load_space
    from hpsearch.storage import Storage

    storage = Storage(db_url)
    try:
        run_study(storage, load_space(path), RunOptions(**options))
        study = storage.get_study(load_space(path).study.name)
        return {t.number: t for t in storage.trials(study)}
    finally:
        storage.dispose()


def test_packed_trials_are_stored_like_sequential_ones(project, db_url):
    packed = run(db_url, write(project, "packed"), pack=4)
    alone = run(db_url, write(project, "alone"))
    assert sorted(packed) == sorted(alone) == [0, 1, 2, 3]
    for n, t in packed.items():
        s = alone[n]
        assert t.state == s.state == "complete" and t.params == s.params and t.seed == s.seed
        others = ", ".join(str(m) for m in range(4) if m != n)
        assert t.note == f"packed with trials {others}" and s.note is None
        assert t.device == "cpu"
        assert t.value == pytest.approx(s.value, abs=1 / 360 + 1e-9)
        assert t.metrics["best_epoch"] == s.metrics["best_epoch"]
        assert t.metrics["val_loss"] == pytest.approx(s.metrics["val_loss"], rel=1e-5)


def test_trials_of_other_shapes_run_alone(project, db_url):
    # hidden_units 16 or 32: the claimed trials split into groups; a group of one is not packed
    trials = run(db_url, write(project, "mixed", trials=4,
                               hidden='{ type = "choice", values = [16, 32] }'), pack=4)
    assert all(t.state == "complete" for t in trials.values())
    by_shape: dict[int, list[int]] = {}
    for n, t in trials.items():
        by_shape.setdefault(t.params["hidden_units"], []).append(n)
    for n, t in trials.items():
        group = by_shape[t.params["hidden_units"]]
        if len(group) == 1:
            assert t.note is None
        else:
            assert t.note.startswith("packed with trial")


def test_trainer_pack_setting_is_read(project, db_url):
    trials = run(db_url, write(project, "setting", trials=2, trainer="pack = 2"))
    assert [trials[n].note for n in (0, 1)] == ["packed with trial 1", "packed with trial 0"]


def test_pack_refuses_other_objectives_and_bad_k(project, db_url, invoke):
    from hpsearch.run.pack import pack_size
    from hpsearch.space import load_space

    f = project / "proj" / "cmd.toml"
    f.write_text(COMMAND_SPACE)
    with pytest.raises(ConfigError, match=r"--pack 2: packing trains the built-in trainer"):
        pack_size(load_space(f), 2)
    assert pack_size(load_space(f), None) == 1
    r = invoke("run", f, "--pack", "2")
    assert r.exit_code == 2
    assert "--pack 2: packing trains the built-in trainer's models together; this study's " \
           "objective is 'command' (run it without --pack)" in r.output
    r = invoke("run", write(project), "--pack", "0")
    assert r.exit_code == 2 and "--pack" in r.output
    with pytest.raises(ConfigError, match="pack: 0 must be an integer >= 1"):
        pack_size(load_space(write(project, "bad", trainer="pack = 0")), None)


@pytest.mark.slow
def test_pack_with_workers(project, db_url):
    trials = run(db_url, write(project, "workers", trials=6), pack=3, workers=2)
    assert sorted(trials) == list(range(6))
    assert all(t.state == "complete" and t.note.startswith("packed with trial")
               for t in trials.values())


PRUNED_SPACE = """
[study]
name = "digits"
metric = "val_accuracy"
direction = "maximize"
sampler = "grid"
pruner = "hyperband"
trials = 2
seed = 0
[objective]
kind = "builtin"
[trainer]
dataset = "digits"
epochs = 4
patience = 10
device = "cpu"
[pruner]
min_resource = 1
max_resource = 4
reduction_factor = 4
brackets = 1
[params]
learning_rate = { type = "choice", values = [0.01, 1e-7] }
n_layers = 1
hidden_units = 32
optimizer = "adam"
batch_size = 64
"""


def test_a_pruned_member_is_stored_as_pruned_and_the_pack_goes_on(project, db_url):
    # As tests/run/test_pruning.py's builtin case, both trials in one pack: at the rung after
    # epoch 1 the learning rate of 1e-7 is far behind and is pruned; the other trains on.
    f = project / "proj" / "pruned.toml"
    f.write_text(PRUNED_SPACE)
    from support.runs import trials_of

    run(db_url, f, pack=2)
    trials = trials_of(db_url, "digits")
    assert trials[0].state == "complete" and len(trials[0].steps) == 4
    assert trials[1].state == "pruned" and trials[1].pruned_step == 1
    assert [s for s, _ in trials[1].steps] == [1]
    assert trials[1].value == trials[1].steps[0][1]["val_accuracy"]
    assert "packed with trial 0" in trials[1].note


def test_an_interrupted_pack_marks_all_its_trials_interrupted(project, db_url):
    from hpsearch.errors import Interrupted
    from hpsearch.run import RunOptions, run_study
    from hpsearch.space import load_space
    from hpsearch.storage import Storage

    def on_event(ev):
        if ev.kind == "step":  # Ctrl-C in the middle of the pack's first epoch reports
            raise KeyboardInterrupt

    f = write(project, "stopped", trials=3)
    storage = Storage(db_url)
    try:
        with pytest.raises(Interrupted, match="trials 0, 1, 2 marked interrupted"):
            run_study(storage, load_space(f), RunOptions(pack=3), on_event=on_event)
        study = storage.get_study("stopped")
        assert sorted(t.state for t in storage.trials(study)) == ["interrupted"] * 3
    finally:
        storage.dispose()


# ------------------------------------- packed runs share the claim loop of hpsearch.run.loop
DIVERGES = """
[study]
name = "{name}"
metric = "val_accuracy"
direction = "maximize"
sampler = "{sampler}"
trials = {trials}
seed = 1
{study}
[objective]
kind = "builtin"
[trainer]
dataset = "digits"
epochs = 1
patience = 10
device = "cpu"
[params]
learning_rate = 1e30
n_layers = 1
hidden_units = {hidden}
optimizer = "sgd"
batch_size = 64
"""


def write_diverging(project, name: str, *, trials: int, hidden: str = "16", study: str = "",
                    sampler: str = "random"):
    f = project / "proj" / f"{name}.toml"
    f.write_text(DIVERGES.format(name=name, trials=trials, hidden=hidden, study=study,
                                 sampler=sampler))
    return f


def run_summary(db_url, path, on_event=None, **options):
    from hpsearch.run import RunOptions, run_study
    from hpsearch.space import load_space
    from hpsearch.storage import Storage

    storage = Storage(db_url)
    try:
        return run_study(storage, load_space(path), RunOptions(**options), on_event=on_event)
    finally:
        storage.dispose()


def test_a_packed_run_where_every_trial_diverges_stops_with_exit_code_6(project, db_url, invoke):
    from hpsearch.errors import TooManyFailures
    from support.runs import trials_of

    r = invoke("run", write_diverging(project, "nan", trials=20), "--pack", "3")
    assert r.exit_code == TooManyFailures.exit_code == 6, r.output
    # two packs of 3: the streak (limit 5) is checked after each pack is recorded
    assert "stopped after 6 trials in a row failed" in r.stderr
    assert "diverged" in r.stderr
    trials = trials_of(db_url, "nan")
    assert len(trials) == 6 and {t.state for t in trials.values()} == {"failed"}
    assert all(t.error.startswith("diverged") and t.note.startswith("packed with trials")
               for t in trials.values())


def test_a_packed_run_stopped_by_failures_gives_back_its_unstarted_trials(project, db_url):
    from hpsearch.errors import TooManyFailures
    from support.runs import trials_of

    # Four shapes in one claim of 4: four groups of one, run one by one; the streak's limit
    # of 2 stops the run after the second, and the last two go back for the next run.
    f = write_diverging(project, "shapes", trials=4, sampler="grid",
                        hidden='{ type = "choice", values = [16, 32, 48, 64] }',
                        study="max_consecutive_failures = 2")
    with pytest.raises(TooManyFailures, match="stopped after 2 trials in a row failed"):
        run_summary(db_url, f, pack=4)
    states = {n: t.state for n, t in trials_of(db_url, "shapes").items()}
    assert states == {0: "failed", 1: "failed", 2: "interrupted", 3: "interrupted"}


def test_a_packed_run_honours_the_timeout(project, db_url):
    import time

    def on_event(ev):
        if ev.kind == "end" and ev.trial.number == 0:
            time.sleep(1.1)  # the deadline passes while the first pack is recorded

    summary = run_summary(db_url, write(project, "timeout", trials=10), on_event, pack=2,
                          timeout=1.0)
    assert summary.stopped == "timeout" and summary.ran == 2
    assert run_summary(db_url, write(project, "none", trials=10), pack=2,
                       timeout=0).ran == 0


def test_a_packed_run_fills_the_summary_and_reports_steps(project, db_url):
    first = run_summary(db_url, write(project, "sum", trials=2))  # one run without --pack
    events: list = []
    summary = run_summary(db_url, write(project, "sum", trials=4), events.append, pack=2)
    assert summary.ran == 2 and summary.stopped == "target"
    assert summary.startup_s is not None and summary.startup_s > 0
    best = max([first.best, summary.best], key=lambda t: t.value)
    assert summary.study_best.number == best.number and summary.running_elsewhere == 0
    steps = {(ev.trial.number, ev.step) for ev in events if ev.kind == "step"}
    assert steps == {(2, 1), (3, 1), (2, 2), (3, 2)}  # epochs 1 and 2 of both, as one pack
    assert [ev.kind for ev in events if ev.kind != "step"] == ["start", "start", "end", "end"]


def test_a_packed_run_stops_claiming_at_max_concurrent(project, db_url):
    summary = run_summary(db_url, write(project, "busy", trials=6), pack=4, max_concurrent=2)
    # two claimed, the third finds the study full: the two train as one pack, then the run ends
    assert summary.ran == 2 and summary.stopped == "busy" and summary.busy == (2, 2)
