"""Search quality through the run loop: real studies on SQLite, one database file per run.

``bench_quality_model.py`` drives the proposal functions directly; this one runs whole studies
with :func:`hpsearch.run.run_study` (claims, stored history, pending trials), as the CLI does.

Modes:

``digits``
    The digits MLP space (search_spaces/digits_mlp.toml) with the built-in trainer, ``--epochs``
    epochs (default 3), ``--trials`` trials (default 30), one torch thread, per seed and per
    sampler (default ``random,auto,tpe``). Prints per sampler: median [IQR] over the seeds of
    the best validation accuracy, the median wall time, and what ``auto`` picked (the stored
    ``proposed_by`` of its trials).

``workers``
    A cheap python objective (``--objective``: the narrow log-scaled ``bump`` or ``hartmann6``
    of bench_quality_model.py, each call sleeping ``--sleep`` seconds so trials overlap),
    ``--trials`` trials (default 50) with ``--workers 1`` and ``--workers N`` (default 4),
    sampler ``--sampler`` (default auto), per seed. Prints the best value per seed and worker
    count, median [IQR], and two checks of the N-worker runs: how many pairs of trials that ran
    at the same time (overlapping start/finish) had identical params (must be 0), and how many
    identical pairs there were at all.

Usage::

    python benchmarks/bench_quality_run.py digits [--seeds 5] [--trials 30] [--epochs 3]
        [--samplers random,auto,tpe]
    python benchmarks/bench_quality_run.py workers [--seeds 3] [--trials 50] [--workers 4]
        [--objective bump] [--sampler auto] [--sleep 0.2]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")   # before torch: one core per trial

import _common  # noqa: F401 - sets sys.path
from _common import BENCH_DIR, ROOT, median, quartiles, silence_optuna, write_result


def _run(space_path: Path, db: Path, *, workers: int = 1, threads: int | None = None):
    """One study run to its target; (best value, wall s, trials as records, storage closed)."""
    from hpsearch.run import RunOptions, run_study
    from hpsearch.space import load_space
    from hpsearch.storage import Storage

    storage = Storage(f"sqlite:///{db}")
    try:
        space = load_space(space_path)
        t0 = time.perf_counter()
        run_study(storage, space, RunOptions(workers=workers, threads=threads))
        wall = time.perf_counter() - t0
        study = storage.get_study(space.study.name)
        trials = storage.trials(study, best_first=False)
        best = storage.best(study)
        return (None if best is None else best.value), wall, trials
    finally:
        storage.dispose()


# ------------------------------------------------------------------------------ digits
def digits_text(sampler: str, *, trials: int, epochs: int, seed: int) -> str:
    text = (ROOT / "search_spaces" / "digits_mlp.toml").read_text()
    text = re.sub(r"(?m)^trials = \d+", f"trials = {trials}", text)
    text = re.sub(r"(?m)^seed = \d+", f"seed = {seed}", text)
    text = re.sub(r"(?m)^epochs = \d+", f"epochs = {epochs}", text)
    text = re.sub(r'(?m)^device = "auto"', 'device = "cpu"', text)
    return re.sub(r'(?m)^sampler = "random"', f'sampler = "{sampler}"', text)


def digits(args: argparse.Namespace) -> dict:
    samplers = args.samplers.split(",")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="hps-quality-run-") as tmp:
        folder = Path(tmp)
        for seed in range(args.seeds):
            for sampler in samplers:           # alternate within a seed: load hits all alike
                path = folder / f"digits_{sampler}_{seed}.toml"
                path.write_text(digits_text(sampler, trials=args.trials, epochs=args.epochs,
                                            seed=seed))
                best, wall, trials = _run(path, folder / f"{sampler}_{seed}.db", threads=1)
                picks = collections.Counter(t.proposed_by for t in trials)
                rows.append({"sampler": sampler, "seed": seed, "best": best, "wall_s": wall,
                             "picks": dict(picks), "load": os.getloadavg()[0]})
                print(f"  seed {seed} {sampler:7s} best {best:.4f}  {wall:6.1f} s  "
                      f"{dict(picks)}  load {rows[-1]['load']:.1f}", flush=True)
    print(f"digits, {args.trials} trials x {args.epochs} epochs, {args.seeds} seeds: "
          "best val accuracy median [IQR], wall median", flush=True)
    summary = {}
    for sampler in samplers:
        mine = [r for r in rows if r["sampler"] == sampler]
        q1, q2, q3 = quartiles([r["best"] for r in mine])
        picks: collections.Counter = collections.Counter()
        for r in mine:
            picks.update(r["picks"])
        summary[sampler] = {"median": q2, "q1": q1, "q3": q3,
                            "wall_s": median([r["wall_s"] for r in mine]), "picks": dict(picks)}
        print(f"  {sampler:7s} {q2:.4f} [{q1:.4f}, {q3:.4f}]  "
              f"{summary[sampler]['wall_s']:6.1f} s  {dict(picks)}", flush=True)
    return {"mode": "digits", "trials": args.trials, "epochs": args.epochs,
            "seeds": args.seeds, "rows": rows, "summary": summary}


# ------------------------------------------------------------------------------ workers
OBJECTIVE_MODULE = '''\
import time

from bench_quality_model import OBJECTIVES

SLEEP = {sleep!r}


def objective(params, report):
    time.sleep(SLEEP)
    return {{"value": OBJECTIVES[{name!r}][0](params)}}
'''


def workers_text(args: argparse.Namespace, seed: int) -> str:
    from bench_quality_model import OBJECTIVES, PARAMS

    direction = OBJECTIVES[args.objective][1]
    return (f'[study]\nname = "{args.objective}"\nmetric = "value"\ndirection = "{direction}"\n'
            f'sampler = "{args.sampler}"\ntrials = {args.trials}\nseed = {seed}\n\n'
            f'[objective]\nkind = "python"\nfunction = "wobj:objective"\n\n'
            f'[params]\n{PARAMS[args.objective]}\n')


def _same_params_pairs(trials) -> tuple[int, int]:
    """(pairs with identical params that ran at the same time, identical pairs in all)."""
    overlapping = identical = 0
    for i, a in enumerate(trials):
        for b in trials[i + 1:]:
            if json.dumps(a.params, sort_keys=True) != json.dumps(b.params, sort_keys=True):
                continue
            identical += 1
            if a.started_at and b.started_at and a.finished_at and b.finished_at \
                    and a.started_at < b.finished_at and b.started_at < a.finished_at:
                overlapping += 1
    return overlapping, identical


def workers(args: argparse.Namespace) -> dict:
    counts = (1, args.workers)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="hps-quality-run-") as tmp:
        folder = Path(tmp)
        (folder / "wobj.py").write_text(OBJECTIVE_MODULE.format(sleep=args.sleep,
                                                                name=args.objective))
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [str(BENCH_DIR), str(ROOT), os.environ.get("PYTHONPATH", "")])
        for seed in range(args.seeds):
            for n in counts:
                path = folder / f"{args.objective}_{n}_{seed}.toml"
                path.write_text(workers_text(args, seed))
                best, wall, trials = _run(path, folder / f"w{n}_{seed}.db", workers=n)
                overlapping, identical = _same_params_pairs(trials)
                picks = collections.Counter(t.proposed_by for t in trials)
                rows.append({"workers": n, "seed": seed, "best": best, "wall_s": wall,
                             "trials": len(trials), "overlapping_identical": overlapping,
                             "identical": identical, "picks": dict(picks)})
                print(f"  seed {seed} workers {n} best {best:.4f}  {len(trials)} trials  "
                      f"{wall:6.1f} s  identical running {overlapping}, identical {identical}"
                      f"  {dict(picks)}", flush=True)
    print(f"{args.objective}, sampler {args.sampler}, {args.trials} trials, {args.seeds} seeds:",
          flush=True)
    summary = {}
    for n in counts:
        mine = [r for r in rows if r["workers"] == n]
        q1, q2, q3 = quartiles([r["best"] for r in mine])
        summary[n] = {"median": q2, "q1": q1, "q3": q3,
                      "wall_s": median([r["wall_s"] for r in mine]),
                      "overlapping_identical": sum(r["overlapping_identical"] for r in mine),
                      "identical": sum(r["identical"] for r in mine)}
        print(f"  workers {n}: {q2:.4f} [{q1:.4f}, {q3:.4f}]  wall {summary[n]['wall_s']:.1f} s"
              f"  identical while running {summary[n]['overlapping_identical']}, "
              f"identical {summary[n]['identical']}", flush=True)
    return {"mode": "workers", "objective": args.objective, "sampler": args.sampler,
            "trials": args.trials, "seeds": args.seeds, "sleep": args.sleep, "rows": rows,
            "summary": summary}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("digits", "workers"))
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--samplers", default="random,auto,tpe")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--objective", default="bump", choices=("bump", "hartmann6"))
    parser.add_argument("--sampler", default="auto")
    parser.add_argument("--sleep", type=float, default=0.2)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    silence_optuna()
    if args.mode == "digits":
        args.seeds = args.seeds or 5
        args.trials = args.trials or 30
        result = digits(args)
    else:
        args.seeds = args.seeds or 3
        args.trials = args.trials or 50
        result = workers(args)
    write_result(f"quality_run_{args.mode}", result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
