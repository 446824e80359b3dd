"""Pruning with several objectives (issue 23 item 4): epochs used vs hypervolume lost.

A cheap two-objective problem run through ``hpsearch.run_study`` (the real run loop, SQLite,
one worker), a python objective with steps: trial parameters ``lr`` (log, 1e-4..1) and
``width`` (int, log, 1..256). Its accuracy follows a learning curve,

    acc(step) = final * (1 - exp(-step / tau)) + noise,   noise ~ N(0, 0.01) (seeded per trial)
    final = 0.97 - 0.08 * (log10(lr) + 2)**2 - 0.4 / sqrt(width),  tau = 1 + 3 * (-log10(lr))

and its cost ``size = width`` (minimize) is reported with every step, so the rung compares the
vector (acc, size): a small model that learns worse is still on the front. The objective returns
its last step's values; ``--epochs`` steps per trial.

For each seed the same configurations (same study seed, random sampler) run once per pruner:
``none``, ``asha`` (min_resource 1, reduction_factor 3: rungs at 1, 3, 9), ``median``
(n_startup_trials 5, n_warmup_steps 2), ``hyperband`` (min_resource 1, reduction_factor 3), and
``asha-r3`` (min_resource 3: rungs at 3 and 9), ``asha-acc``: asha on ``acc`` alone (``[pruner] metric``), the rule a study with several
objectives had before this one.
Reported per pruner: epochs used (stored steps) as a share of ``none``'s, and the hypervolume
of the complete trials' front lost against ``none``'s, both against one reference point per
seed (acc 0, size 1.1 * 256). Medians and ranges over the seeds.

Usage::

    python benchmarks/bench_pruning_multi.py [--seeds 5] [--trials 30] [--epochs 27]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import textwrap
import time
from pathlib import Path

import _common  # noqa: F401 - puts the repository on sys.path

OBJECTIVE = '''
import math, random

def train(params, report):
    lr, width = params["lr"], params["width"]
    final = 0.97 - 0.08 * (math.log10(lr) + 2) ** 2 - 0.4 / math.sqrt(width)
    tau = 1 + 3 * (-math.log10(lr))
    rng = random.Random(repr((lr, width)))
    acc = 0.0
    for step in range(1, EPOCHS + 1):
        acc = final * (1 - math.exp(-step / tau)) + rng.gauss(0, 0.01)
        if report(step, {"acc": acc, "size": float(width)}):
            from hpsearch.pruners import Pruned
            raise Pruned("told to stop", step=step)
    return {"acc": acc, "size": float(width)}
'''

SETTINGS = {
    "none": "",
    "asha": "min_resource = 1\nreduction_factor = 3\n",
    "median": "n_startup_trials = 5\nn_warmup_steps = 2\n",
    "hyperband": "min_resource = 1\nreduction_factor = 3\nmax_resource = EPOCHS\n",
    "asha-r3": "min_resource = 3\nreduction_factor = 3\n",   # rungs at 3 and 9
    # the rule before the wiring: asha on the first objective alone
    "asha-acc": 'min_resource = 1\nreduction_factor = 3\nmetric = "acc"\ndirection = "maximize"\n',
}


EPOCHS = [27]


def space_text(name: str, pruner: str, trials: int, seed: int) -> str:
    return textwrap.dedent(f"""\
        [study]
        name = "{name}"
        metric = ["acc", "size"]
        direction = ["maximize", "minimize"]
        sampler = "random"
        pruner = "{pruner.split('-')[0]}"
        trials = {trials}
        seed = {seed}
        [objective]
        kind = "python"
        function = "mobench:train"
        [pruner]
        """) + SETTINGS[pruner].replace("EPOCHS", str(EPOCHS[0])) + textwrap.dedent("""\
        [params]
        lr = { type = "log_uniform", low = 1e-4, high = 1.0 }
        width = { type = "int", low = 1, high = 256, log = true }
        """)


def one(folder: Path, pruner: str, trials: int, seed: int) -> tuple[int, list[list[float]]]:
    """(epochs used, the complete trials' (acc, size)) of one run."""
    import hpsearch
    from hpsearch.space import parse_space

    f = folder / f"{pruner}-{seed}.toml"
    f.write_text(space_text("mo", pruner, trials, seed))
    storage = hpsearch.open_storage(f"sqlite:///{folder}/{pruner}-{seed}.db")
    try:
        hpsearch.run_study(storage, parse_space(f.read_text(), source=str(f)), hpsearch.RunOptions())
        study = storage.get_study("mo")
        epochs, points = 0, []
        for t in storage.trials(study, best_first=False):
            epochs += len(storage.trial(study, t.number).steps)
            if t.state == "complete":
                points.append([t.values["acc"], t.values["size"]])
        return epochs, points
    finally:
        storage.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--epochs", type=int, default=27)
    ap.add_argument("--pruners", nargs="+", default=["none", "asha", "median", "hyperband",
                                                         "asha-r3", "asha-acc"])
    args = ap.parse_args()
    EPOCHS[0] = args.epochs
    from hpsearch.pareto import hypervolume

    up, ref = (True, False), [0.0, 1.1 * 256]
    rows: dict[str, list[tuple[float, float]]] = {p: [] for p in args.pruners}
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "mobench.py").write_text(OBJECTIVE.replace("EPOCHS", str(args.epochs)))
        os.chdir(folder)
        for seed in range(args.seeds):
            base_epochs, base_points = one(folder, "none", args.trials, seed)
            base_hv = hypervolume(base_points, up, ref)
            for p in args.pruners:
                epochs, points = (base_epochs, base_points) if p == "none" else \
                    one(folder, p, args.trials, seed)
                lost = (base_hv - hypervolume(points, up, ref)) / base_hv
                rows[p].append((epochs / base_epochs, lost))
                print(f"seed {seed} {p:9s} epochs {epochs:4d} ({epochs / base_epochs:.0%}) "
                      f"hypervolume lost {lost:.2%}  load {os.getloadavg()[0]:.1f}", flush=True)
    print(f"\n{args.seeds} seeds, {args.trials} trials of {args.epochs} epochs, "
          f"{time.time() - t0:.0f} s")
    print("| pruner | epochs used (of none), median [min – max] | hypervolume lost, median [min – max] |")
    print("|---|---|---|")
    for p, r in rows.items():
        e, h = [x for x, _ in r], [y for _, y in r]
        print(f"| {p} | {statistics.median(e):.0%} [{min(e):.0%} – {max(e):.0%}] | "
              f"{statistics.median(h):.2%} [{min(h):.2%} – {max(h):.2%}] |")


if __name__ == "__main__":
    main()
