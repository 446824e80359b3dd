"""The HTML report as a person sees it: a real page from a real study, opened in a headless
browser; importance on a study whose answer is known; the build time of a 100,000-trial page."""

from __future__ import annotations

import math
import random
import time
from pathlib import Path

import pytest

from hpsearch.report.html import StudyData, build_html, load_study_data, write_html
from hpsearch.report.importance import param_importance
from hpsearch.space import Space
from hpsearch.storage import RoundRecord, Storage, StudyRecord, TrialRecord
from support import browser as browser_support

browser = browser_support.browser  # the fixture, under its name

SPACE = {
    "study": {"name": "toy", "metric": "val_loss", "direction": "minimize", "sampler": "random",
              "trials": 60, "seed": 3},
    "objective": {"kind": "python", "function": "toy.module:train"},
    "params": {
        "learning_rate": {"type": "log_uniform", "low": 1e-5, "high": 1e-1},
        "beta": {"type": "log_one_minus", "low": 0.9, "high": 0.9999},
        "hidden_units": {"type": "int", "low": 16, "high": 512, "log": True},
        "dropout": {"type": "uniform", "low": 0.0, "high": 0.5},
        "optimizer": {"type": "choice", "values": ["adam", "sgd", "rmsprop"]},
        "momentum": {"type": "uniform", "low": 0.8, "high": 0.99, "when": {"optimizer": "sgd"}},
        "batch_norm": True,
    },
}


def loss(p: dict, noise: float) -> float:
    """Only learning_rate and dropout matter."""
    return (math.log10(p["learning_rate"]) + 3) ** 2 + (4 * p["dropout"] - 1) ** 2 + noise


def narrowed(space: dict) -> dict:
    """A refine round's space: the file's space with learning_rate and dropout zoomed in."""
    params = dict(space["params"])
    params["learning_rate"] = {"type": "log_uniform", "low": 3e-4, "high": 3e-3}
    params["dropout"] = {"type": "uniform", "low": 0.15, "high": 0.35}
    return {**space, "params": params}


# ----------------------------------------------------------------------------- a real study
def sqlite_study(path: Path) -> str:
    """A study in a SQLite file through the public Storage API: a coarse round of 40 trials
    (some pruned with their steps, one failed), and a refine round of 20."""
    storage = Storage(f"sqlite:///{path}")
    space = Space.from_dict(SPACE, source="toy.toml")
    study = storage.create_study(name="toy", metric="val_loss", direction="minimize", sampler="random",
                                 seed=3, space=space.to_dict(), source="toy.toml", target=40)
    rng = random.Random(0)
    for round_space, n in ((space, 40), (Space.from_dict(narrowed(SPACE), source="r2"), 20)):
        rnd = storage.latest_round(study.id)
        for _ in range(n):
            trial = storage.claim(study, rnd, propose=lambda i, s=round_space: s.from_unit(
                [rng.random() for _ in range(s.dim)]), limit=None, worker="w", device="cpu")
            final = loss(trial.params, 0.1 * rng.random())
            steps = [(e, {"val_loss": final + 2.0 / (e + 1)}) for e in range(10)]
            if trial.number == 7:
                storage.finish(trial.id, state="failed", error="Traceback ...\nRuntimeError: diverged")
            elif final > 2 and trial.number % 2 == 0:
                storage.finish(trial.id, state="pruned", steps=steps[:3])
            else:
                storage.finish(trial.id, state="complete", value=final,
                               metrics={"val_loss": final}, steps=steps)
        if round_space is space:
            storage.add_round(study.id, parent=1, space=narrowed(space.to_dict()),
                              rule={"top": 10, "margin": 0.1}, sampler="random", seed=4, target=20)
    storage.dispose()
    return f"sqlite:///{path}"


@pytest.mark.slow  # over a second: out of `make test-fast`
def test_page_in_a_real_browser(tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def wait(condition, message: str, within: float = 60):
        """``condition(driver)``'s first truthy value, polled; a loaded CI machine may be slow."""
        return WebDriverWait(browser, within, poll_frequency=0.1).until(condition, message)

    storage = Storage(sqlite_study(tmp_path / "hp.db"))
    data = load_study_data(storage, "toy")
    storage.dispose()
    page = write_html(tmp_path / "out" / "report.html", [data])
    text = page.read_text()
    from plotly.offline import get_plotlyjs

    assert text.count(get_plotlyjs()[:2000]) == 1  # plotly.js inlined, once
    assert "<script src" not in text and "<link" not in text  # nothing to fetch
    assert "hpsearch best toy --export best.toml" in text

    browser.get(page.as_uri())
    browser.implicitly_wait(0)
    wait(lambda d: d.execute_script("return document.body.getAttribute('data-ready')") == "1",
         "the page never set data-ready")

    def all_drawn(d) -> list | bool:
        """[id, children of its plotly svg] for each figure, once there are 6 and all are drawn."""
        figs = d.execute_script(
            "return Array.from(document.querySelectorAll('div.fig')).map(function (f) {"
            " var s = f.querySelector('.main-svg'); return [f.id, s ? s.children.length : 0]; });")
        return figs if len(figs) >= 6 and all(n > 0 for _, n in figs) else False

    figures = wait(all_drawn, "fewer than 6 figures, or some never drawn")
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []
    assert len(figures) >= 6
    for fig_id, children in figures:
        assert children > 0, fig_id

    table = browser.find_element(By.CSS_SELECTOR, "div.trials")
    def column(i: int) -> list[str]:
        return [td.text for td in table.find_elements(By.CSS_SELECTOR, f"tbody tr td:nth-child({i})")]
    numbers = [int(x) for x in column(1)]
    assert numbers == sorted(numbers) and len(numbers) == 50  # first page, by number
    header = table.find_elements(By.CSS_SELECTOR, "thead th")
    header[3].click()  # the metric: ascending, best (lowest loss) first
    values = [float(x) for x in column(4) if x != "-"]
    assert values == sorted(values) and values[0] == pytest.approx(data.ranked()[0].value, rel=1e-5)
    header[3].click()  # again: descending
    values = [float(x) for x in column(4) if x != "-"]
    assert values == sorted(values, reverse=True)

    box = table.find_element(By.CSS_SELECTOR, "input.filter")
    box.send_keys("pruned")
    # The filter applies 120 ms after the last key; the rows and the count are read in one
    # script, so a later re-render cannot come between them.
    expected = f"{data.counts['pruned']} of 60"

    def filtered(d) -> list | bool:
        """[states shown, count text], once only pruned trials show and the count says so."""
        shown = d.execute_script(
            "var t = arguments[0]; return [Array.from(t.querySelectorAll("
            "'tbody tr td:nth-child(3)')).map(function (td) { return td.textContent; }),"
            " t.querySelector('.count').textContent];", table)
        return shown if shown[0] and set(shown[0]) == {"pruned"} and shown[1].startswith(
            expected) else False

    states, count = wait(filtered, f"the filter never showed only pruned trials, {expected}")
    assert states and set(states) == {"pruned"}
    assert count.startswith(expected)

    browser.set_window_size(1400, browser.execute_script("return document.body.scrollHeight") + 40)
    browser.set_script_timeout(60)
    browser.execute_async_script(  # two animation frames: laid out and painted at the new size
        "var done = arguments[arguments.length - 1];"
        " requestAnimationFrame(function () { requestAnimationFrame(function () { done(1); }); });")
    browser.save_screenshot(str(tmp_path / "report.png"))
    assert (tmp_path / "report.png").stat().st_size > 10_000


# ------------------------------------------------------------------ synthetic records
def synthetic_study(n: int, *, seed: int = 0) -> StudyData:
    """``n`` trials built as records (no storage, no runner): 80 % in round 1, the rest in a
    refine round; 5 % pruned, 1 % failed; ``loss`` as the value."""
    space = Space.from_dict(SPACE, source="toy.toml")
    fine = Space.from_dict(narrowed(SPACE), source="r2")
    study = StudyRecord(id=1, name="toy", metric="val_loss", direction="minimize", sampler="random",
                        seed=3, space=space.to_dict(), source="toy.toml", created_at=1.7e9)
    rounds = [RoundRecord(id=1, study_id=1, number=1, parent=None, space=space.to_dict(), rule=None,
                          sampler="random", seed=3, target=int(n * 0.8), n_claimed=int(n * 0.8),
                          created_at=1.7e9),
              RoundRecord(id=2, study_id=1, number=2, parent=1, space=narrowed(space.to_dict()),
                          rule={"top": 10, "margin": 0.1}, sampler="random", seed=4,
                          target=n - int(n * 0.8), n_claimed=n - int(n * 0.8), created_at=1.7e9)]
    rng = random.Random(seed)
    trials = []
    for i in range(n):
        rnd = 1 if i < int(n * 0.8) else 2
        s = space if rnd == 1 else fine
        params = s.from_unit([rng.random() for _ in range(s.dim)])
        u = rng.random()
        state = "failed" if u < 0.01 else "pruned" if u < 0.06 else "complete"
        value = loss(params, 0.05 * rng.random()) if state == "complete" else None
        trials.append(TrialRecord(id=i + 1, number=i, round=rnd, state=state, params=params,
                                  value=value, metrics=None, seed=i, started_at=1.7e9 + i,
                                  finished_at=1.7e9 + i + 0.9,
                                  error="RuntimeError: diverged" if state == "failed" else None))
    return StudyData(study=study, rounds=rounds, trials=trials)


def test_importance_ranks_the_two_parameters_that_matter_first():
    data = synthetic_study(600, seed=1)
    pairs = [(t.params, t.value) for t in data.completed()]
    ranking = param_importance(data.space, pairs, direction="minimize", seed=0)
    assert {n for n, _ in ranking[:2]} == {"learning_rate", "dropout"}
    assert len(ranking) == 6 and "batch_norm" not in dict(ranking)  # fixed: not judged
    assert sum(v for _, v in ranking) == pytest.approx(1.0)
    assert ranking == param_importance(data.space, pairs, direction="minimize", seed=0)
    # the direction matters: maximising the same loss, the best trials are elsewhere
    flipped = param_importance(data.space, [(p, -v) for p, v in pairs], direction="maximize", seed=0)
    assert [n for n, _ in flipped[:2]] == [n for n, _ in ranking[:2]]


def test_importance_of_too_few_trials_is_empty():
    space = Space.from_dict(SPACE, source="toy.toml")
    assert param_importance(space, [], direction="minimize") == []
    assert param_importance(space, [({"learning_rate": 1e-3}, 1.0)], direction="minimize") == []


def test_page_of_a_study_without_completed_trials_says_so():
    data = synthetic_study(5)
    data = StudyData(study=data.study, rounds=data.rounds[:1],
                     trials=[t for t in data.trials if t.state != "complete"][:0])
    text = build_html([data])
    assert "No completed trial yet" in text


def test_write_html_is_atomic_and_compares_studies(tmp_path):
    a, b = synthetic_study(200, seed=1), synthetic_study(150, seed=2)
    out = tmp_path / "cmp.html"
    out.write_text("old page")
    write_html(out, [a, b])
    text = out.read_text()
    assert "Comparison" in text and text.count("id=\"study-") == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cmp.html"]  # no temp file left


@pytest.mark.slow
def test_page_of_100k_trials_builds_in_seconds_not_minutes(tmp_path):
    data = synthetic_study(100_000, seed=5)
    start = time.perf_counter()
    path = write_html(tmp_path / "big.html", [data])
    elapsed = time.perf_counter() - start
    size = path.stat().st_size
    print(f"\n100,000-trial page: built and written in {elapsed:.2f} s, {size / 1e6:.1f} MB")
    # A few seconds on a quiet 2-core box; the bound (was < 10 s, which a loaded CI machine
    # nears) is for a build gone from seconds to minutes.
    assert elapsed < 45.0
