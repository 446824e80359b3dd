"""Packed training (issue 17): trials/min and samples/s, sequential fit() vs fit_packed, side by side.

For each K, K trials of one shape (the learning rates differ) are trained once sequentially
(K calls of ``fit``) and once as one pack (``fit_packed``), alternating, ``--repeat`` times; the
best time of each is kept (wall, and the process's CPU seconds: on a loaded machine the CPU
column is the steadier one). Datasets: the digits space (1437 training rows, 64 features), a
synthetic 60k x 784 set (fewer epochs) and issue 25's synthetic 20k x 784 with 2 x 256 units,
batch 128. CPU only here; the thread count is set explicitly.

``--cli`` adds the CLI path (issue 25): whole ``hpsearch run`` processes on the 20k x 784 case
(``--cli-trials`` trials of ``--cli-epochs`` epochs, ``--threads``), with ``--pack 1``,
``--pack 8`` and ``--pack auto`` alternated; wall seconds and the child's CPU seconds.

    .venv/bin/python benchmarks/bench_pack.py --threads 1 --ks 1 4 8 32 128
    .venv/bin/python benchmarks/bench_pack.py --threads 1 --ks --big-ks --wide-ks 8 --cli
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI_SPACE = """
[study]
name = "pack{pack}"
metric = "val_accuracy"
direction = "maximize"
sampler = "random"
trials = {trials}
seed = 0
[objective]
kind = "builtin"
[trainer]
dataset = "synthetic"
n_samples = 20000
n_features = 784
n_classes = 10
epochs = {epochs}
patience = 10
device = "cpu"
[params]
learning_rate = {{ type = "log_uniform", low = 1e-4, high = 1e-2 }}
n_layers = 2
hidden_units = 256
batch_size = 128
optimizer = "adam"
"""


def cli_runs(args: argparse.Namespace) -> None:
    """Whole ``hpsearch run`` processes, --pack 1 / 8 / auto alternated."""
    exe = Path(sys.executable).with_name("hpsearch")
    print(f"CLI: 20k x 784, 2 x 256, batch 128, adam, {args.cli_trials} trials x "
          f"{args.cli_epochs} epochs, --threads {args.threads}")
    print(f"{'--pack':>7} {'wall s':>8} {'CPU s':>8} {'load':>5}  summary")
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeat):
            for pack in ("1", "8", "auto"):
                space = Path(tmp) / f"p{pack}_{rep}.toml"
                space.write_text(CLI_SPACE.format(pack=f"{pack}_{rep}", trials=args.cli_trials,
                                                  epochs=args.cli_epochs))
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                out = subprocess.run(
                    [str(exe), "--db", f"sqlite:///{tmp}/b.db", "run", str(space),
                     "--threads", str(args.threads), "--pack", pack],
                    capture_output=True, text=True, check=True).stdout
                wall = time.perf_counter() - start
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                note = [ln.split("--pack auto: ", 1)[1] for ln in out.splitlines()
                        if "--pack auto: " in ln]
                print(f"{pack:>7} {wall:>8.1f} {cpu:>8.1f} {os.getloadavg()[0]:>5.1f}  "
                      f"{note[0] if note else ''}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ks", type=int, nargs="*", default=[1, 4, 8, 32, 128])
    ap.add_argument("--big-ks", type=int, nargs="*", default=[1, 4, 8, 32, 128],
                    help="K values for the 60k x 784 set")
    ap.add_argument("--wide-ks", type=int, nargs="*", default=[8],
                    help="K values for issue 25's 20k x 784, 2 x 256 set")
    ap.add_argument("--wide-epochs", type=int, default=1)
    ap.add_argument("--cli", action="store_true", help="also time whole `hpsearch run`s")
    ap.add_argument("--cli-trials", type=int, default=16)
    ap.add_argument("--cli-epochs", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--seq-cap", type=int, default=8,
                    help="time at most this many sequential fits per K and extrapolate")
    args = ap.parse_args()

    import torch

    from hpsearch.trainer import TrainerSettings, TrialParams
    from hpsearch.trainer.data import load_dataset
    from hpsearch.trainer.fit import fit
    from hpsearch.trainer.packed import fit_packed

    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads {args.threads}, load {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} cores; CUDA unmeasured")
    cases = [
        ("digits", TrainerSettings(dataset="digits", epochs=3, patience=10, device="cpu"),
         {"n_layers": 2, "hidden_units": 128, "batch_size": 64, "optimizer": "adam"}, args.ks),
        ("synthetic 60k x 784", TrainerSettings(dataset="synthetic", n_samples=60000,
                                                n_features=784, n_classes=10, epochs=1,
                                                patience=10, device="cpu"),
         {"n_layers": 2, "hidden_units": 64, "batch_size": 256, "optimizer": "adam"},
         args.big_ks),
        ("synthetic 20k x 784", TrainerSettings(dataset="synthetic", n_samples=20000,
                                                n_features=784, n_classes=10,
                                                epochs=args.wide_epochs, patience=10,
                                                device="cpu"),
         {"n_layers": 2, "hidden_units": 256, "batch_size": 128, "optimizer": "adam"},
         args.wide_ks),
    ]
    print(f"{'dataset':22} {'K':>4} {'seq trials/min':>15} {'pack trials/min':>16} "
          f"{'seq samples/s':>14} {'pack samples/s':>15} {'speed-up':>9} {'CPU speed-up':>12}")
    for name, settings, shape, ks in cases:
        data = load_dataset(settings)
        n_train = len(data.y_train) * settings.epochs
        for k in ks:
            params = [TrialParams.from_mapping({**shape, "learning_rate": 1e-3 * (1 + i / k)})
                      for i in range(k)]
            seeds = list(range(k))
            n_seq = min(k, args.seq_cap)
            seq_best = pack_best = seq_cpu = pack_cpu = float("inf")
            for _ in range(args.repeat):  # alternate the variants
                start, cpu = time.perf_counter(), time.process_time()
                for p, seed in zip(params[:n_seq], seeds[:n_seq]):
                    fit(p, settings, seed=seed)
                seq_best = min(seq_best, (time.perf_counter() - start) / n_seq)
                seq_cpu = min(seq_cpu, (time.process_time() - cpu) / n_seq)
                start, cpu = time.perf_counter(), time.process_time()
                fit_packed(params, settings, seeds=seeds)
                pack_best = min(pack_best, (time.perf_counter() - start) / k)
                pack_cpu = min(pack_cpu, (time.process_time() - cpu) / k)
            print(f"{name:22} {k:>4} {60 / seq_best:>15.1f} {60 / pack_best:>16.1f} "
                  f"{n_train / seq_best:>14.0f} {n_train / pack_best:>15.0f} "
                  f"{seq_best / pack_best:>8.2f}x {seq_cpu / pack_cpu:>11.2f}x", flush=True)
    if args.cli:
        cli_runs(args)
    print(f"load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
