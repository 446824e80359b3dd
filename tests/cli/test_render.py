"""The value formatters every table and line of the CLI shares."""

from __future__ import annotations

from hpsearch.render import fmt_seconds, fmt_value, range_text


def test_fmt_value_pins_each_kind():
    assert [fmt_value(v) for v in (None, True, False, 0.000123456, 12345678.9, 3, "adam")] == [
        "-", "true", "false", "0.0001235", "1.235e+07", "3", "adam"]


def test_fmt_seconds_switches_to_minutes_at_60():
    assert [fmt_seconds(s) for s in (None, 0.04, 59.94, 60, 125.5)] == [
        "-", "0.0s", "59.9s", "1m00s", "2m05s"]


def test_range_text_gives_the_share_of_the_files_range():
    assert range_text(None, None) == "-"
    assert range_text("[0, 1]", 1.0) == "[0, 1]"
    assert range_text("[0.2, 0.5]", 0.3) == "[0.2, 0.5] (30%)"
    assert range_text("[0.2, 0.25]", 0.05) == "[0.2, 0.25] (5%)"


# ------------------------------------------------------------------ issue 12: what people see
import io  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import textwrap  # noqa: E402

from click.testing import CliRunner  # noqa: E402

from hpsearch import render  # noqa: E402
from hpsearch.cli import cli  # noqa: E402
from hpsearch.run import RunSummary, TrialEvent  # noqa: E402
from hpsearch.storage import TrialRecord  # noqa: E402

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")


def trial(number=0, state="complete", value=0.5, **kw) -> TrialRecord:
    return TrialRecord(id=number + 1, number=number, round=1, state=state, params={"x": 0.1},
                       value=value, metrics=None, seed=1, worker="w", device=None,
                       started_at=100.0, finished_at=100.1, error=kw.get("error"))


def test_validate_shows_membership_conditions_and_bracketed_values(tmp_path):
    """rich markup ate `[sgd, rmsprop]` (item 11): every user string is escaped."""
    (tmp_path / "s.toml").write_text(textwrap.dedent('''
        [study]
        name = "[b]bold[/b]"
        metric = "m"
        [objective]
        kind = "python"
        function = "x:f"
        [params]
        optimizer = { type = "choice", values = ["sgd", "rmsprop", "[adam]"] }
        momentum = { type = "uniform", low = 0.1, high = 0.9, when = { optimizer = ["sgd", "rmsprop"] } }
    '''))
    r = CliRunner().invoke(cli, ["validate", str(tmp_path / "s.toml")])
    assert r.exit_code == 0, r.output
    assert "optimizer in [sgd, rmsprop]" in r.stdout
    assert "[adam]" in r.stdout and "[b]bold[/b]" in r.stdout


def test_summary_wording_counts_and_timestamps():
    out = io.StringIO()
    sys_stdout, sys.stdout = sys.stdout, out
    try:
        render.echo_run_summary(RunSummary(study="s", round=1, ran=1, states={"complete": 1},
                                           best=trial()), stamp=True)
        render.echo_run_summary(RunSummary(study="s", round=1, stopped="busy", busy=(1, 1)))
        render.echo_run_summary(RunSummary(study="s", round=1))
    finally:
        sys.stdout = sys_stdout
    first, busy, nothing = out.getvalue().splitlines()
    assert STAMP.match(first) and "ran 1 trial (1 complete)" in first
    assert busy == "study s: 1 trial already running (--max-concurrent 1); started none"
    assert nothing.startswith("study s round 1: nothing to run, the round has its target")


def test_summary_tells_this_runs_best_from_the_studys():
    other = trial(number=3, value=0.9)
    summary = RunSummary(study="s", round=1, ran=1, states={"complete": 1}, best=trial(value=0.5))
    summary.study_best = other
    assert render.best_text(summary) == ("this run's best: trial 0: 0.5; "
                                         "study's best: trial 3: 0.9")
    summary.study_best = summary.best
    assert render.best_text(summary) == "best trial 0: 0.5 (the study's best)"


def test_trial_line_has_no_empty_value_and_no_double_space():
    ev = TrialEvent("end", trial(state="failed", value=None, error="boom\ntrace"), None, 1, 2)
    assert render.trial_line(ev) == "[1/2] trial 0 failed (0.1s) error: boom"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_shows_the_step_and_keeps_finished_trials(monkeypatch):
    """item 12: the running trial's step and last metrics on the bar, one line per finished
    trial above it, and no bar at all (no `0/?`) when nothing runs."""
    tty = _Tty()
    monkeypatch.setattr(sys, "stdout", tty)
    with render.RunProgress(quiet=False) as progress:
        pass
    assert tty.getvalue() == "" and progress.bar is None
    with render.RunProgress(quiet=False) as progress:
        progress.event(TrialEvent("start", trial(state="running"), None, 0, 2))
        progress.event(TrialEvent("step", trial(state="running"), None, 0, 2, step=3,
                                  metrics={"train_loss": 0.5, "val_loss": 0.25}))
        fields = progress.bar.tasks[0].fields
        assert fields["detail"] == "step 3: val_loss=0.25, train_loss=0.5"
        assert progress.bar.tasks[0].description == "trial 0 running"
        assert fields["count"] == "0/2"
        progress.event(TrialEvent("end", trial(), 0.5, 1, 2))
    assert "[1/2] trial 0 complete value=0.5 best 0.5 (0.1s)" in tty.getvalue()
    assert "0/?" not in tty.getvalue()


def test_help_lists_whole_command_summaries_and_every_exit_code():
    from hpsearch.errors import EXIT_CODES

    r = CliRunner().invoke(cli, ["--help"])
    commands = r.stdout.split("Commands:")[1].split("Exit codes:")[0]
    assert "..." not in commands and "…" not in commands
    assert "Create or resume the study of SPACE_FILE and run trials until it has its target." \
        in " ".join(commands.split())
    for code, text in EXIT_CODES.items():
        assert f"{code:>3}  {text}" in r.stdout
