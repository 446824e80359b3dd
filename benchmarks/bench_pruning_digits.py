"""Pruning on a real training task: the digits space with the built-in trainer.

A fixed number of trials (``--trials``, default 20) of the digits MLP space
(search_spaces/digits_mlp.toml, random sampler) with ``--epochs`` epochs each (patience 5 as in
the file), once per pruner, for each seed: ``none``, ``median`` (n_startup_trials 5,
n_warmup_steps 3) and ``asha`` (min_resource 3, reduction_factor 3: rungs at epochs 3 and 9).
Every variant of a seed samples the same configurations (same study seed), so the columns
differ only by what the pruner stopped. Reported per variant, median over the seeds: total
epochs trained (stored steps), wall time, best validation accuracy (complete trials only), and
the worst seed's change of the best accuracy against ``none``. The goal of issue 14 (at most a
third of the epochs of ``none``, best accuracy within 0.5 percentage points, medians) is checked
per variant. Variants alternate within each seed, so machine load hits them alike; every row
prints the 1-minute load average. With one worker, epoch counts and accuracies are seeded (the
same on any load); wall times are not.

A variant is a pruner name, alone (the settings above; ``hyperband``: min_resource 1,
reduction_factor 3) or followed by its own ``[pruner]`` fields, which then replace those
settings (fields not given take the pruner's defaults)::

    asha:min_resource=1,reduction_factor=3   hyperband:max_resource=15
    median:n_startup_trials=5,n_warmup_steps=2

Usage::

    python benchmarks/bench_pruning_digits.py [--seeds 3] [--trials 20] [--epochs 15]
        [--workers 1] [--threads 1] [--pruners none median asha asha:min_resource=1 ...]
        [--tag NAME]
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")   # before torch: one core per trial

import _common  # noqa: F401 - sets sys.path
from _common import ROOT, median, write_result

SETTINGS = {
    "none": "",
    "median": "n_startup_trials = 5\nn_warmup_steps = 3\n",
    "asha": "min_resource = 3\nreduction_factor = 3\n",
    "hyperband": "min_resource = 1\nreduction_factor = 3\n",
}


def parse_variant(spec: str) -> tuple[str, str]:
    """``name`` or ``name:key=value,...`` -> (pruner name, the ``[pruner]`` table's body)."""
    name, _, fields = spec.partition(":")
    if not fields:
        return name, SETTINGS[name]
    lines = []
    for item in fields.split(","):
        key, eq, value = item.partition("=")
        if not eq:
            raise SystemExit(f"--pruners {spec}: expected key=value, got {item!r}")
        value = value.strip()
        if not re.fullmatch(r"-?\d+", value):
            value = f'"{value}"'
        lines.append(f"{key.strip()} = {value}\n")
    return name, "".join(lines)


def space_text(spec: str, *, trials: int, epochs: int, seed: int) -> str:
    pruner, table = parse_variant(spec)
    text = (ROOT / "search_spaces" / "digits_mlp.toml").read_text()
    text = re.sub(r"(?m)^trials = \d+", f"trials = {trials}", text)
    text = re.sub(r"(?m)^seed = \d+", f"seed = {seed}", text)
    text = re.sub(r"(?m)^epochs = \d+", f"epochs = {epochs}", text)
    text = re.sub(r'(?m)^device = "auto"', 'device = "cpu"', text)
    text = re.sub(r"(?m)^(sampler = .*)$", rf'\1\npruner = "{pruner}"', text, count=1)
    return text.replace("[params]", f"[pruner]\n{table}\n[params]", 1)


def run_variant(spec: str, *, seed: int, trials: int, epochs: int, workers: int,
                threads: int | None, folder: Path, index: int) -> dict:
    from hpsearch.run import RunOptions, run_study
    from hpsearch.space import parse_space
    from hpsearch.storage import Storage

    path = folder / f"digits_{index}_{seed}.toml"
    path.write_text(space_text(spec, trials=trials, epochs=epochs, seed=seed))
    storage = Storage(f"sqlite:///{folder / f'{index}_{seed}.db'}")
    try:
        space = parse_space(path.read_text(), source=str(path))
        t0 = time.perf_counter()
        summary = run_study(storage, space, RunOptions(workers=workers, threads=threads))
        wall = time.perf_counter() - t0
        study = storage.get_study(space.study.name)
        done = storage.trials(study, best_first=False)
        n_epochs = sum(len(storage.trial(study, t.number).steps) for t in done)
        best = storage.best(study)
        return {"pruner": spec, "seed": seed, "workers": workers, "epochs": n_epochs,
                "wall_s": wall, "load": os.getloadavg()[0],
                "best": None if best is None else best.value,
                "states": summary.states}
    finally:
        storage.dispose()


def summarize(rows: list[dict], variants: list[str]) -> list[dict]:
    """One line per variant: medians over the seeds, the worst seed's Δ, whether the goal holds."""
    base = {r["seed"]: r for r in rows if r["pruner"] == "none"}
    out = []
    for spec in variants:
        mine = [r for r in rows if r["pruner"] == spec]
        paired = [r for r in mine if r["seed"] in base]
        share = [r["epochs"] / base[r["seed"]]["epochs"] for r in paired]
        delta = [100 * (r["best"] - base[r["seed"]]["best"]) for r in paired]
        line = {"pruner": spec, "epochs": median([r["epochs"] for r in mine]),
                "share": median(share), "share_max": max(share, default=float("nan")),
                "wall_s": median([r["wall_s"] for r in mine]),
                "best": median([r["best"] for r in mine]),
                "delta": median(delta), "delta_worst": min(delta, default=float("nan"))}
        line["seeds"] = len(paired)
        line["seeds_over_half_pp"] = sum(d < -0.5 for d in delta)   # lost more than 0.5 pp
        line["goal"] = line["share"] <= 1 / 3 and line["delta"] >= -0.5   # on the medians
        out.append(line)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads per trial (0: the trainer's own choice)")
    ap.add_argument("--pruners", nargs="+", default=["none", "median", "asha"],
                    help="variants: NAME or NAME:key=value,... (see the module's docstring)")
    ap.add_argument("--tag", default="", help="suffix of the result file's name")
    args = ap.parse_args()
    from hpsearch.space import parse_space

    for spec in args.pruners:                    # fail before any training; show the settings
        space = parse_space(space_text(spec, trials=args.trials, epochs=args.epochs, seed=0),
                            source=spec)
        print(f"{spec}: pruner {space.study.pruner} {space.pruner_settings.to_dict()}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} cores)", flush=True)
    rows = []
    width = max(len(p) for p in args.pruners)
    with tempfile.TemporaryDirectory() as tmp:
        # Untimed warm-up (imports, the data set), so the first timed variant does not pay it.
        run_variant("none", seed=0, trials=1, epochs=1, workers=args.workers,
                    threads=args.threads or None, folder=Path(tmp), index=999)
        for k, seed in enumerate(range(args.first_seed, args.first_seed + args.seeds)):
            shift = k % len(args.pruners)
            order = list(enumerate(args.pruners))
            order = order[shift:] + order[:shift]
            for index, spec in order:
                row = run_variant(spec, seed=seed, trials=args.trials, epochs=args.epochs,
                                  workers=args.workers, threads=args.threads or None,
                                  folder=Path(tmp), index=index)
                rows.append(row)
                print(f"seed {seed} {spec:{width}} epochs {row['epochs']:4d}  wall "
                      f"{row['wall_s']:6.1f} s  load {row['load']:5.2f}  best {row['best']:.4f}  "
                      f"{row['states']}", flush=True)
    print(f"\nmedian over {args.seeds} seeds, {args.trials} trials x {args.epochs} epochs, "
          f"workers {args.workers}, load now {os.getloadavg()[0]:.2f}")
    summary = summarize(rows, args.pruners)
    print(f"\n| pruner | epochs | of none (worst seed) | wall (s) | best val acc | Δ best (pp) "
          f"| worst seed Δ (pp) | seeds < −0.5 pp | goal (medians) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for line in summary:
        goal = "yes" if line["goal"] else "no"
        print(f"| {line['pruner']} | {line['epochs']:.0f} | {line['share']:.2f} "
              f"({line['share_max']:.2f}) | {line['wall_s']:.1f} | {line['best']:.4f} "
              f"| {line['delta']:+.2f} | {line['delta_worst']:+.2f} "
              f"| {line['seeds_over_half_pp']}/{line['seeds']} | {goal} |")
    suffix = f"_{args.tag}" if args.tag else ""
    write_result(f"pruning_digits_w{args.workers}{suffix}",
                 {"rows": rows, "summary": summary, "args": vars(args)})


if __name__ == "__main__":
    main()
