"""Whole-process cost of a 50-trial study with an instant objective: ``hpsearch run`` with
``random``/``tpe``/``auto``/``gp`` vs Optuna's in-process TPE study (issue 25).

Both sides are whole Python processes, started the same way and timed from outside (wall, and
the child's CPU seconds from ``getrusage``): hpsearch's is the installed ``hpsearch run`` on a
fresh SQLite file (every trial committed); Optuna's is ``python -c`` importing optuna, creating
an in-memory study with ``TPESampler(seed=0)`` and running ``study.optimize`` on the same
function of the same space. The variants are alternated ``--repeat`` times; the median is kept.

    .venv/bin/python benchmarks/bench_tpe_process.py --trials 50 --repeat 3 --samplers random tpe
    .venv/bin/python benchmarks/bench_tpe_process.py --samplers random tpe --baseline ../main

``--baseline DIR`` also runs the ``hpsearch`` of another checkout (an earlier commit, with its
own ``.venv``) in the same alternation, as "baseline <sampler>" rows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import _common  # noqa: F401 - sets sys.path
from _common import timed_child as timed

OBJECTIVE = '''
def objective(params, context=None):
    return ((params["x"] - 0.3) ** 2 + (params["y"] - 1.0) ** 2 + abs(params["z"] - 40) / 100
            + (0.1 if params["c"] == "a" else 0.0))
'''

SPACE = '''
[study]
name = "s"
metric = "loss"
direction = "minimize"
sampler = "{sampler}"
trials = {trials}
seed = 0
[objective]
kind = "python"
function = "obj:objective"
[params]
x = {{ type = "uniform", low = -2.0, high = 2.0 }}
y = {{ type = "log_uniform", low = 0.001, high = 10.0 }}
z = {{ type = "int", low = 1, high = 100 }}
c = {{ type = "choice", values = ["a", "b", "c"] }}
'''

OPTUNA = '''
import optuna
from obj import objective
optuna.logging.set_verbosity(optuna.logging.WARNING)
def f(trial):
    return objective({{"x": trial.suggest_float("x", -2.0, 2.0),
                      "y": trial.suggest_float("y", 0.001, 10.0, log=True),
                      "z": trial.suggest_int("z", 1, 100),
                      "c": trial.suggest_categorical("c", ["a", "b", "c"])}})
study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
study.optimize(f, n_trials={trials})
'''


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--samplers", nargs="+", default=["random", "tpe", "auto", "gp"])
    ap.add_argument("--baseline", metavar="DIR", default=None,
                    help="also run the hpsearch of the checkout DIR (its .venv), alternated")
    args = ap.parse_args()
    exes = {"hpsearch": str(Path(sys.executable).with_name("hpsearch"))}
    if args.baseline:
        exes["baseline"] = str(Path(args.baseline).resolve() / ".venv" / "bin" / "hpsearch")
    results: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "obj.py").write_text(OBJECTIVE)
        for rep in range(args.repeat):
            for sampler in args.samplers:
                space = Path(tmp, f"{sampler}.toml")
                space.write_text(SPACE.format(sampler=sampler, trials=args.trials))
                for label, exe in exes.items():
                    db = f"sqlite:///{tmp}/{label}-{sampler}{rep}.db"
                    results.setdefault(f"{label} {sampler}", []).append(
                        timed([exe, "--db", db, "run", str(space)], tmp)[:2])
            results.setdefault("optuna TPE (in-process)", []).append(
                timed([sys.executable, "-c", OPTUNA.format(trials=args.trials)], tmp)[:2])
    print(f"{args.trials} trials, instant objective, 4 params; median of {args.repeat}; "
          f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    optuna_cpu = statistics.median(c for _, c in results["optuna TPE (in-process)"])
    print(f"{'':28} {'wall s':>7} {'CPU s':>7} {'CPU / Optuna':>13}")
    for name, runs in results.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"{name:28} {wall:>7.2f} {cpu:>7.2f} {cpu / optuna_cpu:>12.2f}x")


if __name__ == "__main__":
    main()
