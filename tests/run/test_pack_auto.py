"""``--pack auto`` (issue 25): the first pack is measured against single trials of its shape
and the faster is kept. The decision logic takes the measured times from its caller, so these
tests give it times of their own (nothing here depends on the machine's speed)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from test_pack import COMMAND_SPACE, run, write

from hpsearch.errors import ConfigError
from hpsearch.run.pack_auto import AUTO_K, SINGLES, PackChooser, pack_setting, work_units
from hpsearch.storage import TrialRecord


def trial(i: int, *, epochs: int | None = 3, state: str = "complete") -> TrialRecord:
    metrics = None if epochs is None else {"epochs_run": epochs, "val_loss": 1.0}
    return TrialRecord(id=i, number=i, round=1, state=state, params={}, value=None,
                       metrics=metrics, seed=i)


def measure(chooser: PackChooser, group: list[TrialRecord], single_s: float, pack_s: float):
    """Run the plan of ``group`` with each single trial taking ``single_s`` seconds and the
    pack ``pack_s``; the groups as planned and whether the last observation decided."""
    plan = chooser.plan([group])
    decided = []
    for g in plan:
        decided.append(chooser.observe(g, g, single_s if len(g) == 1 else pack_s))
    return plan, decided


def test_the_first_group_runs_two_alone_then_the_rest_as_a_pack() -> None:
    chooser = PackChooser(AUTO_K, auto=True)
    group = [trial(i) for i in range(8)]
    plan, decided = measure(chooser, group, single_s=3.0, pack_s=6 * 3.0 / 2)  # 2x
    assert [len(g) for g in plan] == [1] * SINGLES + [8 - SINGLES]
    assert decided == [False, False, True]
    assert chooser.decision == "pack" and chooser.k == AUTO_K
    assert chooser.line == ("--pack auto: a pack of 6 ran 2.00x as fast as single trials of its "
                            "shape (wall time per epoch): packing up to 8")
    later = [[trial(i) for i in range(10, 18)]]
    assert chooser.plan(later) == later  # decided: packs as they come


def test_a_slower_pack_is_dropped_and_the_rest_runs_one_by_one() -> None:
    chooser = PackChooser(AUTO_K, auto=True)
    _, decided = measure(chooser, [trial(i) for i in range(8)], single_s=3.0, pack_s=6 * 4.0)
    assert decided[-1] and chooser.decision == "single" and chooser.k == 1
    assert "0.75x" in chooser.line and chooser.line.endswith("running one trial at a time")
    later = [[trial(i) for i in range(10, 14)], [trial(20)]]
    assert chooser.plan(later) == [[t] for g in later for t in g]


def test_seconds_are_per_epoch_run() -> None:
    # The pack's members stopped after 1 epoch of 3: per trial it looks 3x cheaper than it is.
    chooser = PackChooser(AUTO_K, auto=True)
    plan = chooser.plan([[trial(i) for i in range(2)] + [trial(i, epochs=1)
                                                         for i in range(2, 6)]])
    for g in plan[:-1]:
        chooser.observe(g, g, 3.0)  # 1 s per epoch alone
    assert chooser.observe(plan[-1], plan[-1], 4 * 1.0 * 1.2)  # 1.2 s per epoch packed
    assert chooser.decision == "single"


def test_small_groups_wait_and_a_setup_failure_measures_nothing() -> None:
    chooser = PackChooser(AUTO_K, auto=True)
    small = [[trial(0), trial(1), trial(2)]]
    assert chooser.plan(small) == small  # fewer than 4 of one shape: not measured
    assert not chooser.observe(small[0], small[0], 1.0)
    assert chooser.final_line() == ("--pack auto: no 4 trials of one shape in a turn to "
                                    "measure; packed up to 8")
    failed = [trial(i, epochs=None, state="failed") for i in range(10, 14)]
    plan = chooser.plan([failed])
    for g in plan:
        assert not chooser.observe(g, g, 0.01)
    assert chooser.decision is None  # the next big group is measured instead
    _, decided = measure(chooser, [trial(i) for i in range(20, 25)], 1.0, 3 * 0.5)
    assert decided[-1] and chooser.decision == "pack"


def test_clocks() -> None:
    import time

    from hpsearch.run.pack_auto import clock_for

    assert clock_for("cpu") == clock_for(None) == (time.process_time, "CPU time")
    assert clock_for("cuda:0") == (time.perf_counter, "wall time")


def test_work_units() -> None:
    assert work_units(trial(0, epochs=5)) == 5
    assert work_units(trial(0, epochs=None)) == 1
    assert work_units(trial(0, epochs=None, state="failed")) == 0


def test_without_auto_nothing_changes() -> None:
    chooser = PackChooser(4)
    groups = [[trial(i) for i in range(4)]]
    assert chooser.plan(groups) == groups and not chooser.observe(groups[0], groups[0], 1.0)
    assert chooser.final_line() is None


def test_pack_setting(project) -> None:
    from hpsearch.space import load_space

    space = load_space(write(project, "s"))
    assert pack_setting(space, "auto") == (AUTO_K, True)
    assert pack_setting(space, 3) == (3, False)
    assert pack_setting(space, None) == (1, False)
    assert pack_setting(load_space(write(project, "t", trainer='pack = "auto"')), None) == (
        AUTO_K, True)
    with pytest.raises(ConfigError, match="auto"):
        pack_setting(space, "fast")
    cmd = project / "proj" / "cmd.toml"
    cmd.write_text(COMMAND_SPACE)
    assert pack_setting(load_space(cmd), "auto") == (1, False)  # a command objective: alone


@pytest.mark.slow
def test_a_run_with_pack_auto_says_what_it_kept(project, db_url) -> None:
    from hpsearch.cli import cli

    path = write(project, "auto", trials=8)
    result = CliRunner().invoke(cli, ["--db", db_url, "run", str(path), "--pack"])
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.output.splitlines() if "--pack auto: a pack of 6 ran" in ln]
    assert len(lines) == 1, result.output
    trials = run(db_url, path)
    assert sorted(trials) == list(range(8))
    packed = [t for t in trials.values() if t.note and t.note.startswith("packed with")]
    alone = [t for t in trials.values() if not t.note]
    assert len(alone) >= SINGLES and len(packed) in (0, 6)


def test_bad_pack_values_exit_2_writing_nothing(project, db_url) -> None:
    from hpsearch.cli import cli

    path = write(project, "bad", trials=2)
    for value in ("fast", "0"):
        result = CliRunner().invoke(cli, ["--db", db_url, "run", str(path), "--pack", value])
        assert result.exit_code == 2 and "--pack" in result.output, result.output
    bad = write(project, "badfile", trials=2, trainer='pack = "fast"')
    result = CliRunner().invoke(cli, ["--db", db_url, "run", str(bad)])
    assert result.exit_code == 2 and "pack" in result.output, result.output
    listed = CliRunner().invoke(cli, ["--db", db_url, "list"])
    assert "badfile" not in listed.output and "bad " not in listed.output, listed.output


def test_the_pack_must_beat_the_cheaper_single() -> None:
    # the first single after the warm-up may carry one-off costs: the cheaper one is the bar
    chooser = PackChooser(AUTO_K, auto=True)
    plan = chooser.plan([[trial(i, epochs=1) for i in range(6)]])
    chooser.observe(plan[0], plan[0], 3.0)
    chooser.observe(plan[1], plan[1], 1.0)
    assert chooser.observe(plan[2], plan[2], 4 * 1.5) and chooser.decision == "single"
