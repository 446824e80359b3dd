"""Pruning with several objectives on the digits trade-off: epochs used vs hypervolume lost.

The problem of benchmarks/bench_multi_objective_digits.py (the digits trade-off's ``[params]``,
the built-in MLP on scikit-learn's digits, CPU, one torch thread, objectives ``val_accuracy``
(maximize) and ``n_params`` (minimize)), ``--epochs`` epochs per trial (default 9, no early
stopping), both objectives reported after every epoch (``n_params`` is the same at every
epoch), so a rung compares the vectors. Run through ``hpsearch.run_study`` (the real run loop,
SQLite, one worker).

For each seed the same configurations (same study seed, random sampler; the trainer seeded with
the seed) run once per pruner, with the settings of benchmarks/bench_pruning_multi.py:
``none``; ``median`` (n_startup_trials 5, n_warmup_steps 2); ``asha`` (min_resource 1,
reduction_factor 3: rungs at 1, 3, 9, 27, ... up to the epochs, so with 9 or 27 epochs the last
rung is the last epoch: a trial can be pruned there after training every epoch, and then is not
on the front); ``asha-max``: the same with ``max_resource`` = epochs (rungs strictly below it);
``hyperband`` (min_resource 1, reduction_factor 3, max_resource = epochs). Reported per
pruner: epochs used (stored steps) as a share of ``none``'s, and the hypervolume of the complete trials' front lost against ``none``'s; the
hypervolume on (error = 1 - val_accuracy, log10 n_params) against the fixed reference (0.2,
6.0), as the other digits benchmark. Medians and ranges over the seeds.

Training results are cached by (seed, epochs, configuration) (benchmarks/_digits_objective.py):
``none`` trains every configuration of the seed, the pruned runs replay its learning curves
epoch by epoch (training is deterministic here), so a pruner sees exactly the values it would
have seen had it trained, and stops the trial at the same epoch. Wall times are therefore not
reported; epochs are.

Usage::

    python benchmarks/bench_pruning_multi_digits.py [--seeds 10] [--first-seed 100]
        [--trials 40] [--epochs 9] [--cache /tmp/h5_prune_digits_cache.jsonl]
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import statistics
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import _common  # noqa: F401 - puts the repository on sys.path
import _digits_objective as objective
from _common import write_result
from bench_multi_objective_digits import REFERENCE, params_text

SETTINGS = {
    "none": "",
    "median": "n_startup_trials = 5\nn_warmup_steps = 2\n",
    "asha": "min_resource = 1\nreduction_factor = 3\n",
    "hyperband": "min_resource = 1\nreduction_factor = 3\nmax_resource = EPOCHS\n",
    # asha without a rung at the last epoch (a trial there has used every epoch already)
    "asha-max": "min_resource = 1\nreduction_factor = 3\nmax_resource = EPOCHS\n",
}


def space_text(pruner: str, trials: int, seed: int, epochs: int) -> str:
    return textwrap.dedent(f"""\
        [study]
        name = "mo-prune"
        metric = ["val_accuracy", "n_params"]
        direction = ["maximize", "minimize"]
        sampler = "random"
        pruner = "{pruner.split('-')[0]}"
        trials = {trials}
        seed = {seed}
        [objective]
        kind = "python"
        function = "_digits_objective:train"
        [pruner]
        """) + SETTINGS[pruner].replace("EPOCHS", str(epochs)) + params_text()


def one(folder: Path, pruner: str, trials: int, seed: int, epochs: int
        ) -> tuple[int, list[tuple[float, float]], dict[str, int]]:
    """(epochs used, the complete trials' (error, log10 n_params), states) of one run."""
    import hpsearch
    from hpsearch.space import parse_space

    f = folder / f"{pruner}-{seed}.toml"
    f.write_text(space_text(pruner, trials, seed, epochs))
    storage = hpsearch.open_storage(f"sqlite:///{folder}/{pruner}-{seed}.db")
    try:
        hpsearch.run_study(storage, parse_space(f.read_text(), source=str(f)),
                           hpsearch.RunOptions())
        study = storage.get_study("mo-prune")
        used, points, states = 0, [], {}
        for t in storage.trials(study, best_first=False):
            used += len(storage.trial(study, t.number).steps)
            states[t.state] = states.get(t.state, 0) + 1
            if t.state == "complete":
                points.append((1 - t.values["val_accuracy"], math.log10(t.values["n_params"])))
        return used, points, states
    finally:
        storage.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=100)
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--epochs", type=int, default=9)
    ap.add_argument("--pruners", nargs="+", default=list(SETTINGS))
    ap.add_argument("--cache", default="/tmp/h5_prune_digits_cache.jsonl")
    ap.add_argument("--out", default=str(_common.RESULTS_DIR / "pruning_multi_digits.json"))
    args = ap.parse_args()
    from hpsearch.pareto import hypervolume

    logging.getLogger("hpsearch").setLevel(logging.WARNING)
    rows: dict[str, list[dict[str, Any]]] = {p: [] for p in args.pruners}
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            objective.configure(epochs=args.epochs, seed=seed, cache=args.cache)
            trained = objective.COUNTS["trained"]
            base_epochs, base_points, base_states = one(folder, "none", args.trials, seed,
                                                        args.epochs)
            base_trained = objective.COUNTS["trained"] - trained
            base_hv = hypervolume(base_points, (False, False), REFERENCE)
            for p in args.pruners:
                trained = objective.COUNTS["trained"]
                epochs, points, states = (base_epochs, base_points, base_states) \
                    if p == "none" else one(folder, p, args.trials, seed, args.epochs)
                hv = hypervolume(points, (False, False), REFERENCE) if points else 0.0
                row = {"seed": seed, "epochs": epochs, "share": epochs / base_epochs,
                       "hv": hv, "lost": (base_hv - hv) / base_hv, "complete": len(points),
                       "states": states, "trained": base_trained if p == "none"
                       else objective.COUNTS["trained"] - trained}
                rows[p].append(row)
                print(f"seed {seed} {p:9s} epochs {epochs:5d} ({row['share']:.0%}) HV {hv:.4f} "
                      f"lost {row['lost']:.2%} complete {len(points)} {states} "
                      f"trained {row['trained']} load {os.getloadavg()[0]:.2f}", flush=True)
            write_result("pruning_multi_digits", {"args": vars(args), "reference": REFERENCE,
                                                  "rows": rows}, path=args.out)
    n = len(next(iter(rows.values())))
    print(f"\n{n} seeds, {args.trials} trials of {args.epochs} epochs, {time.time() - t0:.0f} s, "
          f"load now {os.getloadavg()[0]:.2f}")
    print("| pruner | epochs used (of none), median [min – max] | hypervolume lost, median "
          "[min – max] | complete trials, median |")
    print("|---|---|---|---:|")
    for p, r in rows.items():
        e, h = [x["share"] for x in r], [x["lost"] for x in r]
        print(f"| {p} | {statistics.median(e):.0%} [{min(e):.0%} – {max(e):.0%}] | "
              f"{statistics.median(h):.2%} [{min(h):.2%} – {max(h):.2%}] | "
              f"{statistics.median(x['complete'] for x in r):.0f} |")


if __name__ == "__main__":
    main()
