"""`hpsearch validate`: the table, JSON samples, and every user error as exit 2 without traceback.

Also the fuzzing: random text and mutated valid spaces give a Space or a SpaceError, never
anything else, both from the library and through the CLI.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpsearch.cli import cli
from hpsearch.errors import SpaceError
from hpsearch.space import Space, dump_toml, load_space, parse_space

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "search_spaces" / "digits_mlp.toml"


def validate(*args: str):
    return CliRunner().invoke(cli, ["validate", *args])


def test_validate_digits_space_shows_table_and_five_samples() -> None:
    result = validate(str(DIGITS))
    assert result.exit_code == 0, result.output
    out = result.stdout
    for name in ("learning_rate", "bn_momentum", "log(1-x)", "optimizer = sgd",
                 "5 sample configurations", "#4"):
        assert name in out
    assert "#5" not in out


def test_validate_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the default database would be ./hpsearch.db
    result = validate(str(DIGITS))
    assert result.exit_code == 0
    assert list(tmp_path.iterdir()) == []


def test_validate_json_prints_only_configurations() -> None:
    result = validate(str(DIGITS), "--sample", "7", "--format", "json")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 7
    space = load_space(DIGITS)
    for line in lines:
        config = json.loads(line)
        assert set(config) <= set(space.params)
        assert all(space.params[k].contains(v) for k, v in config.items())
        assert ("momentum" in config) == (config["optimizer"] == "sgd")


def test_validate_grid_stops_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "g.toml"
    path.write_text('[study]\nsampler = "grid"\n[objective]\nkind = "python"\nfunction = "m:f"\n'
                    '[params]\na = { type = "choice", values = [1, 2, 3] }\n')
    result = validate(str(path), "--sample", "10", "--format", "json")
    assert result.exit_code == 0
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{"a": 1}, {"a": 2},
                                                                        {"a": 3}]
    assert "grid: 3 distinct configurations" in validate(str(path)).stdout


BAD = [
    ('[params]\nmomentum = { type = "uniform", low = 0.99, high = 0.8 }\n',
     "params.momentum: low (0.99) must be below high (0.8)"),
    ('[params]\nx = { type = "beta", low = 0, high = 1 }\n', "params.x: unknown type beta"),
    ('[params]\no = { type = "choice", values = ["a"] }\n'
     'x = { type = "uniform", low = 0, high = 1, when = { o = "b" } }\n',
     "params.x: when.o = b is not a value of o ([a])"),
    ('[study]\ndirection = "up"\n', "study.direction: must be maximize or minimize (got up)"),
    ('[study]\ntrials = 0\n', "study.trials: must be an integer >= 1 (got 0)"),
    ("[params\n", "invalid TOML: Expected ']' at the end of a table declaration (at line 1"),
]


@pytest.mark.parametrize("text, message", BAD)
def test_validate_errors_exit_2_with_file_and_field(tmp_path: Path, text: str,
                                                    message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = validate(str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}: {message}")
    assert "Traceback" not in result.output and result.stdout == ""


def test_validate_missing_file(tmp_path: Path) -> None:
    result = validate(str(tmp_path / "nope.toml"))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.toml'}: no such file"


# ---------------------------------------------------------------------------------------------
# fuzzing

scalars = (st.none() | st.booleans() | st.integers(-3, 300) | st.integers()
           | st.floats(allow_nan=False) | st.sampled_from(["uniform", "log_uniform", "int",
                                                           "choice", "log_one_minus", "fixed",
                                                           "grid", "sobol", "sgd", "adam"])
           | st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=6)
KEYS = ["type", "low", "high", "step", "log", "values", "value", "when", "grid", "grid_points",
        "name", "sampler", "trials", "seed", "direction", "kind", "function", "argv"]


def _strip_none(x: Any) -> Any:
    """TOML has no null: drop None (a mutation that removes the key)."""
    if isinstance(x, dict):
        return {k: _strip_none(v) for k, v in x.items() if v is not None}
    if isinstance(x, list):
        return [_strip_none(v) for v in x if v is not None]
    return x


@st.composite
def near_valid_spaces(draw: st.DrawFn) -> str:
    d = load_space(DIGITS).to_dict()
    d["study"]["sampler"] = draw(st.sampled_from(["random", "sobol", "grid"]))
    d["study"]["grid_points"] = 2
    for _ in range(draw(st.integers(1, 3))):
        table = draw(st.sampled_from(["study", "objective", "trainer", "params"]))
        target = d[table]
        if table == "params" and draw(st.booleans()):
            name = draw(st.sampled_from(sorted(target)))
            if not isinstance(target[name], dict):
                target[name] = {"type": "fixed", "value": target[name]}
            target = target[name]
        key = draw(st.sampled_from(sorted(target) + KEYS))
        target[key] = draw(values)
    return dump_toml(_strip_none(d))


def _check_library(text: str) -> None:
    from hpsearch.samplers import make_sampler

    try:
        space = parse_space(text, source="fuzz.toml")
        sampler = make_sampler(space.study.sampler, space, seed=space.study.seed)
        for i in range(3):
            sampler.propose(i)
    except SpaceError as exc:
        assert str(exc).startswith("fuzz.toml: ")
        return
    assert Space.from_dict(space.to_dict()).params_dict() == space.params_dict()


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200) | st.sampled_from(["[params]\nx = ", "[study]\n[study]\n", "a.b.c = 1"]))
def test_garbage_text_gives_space_or_space_error(text: str) -> None:
    _check_library(text)


@pytest.mark.slow  # over a second: out of `make test-fast`
@settings(max_examples=250, deadline=None)
@given(near_valid_spaces())
def test_near_valid_spaces_give_space_or_space_error(text: str) -> None:
    _check_library(text)


@pytest.fixture(scope="module")
def fuzz_dir():
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=near_valid_spaces() | st.text(max_size=100))
def test_cli_never_shows_a_traceback(fuzz_dir: Path, text: str) -> None:
    path = fuzz_dir / "fuzz.toml"
    path.write_text(text, encoding="utf-8")
    result = validate(str(path), "--sample", "3")
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert result.stderr.startswith(f"error: {path}: ")


def test_validate_checks_the_builtin_trainer_settings_and_params(tmp_path):
    from click.testing import CliRunner

    from hpsearch.cli import cli

    cases = [
        ('[trainer]\nepochs = -1\n', "trainer.epochs"),
        ('[trainer]\nepoch = 3\n', "trainer.epoch: unknown setting"),
        ('[trainer]\ndataset = "nope.csv"\n', "nope.csv"),
        ('[params]\nlr = { type = "log_uniform", low = 1e-4, high = 1e-1 }\n', "lr; known: "),
    ]
    for i, (text, message) in enumerate(cases):
        path = tmp_path / f"s{i}.toml"
        params = "" if "[params]" in text else "\n[params]\nlearning_rate = 0.01\n"
        path.write_text('[study]\nname = "v"\n' + text + params)
        r = CliRunner().invoke(cli, ["validate", str(path)])
        assert r.exit_code == 2, (text, r.output)
        assert message in r.stderr and str(path) in r.stderr, (text, r.stderr)
        assert "Traceback" not in r.output


# ---------------------------------------------------------------- sampler, forbid, limits (A2)
FORBID_SPACE = """[study]
name = "f"
sampler = "{sampler}"
[objective]
kind = "command"
argv = ["true"]
[params]
optimizer = {{ type = "choice", values = ["sgd", "adam"] }}
batch_size = {{ type = "choice", values = [64, 256, 512] }}
[[forbid]]
when = {{ optimizer = "sgd", batch_size = [256, 512] }}
"""


@pytest.mark.parametrize("sampler", ["random", "sobol", "grid", "tpe", "auto"])
def test_validate_reports_sampler_and_forbidden_share(tmp_path, sampler: str) -> None:
    from hpsearch.validate import validate_space

    path = tmp_path / "f.toml"
    path.write_text(FORBID_SPACE.format(sampler=sampler))
    result = validate_space(path, samples=4)
    assert result.sampler == sampler
    assert result.forbidden_share == pytest.approx(2 / 6, abs=0.02)
    assert len(result.configs) == 4
    assert not any(result.space.forbid.is_forbidden(c) for c in result.configs)
    r = validate(str(path))
    assert r.exit_code == 0 and f"sampler={sampler}" in r.stdout


def test_validate_refuses_a_space_with_nothing_allowed(tmp_path) -> None:
    path = tmp_path / "f.toml"
    path.write_text(FORBID_SPACE.format(sampler="random")
                    + '[[forbid]]\nwhen = { batch_size = [64, 256, 512] }\n')
    r = validate(str(path))
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert r.stderr.strip() == (f"error: {path}: forbid: the [[forbid]] tables forbid every "
                                f"configuration (none allowed in 10000 random draws)")


@pytest.mark.parametrize("text, message", [
    ('[study]\nname = "v"\nseed = 2147483648\n[params]\nx = 1\n',
     "study.seed: must be at most 2147483647"),
    ('[study]\nname = "v"\ngrid_points = 1000000000\n[params]\nlearning_rate = 0.01\n',
     "study.grid_points: must be at most 100000 (got 1000000000)"),
    ('[study]\nname = "v"\n[params]\nx = nan\n', "params.x: a fixed value must be a finite"),
    ('[study]\nname = "v"\n[params]\n', "params: nothing to search"),
    ('[study]\nname = "v"\nsampler = "bayes"\n[params]\nx = 1\n',
     "study.sampler: unknown sampler bayes (known: random, sobol, grid, tpe, gp, cmaes, auto, nsga2)"),
    ('[study]\nname = "v"\n[params]\nx = { type = "choice", values = ["a\\nb", "a\\nb"] }\n',
     r"params.x: duplicate value a\nb"),
])
def test_validate_limits_are_one_line_exit_2(tmp_path, text: str, message: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(text)
    r = validate(str(path))
    assert r.exit_code == 2, r.output
    assert message in r.stderr and r.stderr.count("\n") == 1 and "Traceback" not in r.output


# ------------------------------------------------- non-regular files (issue 22, items 8 and 13)
@pytest.mark.parametrize("path, kind", [("/dev/zero", "a character device"),
                                        ("/dev/urandom", "a character device")])
def test_a_device_is_refused_in_one_line(path, kind):
    result = validate(path)
    assert result.exit_code == 2, result.output
    assert result.output == f"error: {path}: is {kind}, not a space file (give a regular file)\n"


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    import os

    fifo = tmp_path / "space.toml"
    os.mkfifo(fifo)
    for command in (["validate"], ["run"], ["create"]):
        result = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path}/h.db", *command,
                                          str(fifo)])
        assert result.exit_code == 2, result.output
        assert result.output == (f"error: {fifo}: is a FIFO (named pipe), not a space file "
                                 "(give a regular file)\n")


def test_a_directory_as_space_file_is_one_line(tmp_path):
    for command in (["validate"], ["run"], ["create"]):
        result = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path}/h.db", *command,
                                          str(tmp_path)])
        assert result.exit_code == 2, result.output
        assert result.output == f"error: {tmp_path}: is a directory, not a space file\n"


def test_a_file_over_the_size_cap_is_refused_unread(tmp_path, monkeypatch):
    import hpsearch.space.files as files

    monkeypatch.setattr(files, "MAX_SPACE_BYTES", 1000)
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * 2000 + "\n")
    with pytest.raises(SpaceError, match=r"big.toml: larger than 0 MB, too large"):
        load_space(big)


@pytest.mark.slow
@pytest.mark.parametrize("signum, code", [(15, 143), (2, 130)])
def test_a_signal_while_a_large_file_loads_stops_validate(tmp_path, signum, code):
    """SIGTERM/SIGINT during loading (a 7.5 MB file parses for seconds) ends the command with
    one line and 128 + signal, as anywhere else."""
    import os
    import subprocess

    from support.runs import cli_argv, wait_until

    big = tmp_path / "big.toml"
    big.write_text('[study]\nmetric = "m"\n[params]\nx = { type = "choice", values = ['
                   + ", ".join(["0"] * 2_500_000) + "] }\n")
    proc = subprocess.Popen(cli_argv("validate", str(big)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)

    def cpu_seconds() -> float:
        fields = open(f"/proc/{proc.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    # Past start-up (imports take well under a second of CPU), inside the parse (seconds).
    wait_until(lambda: cpu_seconds() > 1.5, proc=proc, what="loading", timeout=120)
    proc.send_signal(signum)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_validate_refuses_the_study_name_run_refuses(tmp_path):
    """One rule (storage.limits.name_problem): a 300-character name passed validate, then run
    refused it."""
    space = tmp_path / "long.toml"
    space.write_text(f'[study]\nname = "{"n" * 300}"\nmetric = "m"\n[objective]\nkind = "command"\n'
                     'argv = ["echo"]\n[params]\nx = { type = "uniform", low = 0, high = 1 }\n')
    result = validate(str(space))
    assert result.exit_code == 2, result.output
    assert result.output == f"error: {space}: study name: 300 characters, at most 200\n"
    run = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path}/h.db", "run", str(space)])
    assert run.exit_code == 2 and "study name: 300 characters, at most 200" in run.output
    long_metric = space.read_text().replace('"' + "n" * 300 + '"', '"ok"').replace(
        'metric = "m"', f'metric = "{"m" * 101}"')
    space.write_text(long_metric)
    assert validate(str(space)).output == f"error: {space}: metric name: 101 characters, at most 100\n"


def test_a_space_of_many_parameters_is_shown_as_plain_aligned_text(tmp_path):
    """Issue 22, item 9: rich laid out a 25,000-row table in over a minute of CPU; above 500
    parameters the tables are plain text, one line per parameter."""
    space = tmp_path / "wide.toml"
    space.write_text('[study]\nmetric = "m"\n[objective]\nkind = "command"\nargv = ["echo"]\n'
                     "[params]\n" + "".join(f'p{i} = {{ type = "uniform", low = 0, high = 1 }}\n'
                                            for i in range(600)))
    result = validate(str(space), "--sample", "2")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1:4] == [f"{space}: parameters", "name  type     range   scale   condition",
                          "p0    uniform  [0, 1]  linear"]
    assert "2 sample configurations ('-': inactive)" in lines
    assert len(lines) == 1 + 2 * (2 + 600)
