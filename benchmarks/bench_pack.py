"""Packed training (issue 17): trials/min and samples/s, sequential fit() vs fit_packed, side by side.

For each K, K trials of one shape (the learning rates differ) are trained once sequentially
(K calls of ``fit``) and once as one pack (``fit_packed``), alternating, ``--repeat`` times; the
best time of each is kept. Datasets: the digits space (1437 training rows, 64 features) and a
synthetic 60k x 784 set (fewer epochs). CPU only here; the thread count is set explicitly.

    .venv/bin/python benchmarks/bench_pack.py --threads 1 --ks 1 4 8 32 128
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ks", type=int, nargs="+", default=[1, 4, 8, 32, 128])
    ap.add_argument("--big-ks", type=int, nargs="+", default=[1, 4, 8, 32, 128],
                    help="K values for the 60k x 784 set")
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
    ]
    print(f"{'dataset':22} {'K':>4} {'seq trials/min':>15} {'pack trials/min':>16} "
          f"{'seq samples/s':>14} {'pack samples/s':>15} {'speed-up':>9}")
    for name, settings, shape, ks in cases:
        data = load_dataset(settings)
        n_train = len(data.y_train) * settings.epochs
        for k in ks:
            params = [TrialParams.from_mapping({**shape, "learning_rate": 1e-3 * (1 + i / k)})
                      for i in range(k)]
            seeds = list(range(k))
            n_seq = min(k, args.seq_cap)
            seq_best = pack_best = float("inf")
            for _ in range(args.repeat):  # alternate the variants
                start = time.perf_counter()
                for p, seed in zip(params[:n_seq], seeds[:n_seq]):
                    fit(p, settings, seed=seed)
                seq_best = min(seq_best, (time.perf_counter() - start) / n_seq)
                start = time.perf_counter()
                fit_packed(params, settings, seeds=seeds)
                pack_best = min(pack_best, (time.perf_counter() - start) / k)
            print(f"{name:22} {k:>4} {60 / seq_best:>15.1f} {60 / pack_best:>16.1f} "
                  f"{n_train / seq_best:>14.0f} {n_train / pack_best:>15.0f} "
                  f"{seq_best / pack_best:>8.2f}x", flush=True)
    print(f"load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
