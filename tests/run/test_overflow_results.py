"""Issue 22 item 13 (run side): an objective value past a float's range is said to be one,
not "is inf"; a command's ``"step": 1e999`` (or 1.5) is dropped with a note, as every bad step
is, not stored as another step silently."""

from __future__ import annotations

import textwrap

from support.runs import trials_of
from support.studies import command_study, python_study


def test_an_int_too_large_for_a_float_says_so(project, invoke, db_url):
    (project / "proj" / "bigobj.py").write_text(textwrap.dedent('''
        def train(params, report):
            if params["x"] < 0.5:
                return 10**400
            return {"score": -10**400, "other": 10**400}
    '''))
    space = project / "proj" / "space.toml"
    space.write_text(python_study("big", "bigobj:train", trials=4, direction="maximize",
                                  study="max_consecutive_failures = 0"))
    r = invoke("run", space)
    assert r.exit_code == 0, r.output
    trials = trials_of(db_url, "big")
    assert {t.state for t in trials.values()} == {"failed"}
    for t in trials.values():
        sign = "" if t.params["x"] < 0.5 else "-"
        assert t.error == (f"metric 'score' is a number too large for a float (about "
                           f"{sign}10^400; a float holds at most about 1.8e308)"), t.error


def test_a_command_step_that_is_no_whole_number_is_dropped_with_a_note(project, invoke, db_url):
    prog = project / "proj" / "prog.py"
    prog.write_text(textwrap.dedent('''
        print('{"score": 0.5, "step": 1e999}', flush=True)
        print('{"score": 0.6, "step": 1.5}', flush=True)
        print('{"score": 0.25, "step": 3}', flush=True)
        print('{"score": 0.75}', flush=True)
    '''))
    space = project / "proj" / "space.toml"
    space.write_text(command_study("steps", prog, trials=1))
    r = invoke("run", space)
    assert r.exit_code == 0, r.output
    t = trials_of(db_url, "steps")[0]
    assert t.state == "complete" and t.value == 0.75
    assert t.steps == [(3, {"score": 0.25}), (4, {"score": 0.75})]
    assert "report with step inf ignored" in t.note and "report with step 1.5 ignored" in t.note
