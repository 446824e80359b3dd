"""Per-trial overhead: hpsearch vs Optuna on a trivial objective with durable SQLite storage.

Both run N trials (default 1,000) of the same four-parameter objective (log-uniform lr, uniform
dropout, choice optimizer, momentum only when optimizer == "sgd"; see bench_objectives.py) with
a random sampler, each in a fresh SQLite file in a temporary folder; Optuna in memory runs too,
for reference, and Optuna on SQLite with hpsearch's settings (WAL, synchronous=NORMAL) as a
like-for-like row: Optuna's default SQLite journal fsyncs every commit. hpsearch goes through the library as a user's script would: ``parse_space`` of a
TOML string with ``[objective] kind = "python"``, then ``runner.run_study`` on a ``Storage``.
Every trial is committed when it ends on both sides (hpsearch: ``Storage.finish``; Optuna:
``RDBStorage``). Runs alternate in a rotating order, ``--repeats`` times; the medians are
compared, in wall time and in the process's CPU time (steadier on a shared machine). The loop
alone is timed (``run_study`` / ``study.optimize``); opening the database and
creating the study are reported apart as "setup".

Usage::

    python benchmarks/bench_overhead.py [--trials 1000] [--repeats 3] [--profile]
    python benchmarks/bench_overhead.py --optuna memory --baseline /other/checkout

``--floor`` adds two rows below hpsearch's loop: "storage alone" (``Storage.claim`` and
``Storage.finish`` of fixed params, no sampler, objective or run loop) and "sqlite3 alone" (the
claim's and the record's statements, two transactions a trial, as plain sqlite3 calls on the
same schema and pragmas): what is left when everything but the durable writes is gone.
``--optuna memory`` leaves out the two Optuna-on-SQLite rows (150 ms a trial: minutes).
``--baseline DIR`` times another checkout of hpsearch (an earlier commit, with its own
``.venv``) in the same rotation: each of its repetitions is this script run by that checkout's
Python on that checkout's package, a child process whose loop figures are read back (its own
warm-up first, as ours had).

``--profile`` runs hpsearch's loop once more under cProfile and prints where the time goes
(also written to benchmarks/results/overhead_profile.txt).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401 - sets sys.path
from _common import BENCH_DIR, RESULTS_DIR, median, silence_optuna, write_result
from bench_objectives import OVERHEAD_PARAMS, trivial_value


def space_text(trials: int, seed: int) -> str:
    return f"""\
[study]
name = "overhead"
metric = "value"
direction = "maximize"
sampler = "random"
trials = {trials}
seed = {seed}

[objective]
kind = "python"
function = "bench_objectives:trivial"

[params]
{OVERHEAD_PARAMS}"""


def run_hpsearch(folder: Path, trials: int, seed: int, profile: cProfile.Profile | None = None
                 ) -> tuple[float, float, int, float]:
    """(setup seconds, loop seconds, completed trials)."""
    from hpsearch.run import run_study
    from hpsearch.space import parse_space
    from hpsearch.storage import Storage

    t0 = time.perf_counter()
    # The source names a file in benchmarks/, so `bench_objectives` imports from there.
    space = parse_space(space_text(trials, seed), source=str(BENCH_DIR / "overhead.toml"))
    storage = Storage(f"sqlite:///{folder / 'hpsearch.db'}")
    t1, c1 = time.perf_counter(), time.process_time()
    if profile is not None:
        profile.enable()
    summary = run_study(storage, space)
    if profile is not None:
        profile.disable()
    t2, c2 = time.perf_counter(), time.process_time()
    done = summary.states.get("complete", 0)
    storage.dispose()
    return t1 - t0, t2 - t1, done, c2 - c1


def run_baseline(root: str, folder: Path, trials: int, seed: int) -> tuple[float, float, int, float]:
    """run_hpsearch of the checkout ``root`` in a child process (``--baseline``)."""
    root = str(Path(root).resolve())
    python = str(Path(root) / ".venv" / "bin" / "python")
    out = subprocess.run([python, str(Path(__file__).resolve()), "--hpsearch-only", root,
                          "--trials", str(trials), "--repeats", str(seed)],
                         capture_output=True, text=True, check=True, cwd=folder)
    setup, loop, done, cpu = json.loads(out.stdout.strip().splitlines()[-1])
    return setup, loop, done, cpu


FLOOR_PARAMS = {"learning_rate": 0.01, "dropout": 0.1, "optimizer": "adam"}


def run_storage_alone(folder: Path, trials: int, seed: int) -> tuple[float, float, int, float]:
    """Claim and record ``trials`` trials through ``Storage`` alone (fixed params)."""
    from hpsearch.storage import Storage

    t0 = time.perf_counter()
    storage = Storage(f"sqlite:///{folder / 'hpsearch.db'}")
    study = storage.create_study(name="floor", metric="value", direction="maximize",
                                 sampler="random", seed=seed, space={}, source="", target=trials)
    round_ = storage.latest_round(study.id)
    t1, c1 = time.perf_counter(), time.process_time()
    for _ in range(trials):
        trial = storage.claim(study, round_, propose=lambda i: FLOOR_PARAMS, limit=trials,
                              worker="w", device=None)
        storage.finish(trial.id, state="complete", value=0.5, metrics={"value": 0.5},
                       values={"value": 0.5}, feasible=True)
    t2, c2 = time.perf_counter(), time.process_time()
    storage.dispose()
    return t1 - t0, t2 - t1, trials, c2 - c1


def run_sqlite_alone(folder: Path, trials: int, seed: int) -> tuple[float, float, int, float]:
    """The claim's and the record's statements as plain sqlite3 calls (hpsearch's schema,
    WAL, synchronous=NORMAL, BEGIN IMMEDIATE ... COMMIT twice a trial)."""
    import json
    import sqlite3

    from hpsearch.storage import Storage

    t0 = time.perf_counter()
    path = folder / "hpsearch.db"
    storage = Storage(f"sqlite:///{path}")
    study = storage.create_study(name="floor", metric="value", direction="maximize",
                                 sampler="random", seed=seed, space={}, source="", target=trials)
    round_ = storage.latest_round(study.id)
    storage.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = NORMAL")
    t1, c1 = time.perf_counter(), time.process_time()
    for _ in range(trials):
        now = time.time()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("SELECT id, number, params FROM trials WHERE study_id = ? AND state IN "
                     "('queued', 'interrupted') ORDER BY number + 0 LIMIT 1",
                     (study.id,)).fetchone()
        index = conn.execute("UPDATE rounds SET n_claimed = n_claimed + 1 WHERE id = ? AND "
                             "n_claimed < ? RETURNING n_claimed",
                             (round_.id, trials)).fetchall()[0][0] - 1
        number = conn.execute("UPDATE studies SET next_number = next_number + 1 WHERE id = ? "
                              "RETURNING next_number", (study.id,)).fetchall()[0][0] - 1
        trial_id = conn.execute(
            "INSERT INTO trials (study_id, round, number, sample_index, state, params, seed, "
            "worker, device, heartbeat, started_at, proposed_by) VALUES (?, ?, ?, ?, ?, ?, ?, "
            "?, ?, ?, ?, ?)", (study.id, 1, number, index, "running", json.dumps(FLOOR_PARAMS),
                               number, "w", None, now, now, None)).lastrowid
        conn.execute("COMMIT")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE trials SET state = ?, value = ?, metrics = ?, error = ?, "
                     "finished_at = ?, pruned_step = ?, objective_values = ?, feasible = ?, "
                     "violation = ? WHERE id = ? AND state = 'running'",
                     ("complete", 0.5, json.dumps({"value": 0.5}), None, time.time(), None,
                      json.dumps({"value": 0.5}), True, None, trial_id))
        conn.execute("COMMIT")
    t2, c2 = time.perf_counter(), time.process_time()
    conn.close()
    return t1 - t0, t2 - t1, trials, c2 - c1


def optuna_objective(trial) -> float:
    lr = trial.suggest_float("learning_rate", 1e-5, 1e-1, log=True)
    dropout = trial.suggest_float("dropout", 0.0, 0.5)
    optimizer = trial.suggest_categorical("optimizer", ["adam", "sgd", "rmsprop"])
    momentum = trial.suggest_float("momentum", 0.8, 0.99) if optimizer == "sgd" else None
    return trivial_value(lr, dropout, optimizer, momentum)


def _wal_connection(path: str):
    """A sqlite3 connection with hpsearch's settings (WAL, synchronous=NORMAL)."""
    import sqlite3

    conn = sqlite3.connect(path, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def run_optuna(folder: Path | None, trials: int, seed: int, *, wal: bool = False
               ) -> tuple[float, float, int, float]:
    """Optuna's own SQLite settings by default (rollback journal, synchronous=FULL: an fsync
    per commit); ``wal=True`` gives it hpsearch's (WAL, synchronous=NORMAL), for a like-for-like
    reference."""
    import optuna

    t0 = time.perf_counter()
    storage = None if folder is None else f"sqlite:///{folder / 'optuna.db'}"
    if folder is not None and wal:
        path = str(folder / "optuna.db")
        storage = optuna.storages.RDBStorage(
            storage, engine_kwargs={"creator": lambda: _wal_connection(path)})
    study = optuna.create_study(storage=storage, study_name="overhead", direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=seed))
    t1, c1 = time.perf_counter(), time.process_time()
    study.optimize(optuna_objective, n_trials=trials)
    t2, c2 = time.perf_counter(), time.process_time()
    done = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    return t1 - t0, t2 - t1, done, c2 - c1


def profile_hpsearch(trials: int, *, top: int = 30) -> str:
    prof = cProfile.Profile()
    with tempfile.TemporaryDirectory(prefix="hpsearch-bench-") as tmp:
        _, loop, _, _ = run_hpsearch(Path(tmp), trials, 0, profile=prof)
    out = io.StringIO()
    out.write(f"cProfile of run_study, {trials} trials, {loop * 1e3 / trials:.2f} ms/trial "
              f"under the profiler\n")
    stats = pstats.Stats(prof, stream=out).strip_dirs()
    out.write("\n== by cumulative time ==\n")
    stats.sort_stats("cumulative").print_stats(top)
    out.write("\n== by own time ==\n")
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-optuna", action="store_true", help="hpsearch alone")
    parser.add_argument("--optuna", choices=["all", "memory"], default="all",
                        help="memory: Optuna in memory only (not on SQLite)")
    parser.add_argument("--baseline", metavar="DIR", default=None,
                        help="also time the checkout DIR (its .venv), side by side")
    parser.add_argument("--floor", action="store_true",
                        help="also time Storage alone and the same SQL in plain sqlite3")
    parser.add_argument("--hpsearch-only", metavar="ROOT", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--json", default=None, help="where to write the figures")
    args = parser.parse_args(argv)

    runners = {"hpsearch (sqlite)": lambda d, n, s: run_hpsearch(d, n, s)}
    if args.baseline:
        runners["baseline hpsearch (sqlite)"] = lambda d, n, s: run_baseline(args.baseline, d, n, s)
    if args.floor:
        runners["storage alone"] = run_storage_alone
        runners["sqlite3 alone"] = run_sqlite_alone
    if not args.no_optuna and not args.hpsearch_only:
        try:
            silence_optuna()
        except ImportError:
            print("optuna is not installed (pip install -e '.[bench]'): hpsearch alone")
        else:
            if args.optuna == "all":
                runners["optuna (sqlite)"] = lambda d, n, s: run_optuna(d, n, s)
                runners["optuna (sqlite, WAL)"] = lambda d, n, s: run_optuna(d, n, s, wal=True)
            runners["optuna (in memory)"] = lambda d, n, s: run_optuna(None, n, s)

    if args.hpsearch_only:  # a --baseline child: one run, its figures as JSON on stdout
        sys.path.insert(0, args.hpsearch_only)
        import hpsearch

        if not hpsearch.__file__.startswith(args.hpsearch_only):
            raise SystemExit(f"baseline: hpsearch imported from {hpsearch.__file__}")
        with tempfile.TemporaryDirectory(prefix="hpsearch-bench-") as tmp:
            run_hpsearch(Path(tmp), 5, 0)  # warm-up
        with tempfile.TemporaryDirectory(prefix="hpsearch-bench-") as tmp:
            print(json.dumps(run_hpsearch(Path(tmp), args.trials, args.repeats)))
        return 0

    # Warm-up: imports, first connections (not timed).
    with tempfile.TemporaryDirectory(prefix="hpsearch-bench-") as tmp:
        for run in runners.values():
            sub = Path(tempfile.mkdtemp(dir=tmp))
            run(sub, 5, 0)

    names = list(runners)
    loops: dict[str, list[float]] = {n: [] for n in names}
    cpus: dict[str, list[float]] = {n: [] for n in names}
    setups: dict[str, list[float]] = {n: [] for n in names}
    print(f"{args.trials} trials of a trivial objective, random sampler, {args.repeats} "
          f"repetition(s), alternating")
    for rep in range(args.repeats):
        order = names[rep % len(names):] + names[:rep % len(names)]
        for name in order:
            with tempfile.TemporaryDirectory(prefix="hpsearch-bench-") as tmp:
                setup, loop, done, cpu = runners[name](Path(tmp), args.trials, rep)
            if done != args.trials:
                raise SystemExit(f"{name}: {done} of {args.trials} trials completed")
            loops[name].append(loop)
            cpus[name].append(cpu)
            setups[name].append(setup)
            print(f"  rep {rep}  {name:27s} {loop * 1e3 / args.trials:8.3f} ms/trial  "
                  f"{cpu * 1e3 / args.trials:8.3f} CPU ms/trial  (setup {setup * 1e3:6.0f} ms)")
    ms = {n: median(v) * 1e3 / args.trials for n, v in loops.items()}
    cpu_ms = {n: median(v) * 1e3 / args.trials for n, v in cpus.items()}
    print("median ms/trial: " + ", ".join(f"{n} {v:.3f}" for n, v in ms.items()))
    print("median CPU ms/trial: " + ", ".join(f"{n} {v:.3f}" for n, v in cpu_ms.items()))
    result = {"trials": args.trials, "repeats": args.repeats, "ms_per_trial": ms,
              "cpu_ms_per_trial": cpu_ms,
              "setup_ms": {n: median(v) * 1e3 for n, v in setups.items()},
              "runs_ms_per_trial": {n: [x * 1e3 / args.trials for x in v] for n, v in loops.items()}}
    if "optuna (sqlite)" in ms:
        ratio = ms["optuna (sqlite)"] / ms["hpsearch (sqlite)"]
        result["ratio_optuna_over_hpsearch"] = ratio
        print(f"optuna (sqlite) / hpsearch (sqlite) = {ratio:.1f}x "
              f"({'OK' if ratio >= 10 else 'BELOW'} the 10x goal)")
    if args.profile:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        text = profile_hpsearch(args.trials)
        (RESULTS_DIR / "overhead_profile.txt").write_text(text)
        print(text)
    write_result("overhead", result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
