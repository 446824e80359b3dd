"""The command and python objectives at the library level, plus timeparse."""

from __future__ import annotations

import re
import textwrap

import pytest

from hpsearch.errors import SpaceError
from hpsearch.objectives import TrialContext, TrialFailed, extract_value, make_objective
from hpsearch.space import parse_space
from hpsearch.timeparse import parse_duration

SCRIPT = textwrap.dedent('''
    import json, os, sys, time
    params = json.loads(os.environ["HPSEARCH_PARAMS"])
    mode = sys.argv[1]
    print("starting", flush=True)
    if mode == "json":
        for step in range(3):
            print(json.dumps({"step": step + 1, "acc": 0.1 * (step + 1), "lr": float(sys.argv[2])}))
    elif mode == "regex":
        print("epoch 1 acc=0.25"); print("epoch 2 acc=0.75"); print("done")
    elif mode == "fail":
        print("some progress", file=sys.stderr); print("Traceback: it broke", file=sys.stderr); sys.exit(3)
    elif mode == "sleep":
        time.sleep(30)
    elif mode == "silent":
        print("nothing useful")
''')


def command_space(tmp_path, argv, extra=""):
    (tmp_path / "prog.py").write_text(SCRIPT)
    text = f'''
[study]
metric = "acc"
[objective]
kind = "command"
argv = {argv}
{extra}
[params]
lr = {{ type = "log_uniform", low = 1e-3, high = 1e-1 }}
'''
    return parse_space(text, source=str(tmp_path / "space.toml"))


def run(space, params, steps=None):
    steps = [] if steps is None else steps
    ctx = TrialContext(number=0, seed=1, device=None, report=lambda s, m: steps.append((s, dict(m))))
    return make_objective(space).run(params, ctx)


def test_command_json_lines_give_result_and_curve(tmp_path):
    space = command_space(tmp_path, '["python", "prog.py", "json", "{lr}"]')
    steps = []
    result = run(space, {"lr": 0.01}, steps)
    assert result == {"acc": pytest.approx(0.3), "lr": 0.01}
    assert [s for s, _ in steps] == [1, 2, 3] and steps[0][1]["acc"] == pytest.approx(0.1)
    assert extract_value(result, "acc")[0] == pytest.approx(0.3)


def test_command_metric_regex(tmp_path):
    space = command_space(tmp_path, '["python", "prog.py", "regex"]', 'metric_regex = "acc=([0-9.]+)"')
    steps = []
    assert run(space, {"lr": 0.01}, steps) == {"acc": 0.75}
    assert steps == [(1, {"acc": 0.25}), (2, {"acc": 0.75})]


def test_command_nonzero_exit_keeps_stderr_tail(tmp_path):
    space = command_space(tmp_path, '["python", "prog.py", "fail"]')
    with pytest.raises(TrialFailed) as info:
        run(space, {"lr": 0.01})
    assert str(info.value) == "exit code 3; stderr:\nsome progress\nTraceback: it broke"


@pytest.mark.slow  # over a second: out of `make test-fast`
def test_command_timeout_kills_the_trial(tmp_path):
    space = command_space(tmp_path, '["python", "prog.py", "sleep"]', 'timeout = "1s"')
    with pytest.raises(TrialFailed, match=r"timed out after 1 s \(objective.timeout\)"):
        run(space, {"lr": 0.01})


def test_command_without_metric_line_fails(tmp_path):
    space = command_space(tmp_path, '["python", "prog.py", "silent"]')
    with pytest.raises(TrialFailed, match="no JSON line with 'acc' on stdout"):
        run(space, {"lr": 0.01})


def test_command_missing_program_is_an_objective_error_up_front(tmp_path):
    from hpsearch.errors import ObjectiveError

    with pytest.raises(ObjectiveError, match="objective.argv: program '/no/such/program' not found in"):
        make_objective(command_space(tmp_path, '["/no/such/program"]'))
    with pytest.raises(ObjectiveError, match="program 'no-such-program-xyz' not found on PATH"):
        make_objective(command_space(tmp_path, '["no-such-program-xyz"]'))


def test_command_literal_braces_are_doubled(tmp_path):
    space = command_space(tmp_path, '["python", "-c", "import json; print(json.dumps({{\\"acc\\": {lr}}}))"]')
    assert run(space, {"lr": 0.5}) == {"acc": 0.5}


@pytest.mark.parametrize(
    "argv, extra, message",
    [
        ('[]', "", "objective.argv: a command objective needs argv = a non-empty list of strings (got [])"),
        ('["python", "prog.py", "{nope}"]', "", "objective.argv: {nope} in '{nope}' is not a parameter"),
        ('["python", "prog.py", "--x={lr"]', "", "objective.argv: '--x={lr': expected '}' before end of string"),
        ('["python", "-c", "print({\\"acc\\": 1})"]', "", "is not a parameter (write a literal brace as {{ or }})"),
        *[(f'["python", "prog.py", "{arg}"]', "",
           f"objective.argv: {arg} in '{arg}': only {{name}} of a parameter is allowed (no format "
           "spec, conversion, attribute or index; a literal brace is {{ or }})")
          for arg in ("{lr[0]}", "{lr.real}", "{lr:>99999999999}", "{lr:{lr}}", "{lr:%}", "{lr!r}",
                      "{}")],
        ('["python"]', 'metric_regex = "("', "objective.metric_regex: not a regular expression"),
        ('["python"]', 'metric_regex = "acc"', "objective.metric_regex: needs a group"),
        ('["python"]', 'timeout = "later"', "objective.timeout: not a duration: 'later'"),
    ],
)
def test_command_settings_are_checked_up_front(tmp_path, argv, extra, message):
    # One message per mistake: where the space loader checks too, it says the same.
    try:
        space = command_space(tmp_path, argv, extra)
    except SpaceError as exc:
        assert message in str(exc)
        return
    with pytest.raises(SpaceError, match=re.escape(message)):
        make_objective(space)


@pytest.mark.parametrize("result, message", [
    (True, "returned a bool"), ("x", "returned str"), ({"acc": "high"}, "is not a number"),
    ({"acc": b"0"}, "metric 'acc' is not a number: \"b'0'\""),
    ({"acc": bytearray(b"1")}, "is not a number"),
    ({"acc": float("nan")}, "'acc' is nan"), ({"other": 1}, "missing from the result (got: 'other')"),
])
def test_extract_value_rejects_bad_results(result, message):
    with pytest.raises(TrialFailed) as info:
        extract_value(result, "acc")
    assert message in str(info.value)


@pytest.mark.parametrize("text, seconds", [
    ("90", 90), (45, 45), ("90s", 90), ("30m", 1800), ("2h", 7200), ("1h30m", 5400), ("1.5h", 5400), ("1d", 86400),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "", "10x", "m", "-5", "0", "1h 2q", True])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("function", ['"train"', '"mod:"', '"1mod:f"', "3"])
def test_python_function_is_refused_with_one_message(tmp_path, function):
    from hpsearch.objectives import check_objective

    text = f'[study]\nmetric = "acc"\n[objective]\nkind = "python"\nfunction = {function}\n' \
           '[params]\nx = { type = "uniform", low = 0.0, high = 1.0 }\n'
    expected = 'objective.function: a python objective needs function = "package.module:name"'
    # the space loader may refuse it first; either way the message is this one
    with pytest.raises(SpaceError, match=re.escape(expected)):
        check_objective(parse_space(text, source="space.toml"))


def test_a_python_objective_is_checked_without_importing_it(tmp_path):
    from hpsearch.objectives import check_objective

    text = '[study]\nmetric = "acc"\n[objective]\nkind = "python"\nfunction = "no_such_mod:f"\n' \
           '[params]\nx = { type = "uniform", low = 0.0, high = 1.0 }\n'
    check_objective(parse_space(text, source=str(tmp_path / "space.toml")))  # no import: no error
