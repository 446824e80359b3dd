"""Pruners on a learning-curve model: steps saved and best value kept, vs no pruning.

A synthetic objective stands in for training, so the comparison takes seconds: trial ``i``
draws ``u`` (its "learning rate" in the unit interval) and follows

    value(step) = final(u) * (1 - exp(-step / tau(u))) + noise,   noise ~ N(0, sigma)

with ``final(u) = 0.97 - 0.5 * (u - 0.65)**2`` (the best runs sit near u = 0.65) and
``tau(u) = 1 + 8 * (1 - u)`` (a larger rate learns faster): curves cross, so an early lead is
evidence, not proof -- the case pruning has to get right. Each trial runs up to ``--steps``
steps (epochs); its value is its best step, as the built-in trainer keeps its best epoch.

The run loop is simulated as the real one works: up to ``--workers`` trials run at once on a
virtual clock (each trial has its own step time, so reports interleave), every step is stored
before the pruner is asked, and the peers are the stored curves of the other trials -- the
decision code is hpsearch.pruners' own. Pruned trials never count as the best.

For each pruner and seed: total steps trained, the virtual wall time, and the best value of
the complete trials (and its noise-free final, ``true``); medians over ``--seeds`` seeds.

Usage::

    python benchmarks/bench_pruning.py [--trials 40] [--steps 30] [--seeds 10] [--workers 1]
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import statistics
import time

import _common  # noqa: F401 - puts the repository on sys.path

from hpsearch.pruners import PrunerSettings, StepHistory, make_pruner

SIGMA = 0.01


def final(u: float) -> float:
    return 0.97 - 0.5 * (u - 0.65) ** 2


def tau(u: float) -> float:
    return 1.0 + 8.0 * (1.0 - u)


def curve(u: float, steps: int, rng: random.Random) -> list[float]:
    return [final(u) * (1 - math.exp(-s / tau(u))) + rng.gauss(0, SIGMA)
            for s in range(1, steps + 1)]


def simulate(name: str, settings: PrunerSettings, *, seed: int, trials: int, steps: int,
             workers: int) -> dict[str, float]:
    rng = random.Random(seed)
    us = [rng.random() for _ in range(trials)]
    curves = [curve(u, steps, rng) for u in us]
    step_time = [rng.uniform(0.7, 1.3) for _ in range(trials)]
    pruner = make_pruner(name, settings.resolve("val_accuracy", "maximize"), seed=seed)
    stored: dict[int, StepHistory] = {}
    clock: list[tuple[float, int, int]] = []     # (time, trial, step)
    next_trial, total_steps, end = 0, 0, 0.0

    def start(at: float) -> None:
        nonlocal next_trial
        if next_trial < trials:
            heapq.heappush(clock, (at + step_time[next_trial], next_trial, 1))
            next_trial += 1

    for _ in range(workers):
        start(0.0)
    while clock:
        now, n, step = heapq.heappop(clock)
        end = max(end, now)
        total_steps += 1
        values = {**(stored[n].values if n in stored else {}), step: curves[n][step - 1]}
        stored[n] = StepHistory(n, "running", values)
        pruned = False
        if pruner.due(stored[n]):
            peers = {m: h for m, h in stored.items() if m != n}
            pruned = pruner.should_prune(stored[n], peers, maximize=True).prune
        if pruned or step == steps:
            stored[n] = StepHistory(n, "pruned" if pruned else "complete", values)
            start(now)
        else:
            heapq.heappush(clock, (now + step_time[n], n, step + 1))
    complete = [n for n, h in stored.items() if h.state == "complete"]
    best = max(complete, key=lambda n: max(stored[n].values.values()))
    return {"steps": total_steps, "wall": end, "best": max(stored[best].values.values()),
            "true": final(us[best]), "complete": len(complete)}


PRUNERS = {
    "none": PrunerSettings(),
    "median": PrunerSettings(),                                    # 5 startup, no warm-up
    "median w3": PrunerSettings(n_warmup_steps=3),
    "asha": PrunerSettings(),                                      # rf 4, rungs 1, 4, 16
    "asha rf3": PrunerSettings(reduction_factor=3),               # rungs 1, 3, 9, 27
    "asha m3": PrunerSettings(min_resource=3, reduction_factor=3),  # rungs 3, 9, 27
    "asha m5": PrunerSettings(min_resource=5, reduction_factor=3),  # rungs 5, 15
    "hyperband": PrunerSettings(max_resource=30),                  # rf 3, 4 brackets
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    t0 = time.perf_counter()
    print(f"{args.trials} trials x {args.steps} steps, medians over {args.seeds} seeds")
    for workers in args.workers:
        print(f"\n--workers {workers}")
        print(f"{'pruner':<11} {'steps':>6} {'of none':>8} {'wall':>7} {'best':>7} "
              f"{'d best pp':>9} {'true':>7} {'complete':>8}")
        base: dict[str, float] = {}
        for label, settings in PRUNERS.items():
            name = label.split()[0]
            runs = [simulate(name, settings, seed=s, trials=args.trials, steps=args.steps,
                             workers=workers) for s in range(args.seeds)]
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            # the paired difference, seed by seed, then its median
            if label == "none":
                base = {"runs": runs, **med}
            d_best = statistics.median(100 * (r["best"] - b["best"])
                                       for r, b in zip(runs, base["runs"]))
            print(f"{label:<11} {med['steps']:>6.0f} {med['steps'] / base['steps']:>8.2f} "
                  f"{med['wall']:>7.1f} {med['best']:>7.4f} {d_best:>+9.2f} {med['true']:>7.4f} "
                  f"{med['complete']:>8.0f}")
    print(f"\n({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
