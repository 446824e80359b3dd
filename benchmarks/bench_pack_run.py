"""``run --pack 8`` end to end through the library: 32 digits trials of one shape, SQLite.

Times ``run_study`` with ``RunOptions(pack=8)`` less its start-up (the objective's warm-up,
``RunSummary.startup_s``), best of ``--repeats``, and checks that every trial ran packed.
``--root`` runs another checkout's hpsearch (a before/after comparison on one machine)::

    .venv/bin/python benchmarks/bench_pack_run.py --repeats 3 [--root /path/to/other/checkout]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

SPACE = """
[study]
name = "p"
trials = 32
seed = 0
sampler = "random"
[trainer]
dataset = "digits"
epochs = 2
threads = 1
device = "cpu"
[params]
learning_rate = { type = "log_uniform", low = 1e-4, high = 1e-1 }
hidden_units = 64
n_layers = 2
batch_size = 64
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    args = ap.parse_args()
    sys.path.insert(0, args.root)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from hpsearch.run import RunOptions, run_study
    from hpsearch.space import parse_space
    from hpsearch.storage import Storage

    times = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            storage = Storage(f"sqlite:///{tmp}/p.db")
            t0 = time.perf_counter()
            summary = run_study(storage, parse_space(SPACE, source=f"{tmp}/p.toml"),
                                RunOptions(pack=8))
            times.append(time.perf_counter() - t0 - (summary.startup_s or 0.0))
            trials = storage.trials(storage.get_study("p"), best_first=False)
            packed = sum(1 for t in trials if t.note and "packed" in t.note)
            assert summary.ran == 32 and packed == 32, (summary, packed)
            storage.dispose()
    print(f"{args.root}: run --pack 8, 32 trials, after start-up: "
          + " ".join(f"{t:.2f}s" for t in times) + f"; best {min(times):.2f} s "
          f"(load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
