"""Coarse to fine: the pure narrowing step, refinement rounds in storage, and the CLI."""

from __future__ import annotations

import json
import math
import statistics
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from hpsearch.cli import cli
from hpsearch.errors import StudyError
from hpsearch.samplers.model import Finished
from hpsearch.space import Choice, IntParam, LogUniform, Uniform
from hpsearch.refine import (
    MIN_UNIT_WIDTH, narrow, refine_and_run, refine_study, top_count, unit_width,
)
from hpsearch.report import rounds_overview
from hpsearch.samplers import make_sampler
from hpsearch.space import Space, parse_space

ROOT = Path(__file__).resolve().parents[2]

# The synthetic objective: a bump around learning_rate = 10**-2.5 and dropout = 0.3, 0.25
# decades and 0.05 wide; hidden_units does not matter. Gaussian tails keep the order of the
# trials far from the bump (nearer is better), so top trials point towards it.
OPT_LR, OPT_DROPOUT = 10 ** -2.5, 0.3

OBJECTIVE_SRC = """
import math

def objective(params, report):
    dl = math.log10(params["learning_rate"]) + 2.5
    dd = params["dropout"] - 0.3
    return {"score": math.exp(-dl * dl / (2 * 0.25 ** 2) - dd * dd / (2 * 0.05 ** 2))}
"""

BUMP_PARAMS = """
[params]
learning_rate = { type = "log_uniform", low = 1e-5, high = 1.0 }
dropout       = { type = "uniform", low = 0.0, high = 0.5 }
hidden_units  = { type = "int", low = 16, high = 256, log = true }
"""


def bump(config: dict) -> float:
    dl = math.log10(config["learning_rate"]) + 2.5
    dd = config["dropout"] - OPT_DROPOUT
    return math.exp(-dl * dl / (2 * 0.25 ** 2) - dd * dd / (2 * 0.05 ** 2))


def space_of(params: str, study: str = "") -> Space:
    return parse_space(f"[study]\nname = \"t\"\nmetric = \"score\"\n{study}\n{params}",
                       source="<test>")


def contains_optimum(space: Space) -> bool:
    return (space.params["learning_rate"].contains(OPT_LR)
            and space.params["dropout"].contains(OPT_DROPOUT))


def inside(space: Space, config: dict) -> bool:
    return all(space.params[k].contains(v) for k, v in config.items() if space.params[k].searchable)


# ------------------------------------------------------------------------------ narrow()
def test_log_scale_box_is_spanned_in_unit_coordinates():
    space = space_of('[params]\nlr = { type = "log_uniform", low = 1e-4, high = 1e-1 }')
    top = [{"lr": 1e-3}, {"lr": 1e-2}, {"lr": 3e-3}]
    new, changes = narrow(space, space, top, top[0], margin=0.1)
    lr = new.params["lr"]
    assert isinstance(lr, LogUniform)
    # u(1e-3) = 1/3, u(1e-2) = 2/3; widened by 0.1 * 1/3 on each side, in decades
    assert lr.low == pytest.approx(10 ** -3.1) and lr.high == pytest.approx(10 ** -1.9)
    assert unit_width(lr, space.params["lr"]) == pytest.approx(0.4)
    assert changes["lr"]["old"] == [1e-4, 1e-1] and changes["lr"]["new"] == [lr.low, lr.high]


def test_log_one_minus_box_is_spanned_in_one_minus_beta():
    space = space_of('[params]\nbeta = { type = "log_one_minus", low = 0.9, high = 0.9999 }')
    top = [{"beta": 0.99}, {"beta": 0.999}]
    new, _ = narrow(space, space, top, top[0], margin=0.0)
    assert new.params["beta"].low == pytest.approx(0.99)
    assert new.params["beta"].high == pytest.approx(0.999)


def test_integers_stay_integers_and_keep_their_top_values():
    space = space_of('[params]\nunits = { type = "int", low = 1, high = 100 }\n'
                     'layers = { type = "int", low = 1, high = 3 }\n'
                     'size = { type = "int", low = 8, high = 512, step = 8 }')
    top = [{"units": 10, "layers": 2, "size": 64}, {"units": 30, "layers": 2, "size": 64},
           {"units": 20, "layers": 2, "size": 64}]
    new, _ = narrow(space, space, top, top[0], margin=0.1)
    units, layers, size = (new.params[n] for n in ("units", "layers", "size"))
    assert all(isinstance(p, IntParam) for p in (units, layers, size))
    assert all(isinstance(v, int) for p in (units, layers, size) for v in (p.low, p.high))
    assert units.low <= 10 and units.high >= 30 and (units.low, units.high) != (1, 100)
    # identical top values still leave a valid range (low < high) around them
    assert layers.low <= 2 <= layers.high and layers.low < layers.high
    assert size.low <= 64 <= size.high and size.high - size.low >= 8
    assert (size.low - 8) % 8 == 0 and (size.high - 8) % 8 == 0


def test_identical_continuous_top_values_keep_a_minimum_width():
    space = space_of('[params]\nx = { type = "uniform", low = 0.0, high = 1.0 }')
    top = [{"x": 0.5}] * 3
    new, _ = narrow(space, space, top, top[0], margin=0.1)
    assert new.params["x"].low == pytest.approx(0.5 - MIN_UNIT_WIDTH / 2)
    assert new.params["x"].high == pytest.approx(0.5 + MIN_UNIT_WIDTH / 2)


def test_choices_keep_the_values_of_the_top_trials_and_conditions_still_validate():
    space = space_of("""[params]
optimizer = { type = "choice", values = ["adam", "sgd", "rmsprop"] }
momentum  = { type = "uniform", low = 0.8, high = 0.99, when = { optimizer = "sgd" } }
beta1     = { type = "log_one_minus", low = 0.8, high = 0.99, when = { optimizer = ["adam", "sgd"] } }
lr        = { type = "log_uniform", low = 1e-4, high = 1e-1 }
""")
    top = [{"optimizer": "adam", "beta1": 0.9, "lr": 1e-3},
           {"optimizer": "adam", "beta1": 0.95, "lr": 2e-3},
           {"optimizer": "rmsprop", "lr": 5e-3}]
    new, changes = narrow(space, space, top, top[0], margin=0.1)
    assert new.params["optimizer"] == Choice("optimizer", ("adam", "rmsprop"))
    assert "momentum" not in new.params  # optimizer = "sgd" can no longer happen
    assert changes["momentum"]["new"] is None and "removed" in changes["momentum"]["note"]
    assert new.params["beta1"].when == {"optimizer": ["adam"]}
    assert Space.from_dict(new.to_dict()) == new  # a valid space that survives storage
    # one value left: a one-value choice
    only, _ = narrow(space, space, top[:2], top[0], margin=0.1)
    assert only.params["optimizer"].values == ("adam",)
    assert Space.from_dict(only.to_dict()) == only


def test_a_conditional_parameter_inactive_in_all_top_trials_keeps_its_range():
    space = space_of("""[params]
optimizer = { type = "choice", values = ["adam", "sgd"] }
momentum  = { type = "uniform", low = 0.8, high = 0.99, when = { optimizer = "sgd" } }
batch_norm = false
bn_momentum = { type = "log_one_minus", low = 0.9, high = 0.999, when = { batch_norm = true } }
""")
    top = [{"optimizer": "adam", "batch_norm": False}] * 2 + [{"optimizer": "sgd", "momentum": 0.9,
                                                              "batch_norm": False}]
    new, changes = narrow(space, space, top, top[0], margin=0.1)
    assert new.params["bn_momentum"] == space.params["bn_momentum"]
    assert "range kept" in changes["bn_momentum"]["note"]
    assert new.params["momentum"].low <= 0.9 <= new.params["momentum"].high


def test_a_best_trial_on_an_edge_extends_that_side_instead_of_narrowing_it():
    original = space_of('[params]\nx = { type = "uniform", low = 0.0, high = 1.0 }')
    round_box = original.with_params({"x": Uniform("x", 0.4, 0.6)})
    top = [{"x": 0.6}, {"x": 0.59}, {"x": 0.55}]
    new, changes = narrow(round_box, original, top, top[0], margin=0.1)
    x = new.params["x"]
    assert x.high == pytest.approx(0.7)  # 0.6 + half the round's box width
    assert 0.54 < x.low < 0.55  # the other side narrowed: 0.55 - 0.1 * 0.05
    assert changes["x"]["edge"] == ["high"]
    # not on an edge: both sides narrow
    inner = [{"x": 0.5}, {"x": 0.45}, {"x": 0.52}]
    new, changes = narrow(round_box, original, inner, inner[0], margin=0.1)
    assert 0.4 < new.params["x"].low and new.params["x"].high < 0.6 and "edge" not in changes["x"]


def test_bounds_are_clipped_to_the_original_space():
    original = space_of('[params]\nlr = { type = "log_uniform", low = 1e-4, high = 1e-1 }\n'
                        'x = { type = "uniform", low = 0.0, high = 1.0 }')
    round_box = original.with_params({"lr": LogUniform("lr", 1e-2, 1e-1),
                                      "x": Uniform("x", 0.0, 0.2)})
    top = [{"lr": 1e-1, "x": 0.0}, {"lr": 5e-2, "x": 0.1}]
    new, changes = narrow(round_box, original, top, top[0], margin=0.5)
    assert new.params["lr"].high == 1e-1 and new.params["x"].low == 0.0
    assert changes["lr"]["edge"] == ["high"] and changes["x"]["edge"] == ["low"]


def test_the_box_always_contains_the_best_trial_so_far():
    space = space_of('[params]\nx = { type = "uniform", low = 0.0, high = 1.0 }')
    top = [{"x": 0.2}, {"x": 0.25}, {"x": 0.3}]
    new, _ = narrow(space, space, top, {"x": 0.5}, margin=0.0)
    assert new.params["x"].low == pytest.approx(0.2) and new.params["x"].high == pytest.approx(0.5)


def test_top_count_defaults_to_a_fifth_but_at_least_three():
    assert [top_count(n) for n in (0, 5, 15, 16, 30, 100)] == [3, 3, 3, 4, 6, 20]
    assert top_count(100, top=7) == 7 and top_count(10, top_frac=0.5) == 5


# ------------------------------------------------------------------------------ does it help?
def _coarse_to_fine(seed: int, *, coarse: int = 30, per_round: int = 20, rounds: int = 2,
                    kind: str = "sobol"):
    """In memory: ``coarse`` random trials, then ``rounds`` refined rounds sampled by ``kind``
    (a model sees its round's trials, 10 Sobol start-up points first, as in a study)."""
    original = space_of(BUMP_PARAMS, 'direction = "maximize"')
    smp = make_sampler("random", original, seed=seed)
    round_trials = [(c, bump(c)) for c in (smp.propose(i) for i in range(coarse))]
    history = list(round_trials)
    spaces = [original]
    for r in range(rounds):
        ranked = sorted(round_trials, key=lambda t: -t[1])
        best = max(history, key=lambda t: t[1])
        new, _ = narrow(spaces[-1], original, [c for c, _ in ranked[:top_count(len(ranked))]],
                        best[0], margin=0.1)
        spaces.append(new)
        smp = make_sampler(kind, new, seed=seed + r + 1)
        round_trials = []
        for i in range(per_round):
            if smp.uses_history:
                done = [Finished(c, v) for c, v in round_trials]
                config = smp.propose(done, [], index=i).params
            else:
                config = smp.propose(i)
            round_trials.append((config, bump(config)))
        assert all(inside(new, c) for c, _ in round_trials)
        history += round_trials
    return max(v for _, v in history), spaces, history


def test_coarse_to_fine_beats_random_search_with_the_same_budget():
    original = space_of(BUMP_PARAMS)
    refined, random_ = [], []
    for seed in range(12):
        best, spaces, history = _coarse_to_fine(seed)
        refined.append(best)
        smp = make_sampler("random", original, seed=seed + 1000)
        random_.append(max(bump(smp.propose(i)) for i in range(len(history))))
        # each round's box contains the best trial of every round before it
        for i, sp in enumerate(spaces[1:], start=1):
            before = history[:30 + 20 * (i - 1)]
            assert inside(sp, max(before, key=lambda t: t[1])[0])
    assert statistics.median(refined) > statistics.median(random_) + 0.1, (refined, random_)


@pytest.mark.parametrize("kind", ["sobol", pytest.param("auto", marks=pytest.mark.slow)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_refined_boxes_contain_the_optimum_and_shrink(seed, kind):
    # auto is refine's default: a model's trials cluster round its best guess, and the next box
    # must still hold the optimum (the reason Sobol was the default before it was measured).
    _, spaces, _ = _coarse_to_fine(seed, kind=kind)
    original = spaces[0]
    for name in ("learning_rate", "dropout"):
        widths = [unit_width(s.params[name], original.params[name]) for s in spaces]
        assert widths == sorted(widths, reverse=True) and widths[-1] < 0.5 * widths[0], widths
    assert all(contains_optimum(s) for s in spaces)


# ------------------------------------------------------------------------------ with storage
def _bump_study(tmp_path: Path, module: str, *, trials: int) -> Path:
    (tmp_path / f"{module}.py").write_text(OBJECTIVE_SRC)
    path = tmp_path / "bump.toml"
    path.write_text(textwrap.dedent(f"""\
        [study]
        name = "bump"
        metric = "score"
        direction = "maximize"
        trials = {trials}
        seed = 3

        [objective]
        kind = "python"
        function = "{module}:objective"
        """) + BUMP_PARAMS)
    return path


def test_refinement_rounds_in_storage_zoom_in_and_survive_a_restart(tmp_path, monkeypatch):
    from hpsearch.run import RunOptions, run_study
    from hpsearch.samplers import auto
    from hpsearch.space import load_space
    from hpsearch.storage import Storage

    # The bump stands in for a costly objective: auto's rounds take GP's turns as they would
    # where trials take seconds (instant trials would get TPE alone: the cost rule of auto.py).
    monkeypatch.setattr(auto, "PROPOSAL_SHARE", float("inf"))

    path = _bump_study(tmp_path, "bump_storage", trials=30)
    storage = Storage(f"sqlite:///{tmp_path}/x.db")
    space = load_space(path)
    run_study(storage, space)
    done = list(refine_and_run(storage, "bump", rounds=2, trials=15))
    assert [r.number for r, _ in done] == [2, 3] and all(s.ran == 15 for _, s in done)
    study = storage.get_study("bump")
    rounds = storage.rounds(study.id)
    assert [r.parent for r in rounds] == [None, 1, 2] and rounds[2].sampler == "auto"
    rule = rounds[1].rule
    assert rule["from_round"] == 1 and rule["top"] == 6 and len(rule["top_trials"]) == 6
    assert rule["margin"] == 0.1 and set(rule["params"]) == {"learning_rate", "dropout", "hidden_units"}
    original = Space.from_dict(rounds[0].space)
    prev = 1.0
    for r in rounds[1:]:
        sp = Space.from_dict(r.space)
        best_before = max((t for t in storage.trials(study, states=["complete"]) if t.round < r.number),
                          key=lambda t: t.value)
        assert inside(sp, best_before.params) and contains_optimum(sp)
        width = unit_width(sp.params["learning_rate"], original.params["learning_rate"])
        assert width < prev
        prev = width
        assert all(inside(sp, t.params) for t in storage.trials(study, round_=r.number))
    overview = rounds_overview(storage, "bump")
    assert [r["complete"] for r in overview.rounds] == [30, 15, 15]
    assert overview.widths["dropout"][0] == 1.0 and overview.widths["dropout"][2] < 0.5
    # a restart (`hpsearch run bump.toml --add 4`) continues in the latest, narrowed round
    summary = run_study(storage, load_space(path), RunOptions(add=4))
    assert summary.round == 3 and summary.ran == 4
    last = Space.from_dict(rounds[2].space)
    assert all(inside(last, t.params) for t in storage.trials(study, round_=3))
    assert len(storage.trials(study, round_=3)) == 19


def test_refine_refuses_a_round_with_too_few_completed_trials(tmp_path):
    from hpsearch.run import run_study
    from hpsearch.space import load_space
    from hpsearch.storage import Storage

    path = _bump_study(tmp_path, "bump_few", trials=2)
    db = f"sqlite:///{tmp_path}/x.db"
    run_study(Storage(db), load_space(path))
    with pytest.raises(StudyError) as err:
        refine_study(Storage(db), "bump")
    assert str(err.value) == ("cannot refine study 'bump' from round 1: it has 2 completed "
                              "trials, 3 are needed (run more trials, or pass a smaller --top)")
    result = CliRunner().invoke(cli, ["--db", db, "refine", "bump", "--top", "5"])
    assert result.exit_code == 3
    assert ("error: cannot refine study 'bump' from round 1: it has 2 completed trials, 5 are "
            "needed") in result.output
    assert len(Storage(db).rounds(Storage(db).get_study("bump").id)) == 1  # nothing stored


def test_refine_defaults_to_auto_and_takes_its_samplers_from_the_registry(tmp_path):
    from hpsearch.refine import DEFAULT_REFINE_SAMPLER
    from hpsearch.run import run_study
    from hpsearch.samplers import SAMPLERS
    from hpsearch.space import load_space
    from hpsearch.storage import Storage

    assert DEFAULT_REFINE_SAMPLER == "auto"  # the CLI's default repeats it (a light import)
    path = _bump_study(tmp_path, "bump_default", trials=6)
    db = f"sqlite:///{tmp_path}/x.db"
    run_study(Storage(db), load_space(path))
    result = CliRunner().invoke(cli, ["--db", db, "refine", "bump", "--sampler", "nope"])
    assert result.exit_code == 2
    assert "Invalid value for '--sampler': 'nope' is not one of 'auto', 'sobol'" in result.stderr
    assert all(f"'{name}'" in result.stderr for name in SAMPLERS)
    result = CliRunner().invoke(cli, ["--db", db, "refine", "bump", "--top", "3", "--trials", "2"])
    assert result.exit_code == 0, result.output
    assert "round 2 (from round 1, top 3 trials, auto): ran 2 trials (2 complete)" in result.stdout
    storage = Storage(db)
    assert storage.latest_round(storage.get_study("bump").id).sampler == "auto"
    result = CliRunner().invoke(cli, ["--db", db, "refine", "bump", "--from-round", "1", "--top",
                                      "3", "--trials", "2", "--sampler", "sobol"])
    assert result.exit_code == 0, result.output
    assert "round 3 (from round 1, top 3 trials, sobol): ran 2 trials (2 complete)" in result.stdout


# ------------------------------------------------------------------------------ the CLI, digits
@pytest.mark.slow
def test_refine_a_digits_study_end_to_end(tmp_path):
    text = (ROOT / "search_spaces" / "digits_mlp.toml").read_text()
    text = (text.replace("trials = 20", "trials = 5").replace("epochs = 20", "epochs = 2")
            .replace('device = "auto"', 'device = "cpu"'))
    space_file = tmp_path / "digits_mlp.toml"
    space_file.write_text(text)
    db = f"sqlite:///{tmp_path}/x.db"
    runner = CliRunner()

    def invoke(*args: str):
        result = runner.invoke(cli, ["--db", db, *args])
        assert result.exit_code == 0, result.output
        return result.output

    invoke("run", str(space_file))
    out = invoke("refine", "digits-mlp", "--top", "3", "--trials", "3")
    assert "round 2 (from round 1, top 3 trials, auto): ran 3 trials" in out

    table = invoke("rounds", "digits-mlp")
    assert "round 1" in table and "round 2" in table and "learning_rate" in table
    overview = json.loads(invoke("rounds", "digits-mlp", "--format", "json"))
    r1, r2 = overview["rounds"]
    assert (r1["complete"], r2["complete"], r2["parent"], r2["top"]) == (5, 3, 1, 3)
    lr1, lr2 = r1["params"]["learning_rate"]["range"], r2["params"]["learning_rate"]["range"]
    assert lr1[0] <= lr2[0] < lr2[1] <= lr1[1]
    assert r2["params"]["learning_rate"]["unit_width"] < 1.0

    assert len(json.loads(invoke("report", "digits-mlp", "--round", "2", "--format", "json"))) == 3

    # a later `run` of the same file continues in round 2's narrowed space
    out = invoke("run", str(space_file), "--add", "1")
    assert "round 2: ran 1 trial " in out
    from hpsearch.storage import Storage

    storage = Storage(db)
    study = storage.get_study("digits-mlp")
    narrowed = Space.from_dict(storage.get_round(study.id, 2).space)
    trials = storage.trials(study, round_=2)
    assert len(trials) == 4 and all(inside(narrowed, t.params) for t in trials)


# ------------------------------------------ too few completed under a pruner (issue 22, item 14)
def test_refine_draws_on_the_trials_that_went_furthest_when_too_few_completed(tmp_path, caplog):
    """`run --sampler auto --pruner asha` at 20 trials completed 2 (ASHA lets about a ninth
    finish) and refine refused; now the box also spans the trials pruned at the highest step."""
    from hpsearch.refine import refine_study
    from hpsearch.storage import Storage

    sp = space_of('[params]\nx = { type = "uniform", low = 0.0, high = 10.0 }\n')
    storage = Storage(f"sqlite:///{tmp_path}/h.db")
    study = storage.create_study(name="s", metric="acc", direction="maximize", sampler="random",
                                 seed=1, space=sp.to_dict(), source="s.toml", target=8)
    rnd = storage.latest_round(study.id)
    # (x, state, value, pruned at step): two complete, three reached step 3, three only step 1.
    plan = [(5.0, "complete", 0.9, None), (5.5, "complete", 0.8, None),
            (4.0, "pruned", 0.7, 3), (6.5, "pruned", 0.6, 3), (9.9, "pruned", 0.5, 3),
            (0.1, "pruned", 0.95, 1), (0.2, "pruned", 0.4, 1), (9.5, "pruned", 0.3, 1)]
    for x, state, value, step in plan:
        t = storage.claim(study, rnd, propose=lambda _i, x=x: {"x": x}, limit=None, worker="w",
                          device=None)
        storage.finish(t.id, state=state, value=value, metrics={"acc": value},
                       steps=[(s, {"acc": value}) for s in range(1, (step or 9) + 1)],
                       pruned_step=step)
    with caplog.at_level("WARNING"):
        new = refine_study(storage, "s", top=4)
    rule = new.rule
    # The two complete ones, then the best two of those pruned at step 3; never step 1's.
    assert rule["top_trials"] == [0, 1, 2, 3]
    assert rule["pruned_top"] == [2, 3] and rule["from_step"] == 3
    low, high = new.space["params"]["x"]["low"], new.space["params"]["x"]["high"]
    assert low <= 4.0 and high >= 6.5 and (low > 0.2 or high < 9.5)
    assert "spans 3 trials pruned at step 3 or later" in caplog.text
    with pytest.raises(StudyError, match="it has 2 completed trials and 6 pruned at a later step, "
                                         "9 are needed"):
        refine_study(storage, "s", top=9, from_round=1)


# ---------------------------------------------------------------- several objectives
def test_refine_draws_the_box_around_the_feasible_front(project) -> None:
    """The hand-computed front of tests/support/multi.py: x in {0.1, 0.3, 0.5} (y = 0); the
    infeasible x = 0.85 and the second front (y = 1) stay out with the default, the second
    front comes in with --top 2."""
    from support.multi import run_mo_study

    from hpsearch.refine import refine_study

    storage = run_mo_study(project)
    new = refine_study(storage, "mo", trials=4)
    assert new.rule["fronts"] == 1 and new.rule["top"] == 3
    top = set(new.rule["top_trials"])
    study = storage.get_study("mo")
    chosen = [t for t in storage.trials(study) if t.number in top]
    assert sorted((t.params["x"], t.params["y"]) for t in chosen) == [(0.1, 0), (0.3, 0), (0.5, 0)]
    assert new.space["params"]["y"]["values"] == [0]  # every front member has y = 0
    assert sorted(new.space["params"]["x"]["values"]) == [0.1, 0.3, 0.5]
    wider = refine_study(storage, "mo", trials=4, from_round=1, top=2)
    assert wider.rule["top"] == 6 and wider.rule["fronts"] == 2
    storage.dispose()
