"""Cost of one model proposal at 100, 1,000 and 10,000 finished trials: hpsearch vs Optuna.

For each sampler (tpe, gp, cmaes) and each history size N, a round holds N finished trials
(uniform random points of a four-parameter numeric space with a smooth value) and 3 running
ones (pending). Timed, median of ``--repeats``:

``hpsearch``    ``sampler.propose(history, pending, index=N)`` as the run loop calls it in a
                worker that has proposed before (its converted-trial cache is warm: one new
                finished trial since its last proposal).
``optuna``      Optuna's own in-memory study with the same N + 3 trials and the same Optuna
                sampler settings (TPE multivariate, group, constant liar; GPSampler;
                CmaEsSampler), one more trial told, then ``study.ask()`` with its parameters
                suggested: what ``study.optimize`` pays per trial.
``lock``        (``--claim``) how long ``Storage.claim`` with a model sampler holds the study
                lock (on SQLite: the database's write lock) on a study with the same N trials
                stored, as the run loop calls it: the fit prepared before the claim
                (``SamplerProposer.prepare``), the history re-read and compared under the lock.
``lock-fit``    the same claim with the fit done under the lock (no preparation).

GP at 10,000 trials is skipped unless ``--gp-max`` allows it: an exact GP on 10,000 points
needs a 10,000 x 10,000 kernel matrix per fit iteration (O(n^3) Cholesky): many minutes.

Usage::

    python benchmarks/bench_samplers_cost.py [--sizes 100 1000 10000] [--repeats 3] [--claim]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
import warnings
from pathlib import Path

import _common  # noqa: F401 - sets sys.path
from _common import median, silence_optuna, write_result

SPACE = """\
[study]
name = "cost"
metric = "loss"
direction = "minimize"
sampler = "{sampler}"
n_startup_trials = 10
seed = 0
[objective]
kind = "python"
function = "nothing:here"
[params]
lr = { type = "log_uniform", low = 1e-4, high = 1e-1 }
dropout = { type = "uniform", low = 0.0, high = 0.5 }
n_layers = { type = "int", low = 1, high = 4 }
hidden = { type = "int", low = 16, high = 256, log = true }
"""


def value(p: dict) -> float:
    return ((math.log10(p["lr"]) + 2.5) ** 2 + (p["dropout"] - 0.2) ** 2
            + 0.1 * (p["n_layers"] - 2) ** 2 + 0.05 * (math.log2(p["hidden"]) - 6) ** 2)


def history(space, n: int, seed: int = 0):
    import numpy as np

    from hpsearch.samplers.model import Finished

    rng = np.random.default_rng(seed)
    trials = []
    for _ in range(n + 4):
        p = space.from_unit(rng.random(space.dim).tolist())
        trials.append(Finished(params=p, value=value(p), state="complete"))
    return trials[:n], trials[n], [t.params for t in trials[n + 1:]]


def time_hpsearch(name: str, n: int, repeats: int) -> float:
    from hpsearch.samplers import make_sampler
    from hpsearch.space import parse_space

    space = parse_space(SPACE.replace("{sampler}", name), source="cost.toml")
    finished, new, pending = history(space, n)
    times = []
    for r in range(repeats):
        smp = make_sampler(name, space, seed=r)
        smp.propose(finished, pending, index=n)            # warm: the worker proposed before
        t0 = time.perf_counter()
        smp.propose(finished + [new], pending, index=n + 1)
        times.append(time.perf_counter() - t0)
    return median(times)


def optuna_sampler(name: str, seed: int):
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=0, multivariate=True,
                                          group=True, constant_liar=True)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=0)
    return optuna.samplers.CmaEsSampler(seed=seed, n_startup_trials=0)


def suggest(trial) -> dict:
    return {"lr": trial.suggest_float("lr", 1e-4, 1e-1, log=True),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
            "n_layers": trial.suggest_int("n_layers", 1, 4),
            "hidden": trial.suggest_int("hidden", 16, 256, log=True)}


def time_optuna(name: str, n: int, repeats: int) -> float:
    import optuna
    from optuna.distributions import FloatDistribution, IntDistribution
    from optuna.trial import TrialState, create_trial

    from hpsearch.space import parse_space

    space = parse_space(SPACE.replace("{sampler}", "random"), source="cost.toml")
    finished, new, pending = history(space, n)
    dists = {"lr": FloatDistribution(1e-4, 1e-1, log=True), "dropout": FloatDistribution(0, 0.5),
             "n_layers": IntDistribution(1, 4), "hidden": IntDistribution(16, 256, log=True)}
    times = []
    for r in range(repeats):
        study = optuna.create_study(direction="minimize", sampler=optuna_sampler(name, r))
        study.add_trials([create_trial(state=TrialState.COMPLETE, value=t.value, params=t.params,
                                       distributions=dists) for t in finished])
        study.add_trials([create_trial(state=TrialState.RUNNING, params=p, distributions=dists)
                          for p in pending])
        trial = study.ask()
        suggest(trial)                                     # warm, like a study mid-way
        study.tell(trial, new.value)
        t0 = time.perf_counter()
        suggest(study.ask())
        times.append(time.perf_counter() - t0)
    return median(times)


def time_claim(name: str, n: int, repeats: int) -> tuple[float, float]:
    """Storage.claim with a model sampler: the study lock's hold time per claim, with the fit
    prepared outside the lock and with the fit under it."""
    from hpsearch.run.proposing import SamplerProposer
    from hpsearch.samplers import make_sampler
    from hpsearch.space import parse_space
    from hpsearch.storage import Storage

    space = parse_space(SPACE.replace("{sampler}", name), source="cost.toml")
    finished, _, _ = history(space, n)
    with tempfile.TemporaryDirectory() as tmp:
        storage = Storage(f"sqlite:///{Path(tmp) / 'c.db'}")
        study = storage.create_study(name="cost", metric="loss", direction="minimize",
                                     sampler=name, seed=0, space=space.to_dict(), source="cost.toml",
                                     target=n + repeats + 2)
        round_ = storage.latest_round(study.id)
        fill = iter(t.params for t in finished)
        for t in finished:
            tr = storage.claim(study, round_, propose=lambda i: next(fill), limit=None,
                               worker="bench", device=None)
            storage.finish(tr.id, state="complete", value=t.value)
        smp = make_sampler(name, space, seed=0)
        prepared = SamplerProposer(smp, storage, study, round_)
        inside = SamplerProposer(smp)  # nothing prepared: the fit under the lock
        times: dict[str, list[float]] = {"prepared": [], "inside": []}
        for k in range(2 * repeats + 2):
            how = "prepared" if k % 2 == 0 else "inside"
            if how == "prepared":
                prepared.prepare()
            t0 = time.perf_counter()
            tr = storage.claim(study, round_, propose=prepared if how == "prepared" else inside,
                               limit=None, worker="bench", device=None)
            times[how].append(time.perf_counter() - t0)
            storage.finish(tr.id, state="complete", value=value(tr.params))
        storage.dispose()
    assert prepared.misses == 0, "a prepared fit was redone under the lock"
    return median(times["prepared"][1:]), median(times["inside"][1:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--samplers", nargs="+", default=["tpe", "gp", "cmaes"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--gp-max", type=int, default=1000, help="largest history GP is timed at")
    ap.add_argument("--optuna-gp-max", type=int, default=1000,
                    help="largest history Optuna's own GP study is timed at")
    ap.add_argument("--claim", action="store_true", help="also time Storage.claim on SQLite")
    args = ap.parse_args()
    silence_optuna()
    warnings.simplefilter("ignore")
    rows = []
    print(f"{'sampler':8} {'trials':>7} {'hpsearch s':>11} {'optuna s':>10} {'ratio':>6}"
          + (f" {'lock s':>9} {'lock-fit s':>10}" if args.claim else ""))
    for name in args.samplers:
        for n in args.sizes:
            if name == "gp" and n > args.gp_max:
                print(f"{name:8} {n:>7}  skipped: exact GP on {n} points is infeasible here")
                rows.append({"sampler": name, "trials": n, "skipped": True})
                continue
            h = time_hpsearch(name, n, args.repeats)
            o = (math.nan if name == "gp" and n > args.optuna_gp_max
                 else time_optuna(name, n, args.repeats))
            lock, lock_fit = time_claim(name, n, args.repeats) if args.claim else (None, None)
            rows.append({"sampler": name, "trials": n, "hpsearch_s": h, "optuna_s": o,
                         "lock_s": lock, "lock_fit_s": lock_fit})
            print(f"{name:8} {n:>7} {h:>11.4f} {o:>10.4f} {h / o:>6.2f}"
                  + (f" {lock:>9.4f} {lock_fit:>10.4f}" if lock is not None else ""),
                  flush=True)
    write_result("samplers_cost", {"rows": rows, "repeats": args.repeats})


if __name__ == "__main__":
    main()
