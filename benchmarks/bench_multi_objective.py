"""Several objectives: hypervolume after 50 (and 100) trials of hpsearch's multi-objective
samplers against Optuna's default multi-objective sampler (TPE) and NSGA-II.

The problem is a python function, no training: four hyperparameter-like parameters on log
scales (learning rate, weight decay and width; dropout on a linear one) and two objectives to
minimise that pull apart: ``error`` falls with the width and needs the learning rate and weight
decay within about a decade of their best, ``cost`` grows with log2(width) and falls with
dropout. Hypervolume against the fixed reference (error 1.05, cost 1.2), computed by
:func:`hpsearch.pareto.hypervolume` for every method.

    hpsearch tpe / auto / nsga2 / cmaes
                                  hpsearch.samplers.make_sampler on a two-objective space
                                  (10 Sobol start-up trials, then the model; ``propose(history,
                                  [], index=i)``: no database, no run loop)
    optuna TPE                    optuna.samplers.TPESampler(seed=s): what Optuna uses by
                                  default for several objectives
    optuna NSGA-II                optuna.samplers.NSGAIISampler(seed=s)

With ``--max-cost C`` the study has a constraint ``cost <= C`` (hpsearch: ``[[constraint]]``;
Optuna: ``constraints_func`` on each sampler) and the figures are the hypervolume of the
*feasible* trials and the share of infeasible trials among those the model proposed (after the
10 start-up trials).

Usage::

    python benchmarks/bench_multi_objective.py [--trials 50] [--seeds 5] [--first-seed 100]
        [--methods "hpsearch tpe,hpsearch auto,optuna TPE,optuna NSGA-II"] [--max-cost 0.5]
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from typing import Any

import _common  # noqa: F401 - sets sys.path
from _common import quartiles, silence_optuna, write_result

METHODS = ("hpsearch tpe", "hpsearch auto", "hpsearch nsga2", "hpsearch cmaes", "optuna TPE",
           "optuna NSGA-II")
REFERENCE = (1.05, 1.2)
SPACE = '''
[study]
name = "mo-bench"
metric = ["error", "cost"]
direction = ["minimize", "minimize"]
n_startup_trials = 10
[objective]
kind = "python"
function = "bench:f"
[params]
lr = { type = "log_uniform", low = 1e-5, high = 1.0 }
wd = { type = "log_uniform", low = 1e-7, high = 1e-1 }
width = { type = "int", low = 8, high = 2048, log = true }
dropout = { type = "uniform", low = 0.0, high = 0.5 }
'''


def problem(p: dict[str, Any]) -> tuple[float, float]:
    fit = math.exp(-((math.log10(p["lr"]) + 2.5) / 0.8) ** 2
                   - ((math.log10(p["wd"]) + 4.5) / 1.2) ** 2)
    capacity = 1 - math.exp(-p["width"] / 96)
    error = 1 - 0.9 * fit * capacity + 0.1 * (p["dropout"] - 0.15) ** 2
    cost = math.log2(p["width"]) / 11 - 0.2 * p["dropout"]
    return error, cost


MAX_COST: float | None = None


def run_hpsearch(name: str, seed: int, trials: int) -> list[tuple[float, float]]:
    from hpsearch.samplers import Finished, make_sampler
    from hpsearch.space import parse_space

    text = SPACE if MAX_COST is None else SPACE.replace(
        "[params]", f'[[constraint]]\nmetric = "cost"\nmax = {MAX_COST}\n[params]')
    space = parse_space(text, source="bench.toml")
    smp = make_sampler(name, space, seed=seed)
    history: list[Finished] = []
    out = []
    for i in range(trials):
        params = smp.propose(history, [], index=i).params
        e, c = problem(params)
        # seconds=0.0: the function is instant, as a run stores it (auto's cost rule: TPE alone)
        history.append(Finished(params, e, "complete", values={"error": e, "cost": c},
                                feasible=MAX_COST is None or c <= MAX_COST, seconds=0.0))
        out.append((e, c))
    return out


def run_optuna(name: str, seed: int, trials: int) -> list[tuple[float, float]]:
    import optuna

    cf = None if MAX_COST is None else (lambda t: [t.user_attrs["cost"] - MAX_COST])
    sampler = (optuna.samplers.TPESampler(seed=seed, constraints_func=cf) if name == "optuna TPE"
               else optuna.samplers.NSGAIISampler(seed=seed, constraints_func=cf))
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)

    def objective(trial: Any) -> tuple[float, float]:
        out = problem({"lr": trial.suggest_float("lr", 1e-5, 1.0, log=True),
                       "wd": trial.suggest_float("wd", 1e-7, 1e-1, log=True),
                       "width": trial.suggest_int("width", 8, 2048, log=True),
                       "dropout": trial.suggest_float("dropout", 0.0, 0.5)})
        trial.set_user_attr("cost", out[1])  # constraints_func reads it (values come later)
        return out

    study.optimize(objective, n_trials=trials)
    return [tuple(t.values) for t in study.trials]  # type: ignore[misc]


def feasible(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    return [p for p in points if MAX_COST is None or p[1] <= MAX_COST]


def main() -> None:
    from hpsearch.pareto import hypervolume

    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=100)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--max-cost", type=float, default=None)
    args = ap.parse_args()
    global MAX_COST
    MAX_COST = args.max_cost
    silence_optuna()
    warnings.simplefilter("ignore")
    checkpoints = [c for c in (50, 100) if c <= args.trials] or [args.trials]
    results: dict[str, Any] = {}
    for method in args.methods.split(","):
        per_cp: dict[int, list[float]] = {c: [] for c in checkpoints}
        infeasible: list[float] = []
        t0 = time.perf_counter()
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            run = run_optuna if method.startswith("optuna") else run_hpsearch
            points = run(method if method.startswith("optuna") else method.split()[1], seed,
                         args.trials)
            for c in checkpoints:
                per_cp[c].append(hypervolume(feasible(points[:c]), (False, False), REFERENCE))
            model = points[10:]
            infeasible.append(1 - len(feasible(model)) / max(1, len(model)))
        took = time.perf_counter() - t0
        results[method] = {str(c): per_cp[c] for c in checkpoints}
        line = "  ".join(f"@{c}: median {quartiles(v)[1]:.4f} IQR [{quartiles(v)[0]:.4f}, "
                         f"{quartiles(v)[2]:.4f}]" for c, v in per_cp.items())
        if MAX_COST is not None:
            results[method]["infeasible_share"] = infeasible
            line += f"  infeasible after start-up: median {quartiles(infeasible)[1]:.1%}"
        print(f"{method:16s} {line}  ({took:.0f} s)", flush=True)
    write_result("multi_objective" if MAX_COST is None else "multi_objective_constrained",
                 {"trials": args.trials, "seeds": args.seeds, "first_seed": args.first_seed,
                  "max_cost": MAX_COST, "results": results})


if __name__ == "__main__":
    main()
