"""Several objectives on the digits trade-off: hypervolume after 50 and 100 trials of hpsearch's
``auto``, ``tpe`` and coarse to fine against Optuna's default multi-objective sampler (TPE) and
NSGA-II, on a real training task.

The problem: search_spaces/digits_tradeoff.toml's ``[params]`` (learning rate, layers, width,
activation, dropout, weight decay, batch size, batch norm; Adam), the built-in MLP trained on
scikit-learn's digits (benchmarks/_digits_objective.py: CPU, one torch thread, ``--epochs``
epochs, no early stopping, the trainer seeded with the benchmark's seed), two objectives:
``val_accuracy`` (maximize) and ``n_params`` (minimize). Both are deterministic functions of the
configuration (the file's ``inference_ms`` is a clock reading: it would differ between two runs
of the same configuration and between the methods' runs). The file's ``n_params <= 50000``
constraint is dropped: ``n_params`` is an objective here.

Hypervolume on (error = 1 - val_accuracy, log10 n_params), both minimised, against the fixed
reference point (error 0.2, log10 n_params 6.0): a configuration below 80 % accuracy adds
nothing, and every configuration of the space has fewer than 10^6 parameters. Computed by
:func:`hpsearch.pareto.hypervolume` over the complete trials among the first 50 and 100.

    hpsearch auto, tpe     hpsearch.run_study (the real run loop, SQLite, one worker) with a
                           python objective: 10 Sobol start-up trials, then the model. The
                           cached trainings return at once, so auto's cost rule gives GP no
                           turn: auto is its multi-objective TPE here and the two match
                           (bench_multi_objective_rules.py compares the turns of slow trials)
    hpsearch c2f           coarse to fine: ``auto`` for 50 trials (round 1, the same trials as
                           ``auto``'s first 50), then ``hpsearch.refine.refine_and_run`` with
                           its defaults and ``trials=50`` (round 2: the box around round 1's
                           Pareto front, widened by 10 %, sampled by auto: 10 Sobol then TPE),
                           as ``hpsearch refine --trials 50`` then ``hpsearch run``
    optuna TPE             optuna.samplers.TPESampler(seed=s): what Optuna 5 uses by default
                           for several objectives (10 random start-up trials)
    optuna NSGA-II         optuna.samplers.NSGAIISampler(seed=s) (population 50)

For seed s every method faces the same function (the trainer's seed is s); results are cached
by (seed, epochs, configuration) in ``--cache`` (JSON lines), so a configuration two methods
propose is trained once (see _digits_objective.py). Seeds run one after the other, every method
within a seed, and the figures so far are written after each seed (``--out``), so a run cut
short still gives the seeds it finished; ``--summarize`` prints the tables from that file.

Usage::

    python benchmarks/bench_multi_objective_digits.py [--seeds 10] [--first-seed 100]
        [--trials 100] [--epochs 3] [--cache /tmp/h5_mo_digits_cache.jsonl]
        [--methods "hpsearch auto,hpsearch tpe,hpsearch c2f,optuna TPE,optuna NSGA-II"]
    python benchmarks/bench_multi_objective_digits.py --summarize [--out FILE]
    python benchmarks/bench_multi_objective_digits.py --lockstep [--seeds 3] [--trials 50]

``--variant`` patches hpsearch's model samplers for this process only, to test where ``auto``
and Optuna's TPE differ (comma-separated): ``random-startup`` (the 10 start-up trials drawn
uniformly at random, keyed by seed and index, instead of Sobol), ``optuna-log-int`` (a log int
given to Optuna as ``IntDistribution(low, high, log=True)``, Optuna's discrete kernel, instead of
the unit float coordinate). With both, hpsearch runs Optuna's algorithm but its random streams.

``--lockstep`` trains nothing new beyond Optuna TPE's own run (cached): at each of its model
steps (trial 11 on) it also builds hpsearch's in-memory study (``MultiAutoSampler._study``) from
the same finished trials, gives its TPESampler the random state Optuna's own sampler holds at
that moment, and compares the two proposals parameter by parameter. Equal proposals at every
step mean hpsearch's settings and coordinates are Optuna's; the report counts the steps that
differ and the parameters they differ in.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import _common  # noqa: F401 - sets sys.path
import _digits_objective as objective
from _common import ROOT, quartiles, silence_optuna, write_result

METHODS = ("hpsearch auto", "hpsearch tpe", "hpsearch c2f", "optuna TPE", "optuna NSGA-II")
REFERENCE = (0.2, 6.0)        # (error, log10 n_params)
CHECKPOINTS = (50, 100)


def params_text() -> str:
    text = (ROOT / "search_spaces" / "digits_tradeoff.toml").read_text()
    return text[text.index("[params]"):]


def space_text(sampler: str, trials: int, seed: int) -> str:
    return f'''[study]
name = "mo-digits"
metric = ["val_accuracy", "n_params"]
direction = ["maximize", "minimize"]
sampler = "{sampler}"
trials = {trials}
seed = {seed}
[objective]
kind = "python"
function = "_digits_objective:train"
''' + params_text()


def as_point(values: dict[str, Any] | None) -> tuple[float, float] | None:
    if not values or values.get("val_accuracy") is None or not values.get("n_params"):
        return None
    return 1 - float(values["val_accuracy"]), math.log10(float(values["n_params"]))


def run_hpsearch(method: str, seed: int, trials: int, folder: Path) -> list[Any]:
    import hpsearch
    from hpsearch.refine import refine_and_run
    from hpsearch.space import parse_space

    sampler = "auto" if method == "c2f" else method
    first = trials // 2 if method == "c2f" else trials
    path = folder / f"{method}-{seed}.toml"
    path.write_text(space_text(sampler, first, seed))
    storage = hpsearch.open_storage(f"sqlite:///{folder}/{method}-{seed}.db")
    try:
        hpsearch.run_study(storage, parse_space(path.read_text(), source=str(path)),
                           hpsearch.RunOptions())
        if method == "c2f":
            for _ in refine_and_run(storage, "mo-digits", rounds=1, trials=trials - first):
                pass
        study = storage.get_study("mo-digits")
        done = storage.trials(study, best_first=False)
        return [as_point(t.values) if t.state == "complete" else None for t in done]
    finally:
        storage.dispose()


def optuna_params(trial: Any) -> dict[str, Any]:
    """The same space as the file's ``[params]``, in Optuna's words."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True),
        "n_layers": trial.suggest_int("n_layers", 1, 4),
        "hidden_units": trial.suggest_int("hidden_units", 8, 512, log=True),
        "activation": trial.suggest_categorical("activation", ["relu", "tanh", "gelu"]),
        "dropout": trial.suggest_float("dropout", 0.0, 0.4),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [32, 64, 128]),
        "optimizer": "adam",
        "batch_norm": trial.suggest_categorical("batch_norm", [True, False]),
    }


def run_optuna(method: str, seed: int, trials: int, folder: Path) -> list[Any]:
    import optuna

    sampler = (optuna.samplers.TPESampler(seed=seed) if method == "TPE"
               else optuna.samplers.NSGAIISampler(seed=seed))
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)

    def f(trial: Any) -> tuple[float, float]:
        out = objective.train(optuna_params(trial))
        return out["val_accuracy"], out["n_params"]

    study.optimize(f, n_trials=trials, catch=(RuntimeError,))
    return [as_point({"val_accuracy": t.values[0], "n_params": t.values[1]})
            if t.state == optuna.trial.TrialState.COMPLETE else None for t in study.trials]


def lockstep(seed: int, trials: int) -> tuple[int, dict[str, int]]:
    """Steps where hpsearch's study proposes what Optuna's own study does (same history, same
    random state), and per parameter the number of steps where the two differ."""
    import copy

    import optuna

    from hpsearch.samplers.model import Finished
    from hpsearch.samplers.multi import MultiAutoSampler
    from hpsearch.space import parse_space

    sampler = optuna.samplers.TPESampler(seed=seed)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    ours = MultiAutoSampler(parse_space(space_text("auto", trials, seed), source="lockstep"),
                            seed=seed)
    same, differ = 0, dict.fromkeys(optuna_params_names(), 0)
    for k in range(trials):
        mine = None
        if k >= 10:
            history = [Finished(params={**t.params, "optimizer": "adam"},
                                value=t.values[0] if t.values else None,
                                state="complete" if t.values else "failed",
                                values=dict(zip(("val_accuracy", "n_params"), t.values or ())))
                       for t in study.trials]
            twin = ours._study(history, [], seed)
            twin.sampler._rng._rng = copy.deepcopy(sampler._rng.rng)
            mine = ours._coords.suggest(twin.ask())
        trial = study.ask()
        params = optuna_params(trial)
        if mine is not None:
            off = [n for n in differ if not _close(params[n], mine[n])]
            same += not off
            for n in off:
                differ[n] += 1
        try:
            out = objective.train(params)
            study.tell(trial, (out["val_accuracy"], out["n_params"]))
        except RuntimeError:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return same, differ


def optuna_params_names() -> list[str]:
    return ["learning_rate", "n_layers", "hidden_units", "activation", "dropout",
            "weight_decay", "batch_size", "batch_norm"]


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-9 * max(abs(a), abs(b))
    return bool(a == b) and type(a) is type(b)


def patch_variant(names: set[str]) -> None:
    """Patch hpsearch's model samplers in this process (see ``--variant``)."""
    from hpsearch.samplers import coords, model
    from hpsearch.samplers.base import Proposal

    if "random-startup" in names:
        def startup(self: Any, index: int) -> Any:
            return Proposal(model.allowed_random(self.space, self.forbid, seed=self.seed,
                                                 index=index), "sobol")
        model.ModelSampler._startup_point = startup  # type: ignore[method-assign]
    if "optuna-log-int" in names:
        C = coords.Coordinates
        init, unit_of, internal_of, ask = C.__init__, C.unit_of, C.internal_of, C._ask

        def log_ints(self: Any) -> dict[str, Any]:
            from optuna.distributions import IntDistribution

            return {p.name: IntDistribution(p.low, p.high, log=True)
                    for p in self.space.search_params
                    if p.kind == "int" and p.log and (p.step or 1) == 1}

        def new_init(self: Any, space: Any) -> None:
            init(self, space)
            self.distributions.update(log_ints(self))

        def new_unit_of(self: Any, name: str, internal: Any) -> float:
            if name in log_ints(self):
                return float(self.space.params[name].to_unit(int(internal)))
            return float(unit_of(self, name, internal))

        def new_internal_of(self: Any, name: str, value: Any) -> Any:
            if name in log_ints(self):
                return int(value) if self.space.params[name].contains(value) else None
            return internal_of(self, name, value)

        def new_ask(self: Any, trial: Any, name: str) -> Any:
            if name in log_ints(self):
                d = self.distributions[name]
                return trial.suggest_int(name, d.low, d.high, log=True)
            return ask(self, trial, name)
        C.__init__, C.unit_of, C.internal_of, C._ask = (  # type: ignore[method-assign]
            new_init, new_unit_of, new_internal_of, new_ask)


def hv_at(points: list[Any], c: int) -> float:
    from hpsearch.pareto import hypervolume

    kept = [p for p in points[:c] if p is not None]
    return hypervolume(kept, (False, False), REFERENCE) if kept else 0.0


def table(results: dict[str, Any]) -> str:
    lines = ["| method | seeds | HV @50: median [IQR] | HV @100: median [IQR] | trained / replayed "
             "| seconds (median per seed) |", "|---|---:|---:|---:|---:|---:|"]
    for method, r in results.items():
        cells = []
        for c in CHECKPOINTS:
            q = quartiles(r[str(c)]) if r[str(c)] else (math.nan,) * 3
            cells.append(f"{q[1]:.4f} [{q[0]:.4f}, {q[2]:.4f}]")
        secs = sorted(r["seconds"])[len(r["seconds"]) // 2] if r["seconds"] else math.nan
        lines.append(f"| {method} | {len(r['50'])} | {cells[0]} | {cells[1]} | "
                     f"{sum(r['trained'])} / {sum(r['replayed'])} | {secs:.0f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=100)
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--cache", default="/tmp/h5_mo_digits_cache.jsonl")
    ap.add_argument("--out", default=str(_common.RESULTS_DIR / "multi_objective_digits.json"))
    ap.add_argument("--summarize", action="store_true", help="print the tables of --out, run nothing")
    ap.add_argument("--lockstep", action="store_true",
                    help="compare hpsearch's study with Optuna's own, step by step (see above)")
    ap.add_argument("--variant", default="",
                    help="random-startup and/or optuna-log-int, comma-separated (see above)")
    args = ap.parse_args()
    unknown = set(filter(None, args.variant.split(","))) - {"random-startup", "optuna-log-int"}
    if unknown:
        ap.error(f"unknown --variant {sorted(unknown)}")
    patch_variant(set(filter(None, args.variant.split(","))))
    if args.lockstep:
        silence_optuna()
        warnings.simplefilter("ignore")
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            objective.configure(epochs=args.epochs, seed=seed, cache=args.cache)
            same, differ = lockstep(seed, args.trials)
            print(f"seed {seed}: {same} of {args.trials - 10} model proposals identical; "
                  f"steps differing per parameter: {differ}", flush=True)
        return
    if args.summarize:
        data = json.loads(Path(args.out).read_text())
        print(f"{data['args']}\nload at the seeds' ends: {data['loads']}\n" + table(data["results"]))
        return
    silence_optuna()
    warnings.simplefilter("ignore")
    logging.getLogger("hpsearch").setLevel(logging.WARNING)
    methods = args.methods.split(",")
    results: dict[str, Any] = {m: {"50": [], "100": [], "seconds": [], "trained": [],
                                   "replayed": [], "points": []} for m in methods}
    loads = []
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            objective.configure(epochs=args.epochs, seed=seed, cache=args.cache)
            for method in methods:
                before = dict(objective.COUNTS)
                t0 = time.perf_counter()
                lib, name = method.split(" ", 1)
                run = run_optuna if lib == "optuna" else run_hpsearch
                points = run(name, seed, args.trials, Path(tmp))
                r = results[method]
                r["seconds"].append(time.perf_counter() - t0)
                r["trained"].append(objective.COUNTS["trained"] - before["trained"])
                r["replayed"].append(objective.COUNTS["replayed"] - before["replayed"])
                r["points"].append(points)
                for c in CHECKPOINTS:
                    r[str(c)].append(hv_at(points, c))
                print(f"seed {seed} {method:15s} HV@50 {r['50'][-1]:.4f} HV@100 "
                      f"{r['100'][-1]:.4f}  trials {len(points)} (complete "
                      f"{sum(p is not None for p in points)})  trained {r['trained'][-1]} "
                      f"replayed {r['replayed'][-1]}  {r['seconds'][-1]:.0f} s  load "
                      f"{os.getloadavg()[0]:.2f}", flush=True)
            loads.append(round(os.getloadavg()[0], 2))
            write_result("multi_objective_digits",
                         {"args": vars(args), "reference": REFERENCE, "loads": loads,
                          "results": results}, path=args.out)
    print(f"\n{len(loads)} seeds, {args.trials} trials of {args.epochs} epochs, "
          f"{time.perf_counter() - t_all:.0f} s, load now {os.getloadavg()[0]:.2f}")
    print(table(results))


if __name__ == "__main__":
    main()
