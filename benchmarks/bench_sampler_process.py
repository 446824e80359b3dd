"""Whole-study cost of the model samplers with an instant objective, side by side with Optuna:
``hpsearch run`` with ``tpe``/``auto``/``gp`` vs Optuna's in-process TPE study, on a numeric
and a conditional space, at 50 and 500 trials.

Both sides are whole Python processes started the same way and timed from outside: wall
seconds, and the child's CPU seconds (user + system, from ``getrusage``). hpsearch's side is
the installed ``hpsearch run`` on a fresh SQLite file (every trial committed); Optuna's is
``python -c`` importing optuna, creating an in-memory study with ``TPESampler(seed=0)`` (its
defaults: independent TPE, 10 start-up trials) and running ``study.optimize`` on the same
function of the same space (define-by-run, the conditional parameters suggested under their
branch). The objective is a python function that returns at once.

Spaces:

``numeric``      5 parameters: uniform, log-uniform (two), int, log-int.
``conditional``  8 parameters: ``optimizer`` (adam, sgd, rmsprop), a log-uniform learning
                 rate and weight decay and an int depth always; ``beta1`` (uniform) and
                 ``beta2`` (log_one_minus: a 1-beta scale) under adam, ``momentum`` under sgd,
                 ``rho`` under rmsprop.

A run that would take too long (``gp`` at 500 trials: a GP proposal costs about a second and
grows with the trials) is capped by ``--gp-timeout``: it is passed to ``hpsearch run
--timeout`` (no new trial starts after it), and the row says how many trials had run and
the cost per trial. Variants are alternated within each repetition; medians are printed.
``--before EXE`` adds ``tpe`` and ``auto`` run by another installed ``hpsearch`` (e.g. a
checkout of the previous commit's virtual environment), as rows ``tpe-before``,
``auto-before``, in the same run.

    .venv/bin/python benchmarks/bench_sampler_process.py --trials 50 500 --repeat 1
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
from pathlib import Path

import _common  # noqa: F401 - sets sys.path
from _common import timed_child as timed, write_result

OBJECTIVE = '''
import math

def numeric(params, context=None):
    return ((params["x"] - 0.3) ** 2 + (math.log10(params["lr"]) + 2.5) ** 2
            + (math.log10(params["wd"]) + 4.0) ** 2 / 4 + abs(params["depth"] - 3) / 4
            + (math.log2(params["width"]) - 6.0) ** 2 / 10)

def conditional(params, context=None):
    opt = params["optimizer"]
    v = (math.log10(params["lr"]) - {"adam": -3.0, "sgd": -1.5, "rmsprop": -2.5}[opt]) ** 2
    v += (math.log10(params["wd"]) + 4.0) ** 2 / 4 + abs(params["depth"] - 3) / 4
    if opt == "adam":
        v += (params["beta1"] - 0.9) ** 2 * 10 + (math.log10(1 - params["beta2"]) + 3) ** 2 / 4
    elif opt == "sgd":
        v += 0.1 + (params["momentum"] - 0.9) ** 2 * 10
    else:
        v += 0.2 + (params["rho"] - 0.95) ** 2 * 10
    return v
'''

HEAD = '''
[study]
name = "s"
metric = "loss"
direction = "minimize"
sampler = "{sampler}"
trials = {trials}
seed = 0
[objective]
kind = "python"
function = "obj:{space}"
[params]
'''

PARAMS = {
    "numeric": '''
x = { type = "uniform", low = -2.0, high = 2.0 }
lr = { type = "log_uniform", low = 1e-5, high = 1e-1 }
wd = { type = "log_uniform", low = 1e-6, high = 1e-2 }
depth = { type = "int", low = 1, high = 8 }
width = { type = "int", low = 8, high = 512, log = true }
''',
    "conditional": '''
optimizer = { type = "choice", values = ["adam", "sgd", "rmsprop"] }
lr = { type = "log_uniform", low = 1e-5, high = 1e-1 }
wd = { type = "log_uniform", low = 1e-6, high = 1e-2 }
depth = { type = "int", low = 1, high = 8 }
beta1 = { type = "uniform", low = 0.5, high = 0.99, when = { optimizer = "adam" } }
beta2 = { type = "log_one_minus", low = 0.9, high = 0.9999, when = { optimizer = "adam" } }
momentum = { type = "uniform", low = 0.0, high = 0.99, when = { optimizer = "sgd" } }
rho = { type = "uniform", low = 0.8, high = 0.999, when = { optimizer = "rmsprop" } }
''',
}

OPTUNA = '''
import optuna
import obj
optuna.logging.set_verbosity(optuna.logging.WARNING)
def numeric(t):
    return obj.numeric({{"x": t.suggest_float("x", -2.0, 2.0),
                        "lr": t.suggest_float("lr", 1e-5, 1e-1, log=True),
                        "wd": t.suggest_float("wd", 1e-6, 1e-2, log=True),
                        "depth": t.suggest_int("depth", 1, 8),
                        "width": t.suggest_int("width", 8, 512, log=True)}})
def conditional(t):
    p = {{"optimizer": t.suggest_categorical("optimizer", ["adam", "sgd", "rmsprop"]),
         "lr": t.suggest_float("lr", 1e-5, 1e-1, log=True),
         "wd": t.suggest_float("wd", 1e-6, 1e-2, log=True),
         "depth": t.suggest_int("depth", 1, 8)}}
    if p["optimizer"] == "adam":
        p["beta1"] = t.suggest_float("beta1", 0.5, 0.99)
        p["beta2"] = 1 - t.suggest_float("one_minus_beta2", 1e-4, 0.1, log=True)
    elif p["optimizer"] == "sgd":
        p["momentum"] = t.suggest_float("momentum", 0.0, 0.99)
    else:
        p["rho"] = t.suggest_float("rho", 0.8, 0.999)
    return obj.conditional(p)
study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
study.optimize({space}, n_trials={trials})
print("best", study.best_value)
'''


def stored(db: Path) -> tuple[int, float | None]:
    """(complete trials, best value) of the run's SQLite file."""
    with sqlite3.connect(db) as con:
        n, best = con.execute("select count(*), min(value) from trials "
                              "where state = 'complete'").fetchone()
    return n, best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, nargs="+", default=[50, 500])
    ap.add_argument("--spaces", nargs="+", default=["numeric", "conditional"],
                    choices=sorted(PARAMS))
    ap.add_argument("--samplers", nargs="+", default=["tpe", "auto", "gp"])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--gp-timeout", type=int, default=120,
                    help="seconds after which a gp run starts no new trial (hpsearch run "
                         "--timeout); the row then reports the trials it ran")
    ap.add_argument("--before", default=None,
                    help="another hpsearch executable: its tpe and auto run beside")
    args = ap.parse_args()
    exe = str(Path(sys.executable).with_name("hpsearch"))
    variants = [*args.samplers, *(f"{s}-before" for s in ("tpe", "auto") if args.before),
                "optuna"]
    rows = []
    print(f"load at start {os.getloadavg()} on {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "obj.py").write_text(OBJECTIVE)
        for space in args.spaces:
            for trials in args.trials:
                runs: dict[str, list[dict]] = {}
                for rep in range(args.repeat):
                    for sampler in variants:
                        load = os.getloadavg()[0]
                        if sampler == "optuna":
                            wall, cpu, out = timed([sys.executable, "-c", OPTUNA.format(
                                space=space, trials=trials)], tmp, 3600)
                            n, best = trials, float(out.split()[-1])
                        else:
                            name = sampler.removesuffix("-before")
                            toml = Path(tmp, f"{space}-{name}.toml")
                            toml.write_text(HEAD.format(sampler=name, trials=trials,
                                                        space=space) + PARAMS[space])
                            db = Path(tmp, f"{space}-{sampler}-{trials}-{rep}.db")
                            argv = [args.before if sampler != name else exe,
                                    "--db", f"sqlite:///{db}", "run", str(toml)]
                            if sampler == "gp":
                                argv += ["--timeout", f"{args.gp_timeout}s"]
                            wall, cpu, _ = timed(argv, tmp, 3600)
                            n, best = stored(db)
                        runs.setdefault(sampler, []).append(
                            {"wall": wall, "cpu": cpu, "trials": n, "best": best,
                             "load": load})
                        print(f"  {space} {trials} {sampler} rep {rep}: wall {wall:.2f} "
                              f"cpu {cpu:.2f} trials {n} best {best:.4g} load {load:.1f}",
                              flush=True)
                o_cpu = statistics.median(r["cpu"] for r in runs["optuna"])
                o_wall = statistics.median(r["wall"] for r in runs["optuna"])
                print(f"{space}, {trials} trials (median of {args.repeat})")
                print(f"  {'':8} {'trials run':>10} {'wall s':>8} {'CPU s':>8} "
                      f"{'wall/Optuna':>11} {'CPU/Optuna':>10} {'best':>9}")
                for sampler, rs in runs.items():
                    med = {k: statistics.median(r[k] for r in rs)
                           for k in ("wall", "cpu", "trials")}
                    best = statistics.median(r["best"] for r in rs)
                    print(f"  {sampler:8} {med['trials']:>10.0f} {med['wall']:>8.2f} "
                          f"{med['cpu']:>8.2f} {med['wall'] / o_wall:>10.2f}x "
                          f"{med['cpu'] / o_cpu:>9.2f}x {best:>9.4g}", flush=True)
                    rows.append({"space": space, "trials": trials, "sampler": sampler,
                                 **med, "best": best, "runs": rs})
    write_result("sampler_process", {"rows": rows, "repeat": args.repeat,
                                     "gp_timeout": args.gp_timeout})


if __name__ == "__main__":
    main()
