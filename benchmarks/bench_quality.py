"""Search quality: best value after N trials, hpsearch's samplers beside Optuna's.

Methods, each with the same budget of N trials per study, over ``--seeds`` seeds (0, 1, ...):

    hpsearch random        ``[study] sampler = "random"``, run through ``runner.run_study``
    hpsearch sobol         ``sampler = "sobol"``
    hpsearch coarse→fine   N/2 random trials, then ``refine.refine_and_run`` for 2 rounds of
                           N/4 (Sobol, narrowed around the best 20 %: the tool's defaults until
                           refine's default became auto; kept on Sobol for comparison)
    optuna random          ``optuna.samplers.RandomSampler(seed)``
    optuna TPE             ``optuna.samplers.TPESampler(seed)`` (its defaults: 10 random
                           start-up trials)

Objectives (all maximised):

    separable, coupled     synthetic, 5 parameters on log, 1-β (log of 1-x), linear and
                           log-integer scales, known maximum 0 (bench_objectives.py); plain
                           Python, so this part takes seconds
    digits                 the built-in PyTorch MLP on scikit-learn's digits through hpsearch
                           (``kind = "builtin"``, the parameters of search_spaces/digits_mlp.toml)
                           with a tiny budget: ``--digits-trials`` trials of
                           ``--digits-epochs`` epochs; val_accuracy

Optuna gets the same space through :func:`optuna_suggest` (log parameters ``log=True``, a 1-β
parameter as ``1 - suggest_float(1e-4..0.1, log=True)``, conditions by ``if``) and the same
objective function; its digits trials train with the same per-trial seeds as hpsearch's. hpsearch
studies live in a temporary SQLite file, Optuna's in memory: this measures the search, not the
storage. PyTorch runs on one thread (small models; several threads only fight on a shared
machine). Printed per method: median best value, interquartile range, min–max over seeds.

Usage::

    python benchmarks/bench_quality.py [--trials 60] [--seeds 10] [--digits-trials 8]
        [--digits-epochs 5] [--digits-seeds 10] [--skip-digits]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tomllib
import warnings
from pathlib import Path
from typing import Any, Callable

import _common  # noqa: F401 - sets sys.path
from _common import BENCH_DIR, ROOT, quartiles, silence_optuna, write_result
from bench_objectives import SYNTH_PARAMS, SYNTHETIC

METHODS = ("hpsearch random", "hpsearch sobol", "hpsearch coarse→fine", "optuna random",
           "optuna TPE")


# ------------------------------------------------------------------------------ the spaces
def synth_space(objective: str, trials: int, seed: int, sampler: str = "random"):
    from hpsearch.space import parse_space

    text = f"""\
[study]
name = "{objective}"
metric = "value"
direction = "maximize"
sampler = "{sampler}"
trials = {trials}
seed = {seed}

[objective]
kind = "python"
function = "bench_objectives:{objective}"

[params]
{SYNTH_PARAMS}"""
    return parse_space(text, source=str(BENCH_DIR / f"{objective}.toml"))


def digits_space(trials: int, seed: int, epochs: int, sampler: str = "random"):
    from hpsearch.space import Space

    source = ROOT / "search_spaces" / "digits_mlp.toml"
    d = tomllib.loads(source.read_text())
    d["study"].update(name="digits", trials=trials, seed=seed, sampler=sampler)
    d["trainer"].update(epochs=epochs, patience=epochs, device="cpu")
    return Space.from_dict(d, source=str(source))


def optuna_suggest(trial, space) -> dict[str, Any]:
    """The configuration Optuna's ``trial`` suggests for an hpsearch ``space`` (TOML form)."""
    config: dict[str, Any] = {}
    for name, param in space.params.items():
        if not space.is_active(name, config):
            continue
        spec = param.to_dict()
        if not isinstance(spec, dict) or "type" not in spec:  # a fixed value
            config[name] = param.from_unit(0.5)
            continue
        kind = spec["type"]
        if kind == "choice":
            config[name] = trial.suggest_categorical(name, list(spec["values"]))
        elif kind == "int":
            config[name] = trial.suggest_int(name, spec["low"], spec["high"],
                                             log=bool(spec.get("log")), step=spec.get("step") or 1)
        elif kind == "uniform":
            config[name] = trial.suggest_float(name, spec["low"], spec["high"],
                                               step=spec.get("step"))
        elif kind == "log_uniform":
            config[name] = trial.suggest_float(name, spec["low"], spec["high"], log=True)
        elif kind == "log_one_minus":
            config[name] = 1.0 - trial.suggest_float(f"1-{name}", 1.0 - spec["high"],
                                                     1.0 - spec["low"], log=True)
        else:
            raise ValueError(f"no Optuna translation for {kind!r}")
    return config


# ------------------------------------------------------------------------------ the methods
def hpsearch_best(space, *, coarse_to_fine: bool, folder: Path) -> float:
    from hpsearch.run import run_study
    from hpsearch.storage import Storage

    storage = Storage(f"sqlite:///{folder / 'quality.db'}")
    n = space.study.trials
    if not coarse_to_fine:
        run_study(storage, space)
    else:
        from hpsearch.refine import refine_and_run, top_count

        coarse = n // 2
        rounds = [(n - coarse) // 2, n - coarse - (n - coarse) // 2]
        run_study(storage, space, trials=coarse)
        for size in rounds:
            study = storage.get_study(space.study.name)
            latest = storage.latest_round(study.id).number
            done = storage.counts(study, round_=latest).get("complete", 0)
            # The default top (20 %, at least 3) capped by what a tiny round completed.
            top = max(1, min(top_count(done), done))
            for _ in refine_and_run(storage, space.study.name, rounds=1, trials=size, top=top,
                                    sampler="sobol"):
                pass
    study = storage.get_study(space.study.name)
    total = sum(storage.counts(study).values())
    if total != n:
        raise SystemExit(f"hpsearch ran {total} trials, not {n}")
    best = storage.best(study)
    storage.dispose()
    return float("nan") if best is None else best.value


def optuna_best(space, fn: Callable[[dict[str, Any], Any], float], *, tpe: bool) -> float:
    import optuna

    seed = space.study.seed
    sampler = (optuna.samplers.TPESampler(seed=seed) if tpe
               else optuna.samplers.RandomSampler(seed=seed))
    study = optuna.create_study(direction=space.study.direction, sampler=sampler)
    study.optimize(lambda t: fn(optuna_suggest(t, space), t.number), n_trials=space.study.trials)
    return study.best_value


def digits_fn(space) -> Callable[[dict[str, Any], int], float]:
    """The built-in objective as Optuna calls it: same trainer, same per-trial seed."""
    from hpsearch.objectives import make_objective
    from hpsearch.objectives.base import TrialContext
    from hpsearch.objectives.base import TrialFailed
    from hpsearch.storage import trial_seed

    objective = make_objective(space, device="cpu")

    def fn(params: dict[str, Any], number: int) -> float:
        ctx = TrialContext(number=number, seed=trial_seed(space.study.seed, number),
                           device="cpu", report=lambda step, metrics: None)
        try:
            return float(objective.run(params, ctx)[space.study.metric])
        except TrialFailed:
            return float("nan")  # diverged: Optuna records it as failed, like hpsearch

    return fn


def run_method(method: str, make_space: Callable[..., Any], optuna_fn, seed: int) -> float:
    with tempfile.TemporaryDirectory(prefix="hpsearch-quality-") as tmp:
        if method == "hpsearch random":
            return hpsearch_best(make_space(seed, "random"), coarse_to_fine=False, folder=Path(tmp))
        if method == "hpsearch sobol":
            return hpsearch_best(make_space(seed, "sobol"), coarse_to_fine=False, folder=Path(tmp))
        if method == "hpsearch coarse→fine":
            return hpsearch_best(make_space(seed, "random"), coarse_to_fine=True, folder=Path(tmp))
        space = make_space(seed, "random")
        return optuna_best(space, optuna_fn(space), tpe=method == "optuna TPE")


def compare(label: str, make_space, optuna_fn, seeds: int, methods=METHODS) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for method in methods:
        t0 = time.perf_counter()
        values = [run_method(method, make_space, optuna_fn, s) for s in range(seeds)]
        q1, q2, q3 = quartiles(values)
        out[method] = {"median": q2, "q1": q1, "q3": q3, "min": min(values), "max": max(values),
                       "values": values, "seconds": time.perf_counter() - t0}
        print(f"  {label:10s} {method:22s} median {q2:9.4f}  IQR [{q1:9.4f}, {q3:9.4f}]  "
              f"min–max [{min(values):9.4f}, {max(values):9.4f}]  ({time.perf_counter() - t0:5.1f} s)",
              flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--digits-trials", type=int, default=8)
    parser.add_argument("--digits-epochs", type=int, default=5)
    parser.add_argument("--digits-seeds", type=int, default=10)
    parser.add_argument("--skip-digits", action="store_true")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    silence_optuna()
    warnings.filterwarnings("ignore", message=".*balance properties of Sobol.*")
    import logging

    logging.getLogger("hpsearch").setLevel(logging.WARNING)

    result: dict[str, Any] = {"trials": args.trials, "seeds": args.seeds}
    for name, fn in SYNTHETIC.items():
        print(f"{name}: best value after {args.trials} trials (maximum 0), {args.seeds} seeds")
        result[name] = compare(
            name, lambda seed, sampler, n=name: synth_space(n, args.trials, seed, sampler),
            lambda space, f=fn: (lambda params, number: f(params)), args.seeds)
    if not args.skip_digits:
        import torch

        torch.set_num_threads(1)
        print(f"digits: best val_accuracy after {args.digits_trials} trials of ≤ "
              f"{args.digits_epochs} epochs, {args.digits_seeds} seeds")
        result["digits"] = compare(
            "digits", lambda seed, sampler: digits_space(args.digits_trials, seed,
                                                         args.digits_epochs, sampler),
            digits_fn, args.digits_seeds)
        result["digits_budget"] = {"trials": args.digits_trials, "epochs": args.digits_epochs,
                                   "seeds": args.digits_seeds}
    write_result("quality", result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
