"""Trials per minute of the built-in trainer against torch's intra-op thread count (issue 12.9).

Small MLPs gain little from intra-op threads and lose a lot when the cores are busy (overlapping
cron runs, other jobs). This measures, for each thread count, how many trials a minute one
process gets through, on an idle machine and with ``--load N`` busy-loop processes running
beside it (default: one per core). The variants alternate (round robin over ``--repeats``) so
that a drift in the machine's load hits them all alike; the figure is the median.

    python benchmarks/bench_threads.py                 # idle, then loaded with one busy loop per core
    python benchmarks/bench_threads.py --quick         # a few seconds: CI smoke run
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

WORKLOADS = {
    # name: (trainer settings, params): the README demo's size, and a larger MLP.
    "digits h128 b64": (dict(dataset="digits", epochs=4, patience=10),
                        dict(hidden_units=128, n_layers=2, batch_size=64)),
    "synthetic 20k×64 h512 b256": (
        dict(dataset="synthetic", n_samples=20000, n_features=64, n_classes=10, epochs=2,
             patience=10),
        dict(hidden_units=512, n_layers=3, batch_size=256)),
}


def time_trial(settings, params, threads: int, seed: int) -> float:
    import torch

    from hpsearch.trainer.fit import fit

    torch.set_num_threads(threads)
    start = time.perf_counter()
    fit(params, settings, seed=seed)
    return time.perf_counter() - start


def busy_loops(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def measure(variants: list[int], repeats: int, trials: int) -> dict[str, dict[int, float]]:
    from hpsearch.trainer import TrainerSettings
    from hpsearch.trainer.data import load_dataset

    out: dict[str, dict[int, float]] = {}
    for name, (settings_kw, params) in WORKLOADS.items():
        settings = TrainerSettings(**settings_kw)
        load_dataset(settings)  # cached: the data load is not part of a trial's time
        times: dict[int, list[float]] = {t: [] for t in variants}
        time_trial(settings, params, 1, 0)  # warm-up
        for rep in range(repeats):
            order = variants[rep % len(variants):] + variants[:rep % len(variants)]
            for t in order:
                total = sum(time_trial(settings, params, t, seed) for seed in range(trials))
                times[t].append(60.0 * trials / total)
        out[name] = {t: statistics.median(v) for t, v in times.items()}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default=None,
                    help="comma-separated thread counts (default: 1,2,4,cores)")
    ap.add_argument("--load", type=int, default=None, help="busy loops when loaded (default: cores)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--trials", type=int, default=2, help="trials per measurement")
    ap.add_argument("--quick", action="store_true", help="one repeat, one trial, idle only")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    variants = ([int(t) for t in args.threads.split(",")] if args.threads
                else sorted({1, 2, 4, cores} & set(range(1, cores + 1))))
    load = cores if args.load is None else args.load
    repeats, trials = (1, 1) if args.quick else (args.repeats, args.trials)
    import torch

    print(f"# {cores} cores, torch {torch.__version__}, default threads {torch.get_num_threads()}")
    print("| workload | machine | " + " | ".join(f"{t} thr" for t in variants) + " |")
    print("|---|---|" + "---:|" * len(variants))
    phases = [("idle", 0)] + ([] if args.quick else [(f"{load} busy loops", load)])
    for label, n in phases:
        procs = busy_loops(n)
        try:
            time.sleep(0.5 if n else 0)
            result = measure(variants, repeats, trials)
        finally:
            for p in procs:
                p.kill()
                p.wait()
        for name, row in result.items():
            cells = " | ".join(f"{row[t]:.1f}" for t in variants)
            print(f"| {name} | {label} | {cells} |", flush=True)
    print("(trials per minute, median of the repeats; higher is better)")


if __name__ == "__main__":
    main()
