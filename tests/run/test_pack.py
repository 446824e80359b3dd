"""``run --pack K`` (issue 17): packed trials are stored as sequential ones, with a note."""

from __future__ import annotations

import pytest

from support.studies import hyperband_digits

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
    for t in trials.values():
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
    assert all(t.state == "complete" for t in trials.values())
    # Which worker claims which trial depends on how fast each starts (a busy machine): a
    # worker that finds one trial left runs it alone. Every pack is told the same by each of
    # its members, and packs did form.
    packs = {n: packed_with(t.note) for n, t in trials.items()}
    for n, others in packs.items():
        assert all(packs[o] == {n} | others - {o} for o in others), packs
    assert sum(bool(o) for o in packs.values()) >= 4, packs  # 6 trials, 2 workers: 2 packs
    assert all(t.note is None for n, t in trials.items() if not packs[n])


def packed_with(note: str | None) -> set[int]:
    """The trial numbers a "packed with trials 1, 2" note names."""
    if note is None:
        return set()
    assert note.startswith("packed with trial"), note
    return {int(n) for n in note.split(" ", 3)[3].split(";")[0].split(", ")}


def test_a_pruned_member_is_stored_as_pruned_and_the_pack_goes_on(project, db_url):
    # As tests/run/test_pruning.py's builtin case, both trials in one pack: at the rung after
    # epoch 1 the learning rate of 1e-7 is far behind and is pruned; the other trains on.
    f = project / "proj" / "pruned.toml"
    f.write_text(hyperband_digits(max_resource=4))
    from support.runs import trials_of

    run(db_url, f, pack=2)
    trials = trials_of(db_url, "digits")
    assert trials[0].state == "complete" and len(trials[0].steps) == 4
    assert trials[1].state == "pruned" and trials[1].pruned_step == 1
    assert [s for s, _ in trials[1].steps] == [1]
    assert trials[1].value == trials[1].steps[0][1]["val_accuracy"]
    assert "packed with trial 0" in trials[1].note


def test_a_pruned_members_record_says_where_it_stopped(project, db_url):
    # What the loop hands to the live line ("trial 1 pruned at step 1") and the summary.
    f = project / "proj" / "pruned.toml"
    f.write_text(hyperband_digits(max_resource=4))
    ends = {}
    run_summary(db_url, f, lambda ev: ev.kind == "end" and ends.setdefault(ev.trial.number,
                                                                           ev.trial), pack=2)
    assert ends[1].state == "pruned" and ends[1].pruned_step == 1
    assert ends[1].note.endswith("; packed with trial 0") and ends[1].note != "packed with trial 0"
    assert ends[0].state == "complete" and ends[0].pruned_step is None
    assert ends[0].note == "packed with trial 1"


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


@pytest.mark.slow  # over a second: out of `make test-fast`
def test_a_packed_run_honours_the_timeout(project, db_url, monkeypatch):
    import time

    passed = deadline_after_first_pack(monkeypatch)

    def on_event(ev):
        if ev.kind == "end" and ev.trial.number == 0:
            time.sleep(1.1)  # the deadline passes while the first pack is recorded
            passed.append(True)

    summary = run_summary(db_url, write(project, "timeout", trials=10), on_event, pack=2,
                          timeout=1.0)
    assert summary.stopped == "timeout" and summary.ran == 2
    monkeypatch.undo()  # the real deadline: 0 s passes before the first claim
    assert run_summary(db_url, write(project, "none", trials=10), pack=2,
                       timeout=0).ran == 0


def deadline_after_first_pack(monkeypatch) -> list:
    """The worker's deadline (``--timeout``, counted from the run's start, start-up included)
    only counts once the returned list holds something: on a busy machine the trainer's
    warm-up alone can outlast the test's 1 s, and the run would stop before its first pack."""
    from hpsearch.run.loop import Worker

    passed: list = []
    real = Worker.past_deadline
    monkeypatch.setattr(Worker, "past_deadline", lambda self: bool(passed) and real(self))
    return passed


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


# ------------------------------------------ the look-ahead: claim until K trials share a shape
ALTERNATING = """
[study]
name = "{name}"
metric = "val_accuracy"
direction = "maximize"
sampler = "grid"
trials = {trials}
[objective]
kind = "builtin"
[trainer]
dataset = "digits"
epochs = 1
patience = 10
device = "cpu"
[params]
learning_rate = {{ type = "choice", values = [0.01, 0.02, 0.03, 0.04] }}
n_layers = 1
optimizer = "sgd"
batch_size = 64
hidden_units = {{ type = "choice", values = [16, 32] }}
"""


def write_alternating(project, name: str, trials: int = 8):
    """Grid points whose shape alternates (hidden_units varies fastest): 16, 32, 16, 32, ..."""
    f = project / "proj" / f"{name}.toml"
    f.write_text(ALTERNATING.format(name=name, trials=trials))
    return f


def test_the_claim_looks_ahead_until_k_trials_share_a_shape(project, db_url):
    # The next 4 proposals hold two of each shape (two packs of 2 before the look-ahead); the
    # turn claims on until 4 share a shape: trials 0..6, one pack of 4 (even numbers) and one
    # of 3; trial 7, the last, runs alone in the next turn. Nothing is sampled differently.
    trials = run(db_url, write_alternating(project, "ahead"), pack=4)
    assert all(t.state == "complete" for t in trials.values())
    assert [trials[n].params["hidden_units"] for n in range(8)] == [16, 32] * 4
    assert trials[0].note == "packed with trials 2, 4, 6"
    assert trials[6].note == "packed with trials 0, 2, 4"
    assert trials[1].note == "packed with trials 3, 5"
    assert trials[7].note is None


def test_the_window_and_the_groups():
    from hpsearch.run.pack import LOOK_AHEAD, group_trials, pack_window
    from hpsearch.storage import TrialRecord

    from hpsearch.objectives.builtin import BuiltinObjective

    class Settings:
        precision = "fp32"

    obj = BuiltinObjective(Settings())
    assert pack_window(1, obj, expected=100) == 1
    assert pack_window(8, obj, expected=None) == LOOK_AHEAD * 8 == 32
    assert pack_window(8, obj, expected=16) == 16           # no more than the trials to run
    assert pack_window(8, obj, expected=16, workers=4) == 8  # a worker's share, at least K
    assert pack_window(8, obj, expected=0) == 8
    Settings.precision = "fp16"
    assert pack_window(8, obj, expected=100) == 1            # fp16 never packs

    def trial(i: int, hidden: int) -> TrialRecord:
        return TrialRecord(id=i, number=i, round=0, state="running", value=None, metrics=None,
                           params={"hidden_units": hidden, "learning_rate": 0.01}, seed=i)

    ts = [trial(i, 16) for i in range(9)] + [trial(9, 32)]
    sizes = [[t.number for t in g] for g in group_trials(ts, obj, 4)]
    assert sizes == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]  # 9 of a shape: 3 packs of 3, not 4+4+1


@pytest.mark.slow  # over a second: out of `make test-fast`
def test_the_timeout_between_groups_gives_the_unstarted_trials_back(project, db_url,
                                                                   monkeypatch):
    import time

    passed = deadline_after_first_pack(monkeypatch)

    def on_event(ev):
        if ev.kind == "end" and ev.trial.number == 0:
            time.sleep(1.1)  # the deadline passes while the first pack is recorded
            passed.append(True)

    f = write_alternating(project, "late")
    summary = run_summary(db_url, f, on_event, pack=4, timeout=1.0)
    assert summary.stopped == "timeout" and summary.ran == 4
    from support.runs import trials_of

    states = {n: t.state for n, t in trials_of(db_url, "late").items()}
    assert states == {0: "complete", 2: "complete", 4: "complete", 6: "complete",
                      1: "interrupted", 3: "interrupted", 5: "interrupted"}
    monkeypatch.undo()
    summary = run_summary(db_url, f, pack=4)  # the next run runs them first, with trial 7
    trials = trials_of(db_url, "late")
    assert summary.ran == 4 and all(t.state == "complete" for t in trials.values())
    assert trials[1].note == "packed with trials 3, 5, 7"


# ------------------------------- a member is recorded when it stops: signals, database errors
def test_a_member_pruned_before_a_signal_stays_pruned(project, db_url):
    from hpsearch.errors import Interrupted
    from support.runs import trials_of

    f = project / "proj" / "pruned.toml"
    f.write_text(hyperband_digits(max_resource=4))
    ends = []

    def on_event(ev):
        if ev.kind == "end":
            ends.append(ev.trial)
        if ev.kind == "step" and ev.trial.number == 0 and ev.step == 2:
            raise KeyboardInterrupt  # Ctrl-C in epoch 2, after trial 1 was pruned at epoch 1

    with pytest.raises(Interrupted, match=r"trial 0 marked interrupted"):
        run_summary(db_url, f, on_event, pack=2)
    trials = trials_of(db_url, "digits")
    assert trials[0].state == "interrupted" and [s for s, _ in trials[0].steps] == [1, 2]
    assert trials[1].state == "pruned" and trials[1].pruned_step == 1
    # its "end" came as it was pruned, with what the live line says ("pruned at step 1")
    (end,) = ends
    assert end.number == 1 and end.state == "pruned" and end.pruned_step == 1
    assert end.note == trials[1].note and "packed with trial 0" in end.note
    from hpsearch.render.summary import trial_line
    from hpsearch.run import TrialEvent

    assert "pruned at step 1" in trial_line(TrialEvent("end", end, None, 1, 2))
    # the next run re-runs trial 0 only: a pruned trial is never resumed
    run_summary(db_url, f, pack=2)
    after = trials_of(db_url, "digits")
    assert after[0].state == "complete" and after[1].state == "pruned" and len(after) == 2


def test_a_pack_whose_member_cannot_be_recorded_records_the_others(project, db_url, monkeypatch):
    from hpsearch.errors import StorageError
    from hpsearch.storage import Storage
    from support.runs import trials_of

    real = Storage.finish
    numbers: dict[int, int] = {}

    def finish(self, trial_id, **fields):
        if numbers.get(trial_id) == 1:
            raise StorageError("database is locked")
        return real(self, trial_id, **fields)

    real_claim = Storage.claim

    def claim(self, *args, **kwargs):
        t = real_claim(self, *args, **kwargs)
        if t is not None:
            numbers[t.id] = t.number
        return t

    monkeypatch.setattr(Storage, "finish", finish)
    monkeypatch.setattr(Storage, "claim", claim)
    with pytest.raises(StorageError, match="database is locked"):
        run_summary(db_url, write(project, "locked", trials=3), pack=3)
    states = {n: t.state for n, t in trials_of(db_url, "locked").items()}
    assert states == {0: "complete", 1: "interrupted", 2: "complete"}


def test_pack_reports_are_checked_as_a_trials_are(project, db_url, monkeypatch):
    import hpsearch.trainer.packed as packed
    from hpsearch.trainer.fit import TrainResult
    from support.runs import trials_of

    def fake_fit_packed(params, settings, *, seeds, reports, on_end=None):
        reports[0](-1, {"val_accuracy": 0.1})                              # dropped, noted
        reports[0](1, {"val_accuracy": 0.5, "val_loss": float("nan")})     # null, noted
        reports[1](1, {"val_accuracy": 0.6, "val_loss": 0.2})
        return [TrainResult(state="complete", metrics={"val_accuracy": 0.5,
                                                       "train_loss": float("inf")},
                            device="cpu"),
                TrainResult(state="complete", metrics={"val_accuracy": 0.6}, device="cpu")]

    monkeypatch.setattr(packed, "fit_packed", fake_fit_packed)
    run_summary(db_url, write(project, "checked", trials=2), pack=2)
    trials = trials_of(db_url, "checked")
    t0, t1 = trials[0], trials[1]
    assert t0.steps == [(1, {"val_accuracy": 0.5, "val_loss": None})]
    assert t0.note == ("packed with trial 1; report with step -1 ignored: a step is an integer "
                       "in 0..2147483647; step 1: metric 'val_loss' was nan: stored as null; "
                       "result: metric 'train_loss' was inf: stored as null")
    assert t0.metrics == {"val_accuracy": 0.5, "train_loss": None} and t0.value == 0.5
    assert t1.note == "packed with trial 0" and t1.steps == [(1, {"val_accuracy": 0.6,
                                                                  "val_loss": 0.2})]
