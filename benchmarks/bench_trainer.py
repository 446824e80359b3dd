"""Built-in trainer versus a plain hand-written PyTorch loop, side by side.

Both train the same model (``[Linear(no bias) → BatchNorm1d → ReLU] × 2 → Linear``, 256 units)
with Adam on the same MNIST-sized synthetic split (60,000 × 784 × 10; 48,000 training rows),
the same batch size and number of epochs, and both evaluate the validation split once per epoch
(any real loop does, for early stopping). Runs alternate (trainer first on even repetitions,
plain loop first on odd ones) so drift in machine load hits both alike.

On a shared machine other processes steal the cores, so the verdict uses the *fastest* run of
each (the least disturbed one, as ``timeit`` recommends); the medians and CPU-time rates
(training examples per second of this process's CPU time, which waiting does not inflate) are
printed alongside.

Usage::

    python benchmarks/bench_trainer.py [--epochs 2] [--device cpu] [--repeats 4] [--threads N]

Prints samples/s (training examples per second of wall time, whole run) for each and the ratio
trainer / plain; the target is ≥ 0.95.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from hpsearch.trainer import TrainerSettings  # noqa: E402
from hpsearch.trainer.data import load_dataset  # noqa: E402
from hpsearch.trainer.fit import fit as train  # noqa: E402


def plain_loop(X_train: torch.Tensor, y_train: torch.Tensor, X_val: torch.Tensor,
               y_val: torch.Tensor, *, hidden: int, batch_size: int, epochs: int,
               lr: float, seed: int, device: torch.device) -> float:
    """The loop one writes by hand; returns the last validation accuracy."""
    torch.manual_seed(seed)
    n_features, n_classes = X_train.shape[1], int(y_train.max()) + 1
    model = nn.Sequential(
        nn.Linear(n_features, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(),
        nn.Linear(hidden, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(),
        nn.Linear(hidden, n_classes),
    ).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    accuracy = 0.0
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(y_train), device=device)
        for start in range(0, len(y_train), batch_size):
            idx = perm[start:start + batch_size]
            loss = F.cross_entropy(model(X_train[idx]), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(X_val).argmax(1) == y_val).float().mean().item()
    return accuracy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads for both (default: torch's own choice)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--n-samples", type=int, default=60_000)
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)  # the benchmark plays the runner, which decides

    settings = TrainerSettings(dataset="synthetic", n_samples=args.n_samples, n_features=784,
                               n_classes=10, epochs=args.epochs, patience=args.epochs,
                               device=args.device)
    data = load_dataset(settings)  # cached: the trainer's calls below reuse it
    device = torch.device(args.device)
    X_train = torch.from_numpy(data.X_train.copy()).to(device)
    y_train = torch.from_numpy(data.y_train.copy()).to(device)
    X_val = torch.from_numpy(data.X_val.copy()).to(device)
    y_val = torch.from_numpy(data.y_val.copy()).to(device)
    params = {"optimizer": "adam", "learning_rate": 1e-3, "n_layers": 2,
              "hidden_units": args.hidden, "batch_size": args.batch_size, "activation": "relu"}
    n_train = len(data.y_train)
    print(f"data: {n_train} train / {len(data.y_val)} val × {data.n_features} features, "
          f"{data.n_classes} classes; model 2 × {args.hidden}, batch {args.batch_size}, "
          f"{args.epochs} epoch(s), device {args.device}, torch threads "
          f"{torch.get_num_threads()}")

    def run_trainer(seed: int) -> float:
        return train(params, settings, seed=seed).metrics["val_accuracy"]

    def run_plain(seed: int) -> float:
        acc = plain_loop(X_train, y_train, X_val, y_val, hidden=args.hidden,
                         batch_size=args.batch_size, epochs=args.epochs, lr=1e-3, seed=seed,
                         device=device)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return acc

    # Warm-up (thread pools, allocator) on a slice, not timed.
    plain_loop(X_train[:4096], y_train[:4096], X_val[:512], y_val[:512], hidden=args.hidden,
               batch_size=args.batch_size, epochs=1, lr=1e-3, seed=0, device=device)
    wall: dict[str, list[float]] = {"trainer": [], "plain": []}
    cpu: dict[str, list[float]] = {"trainer": [], "plain": []}
    samples = n_train * args.epochs
    for rep in range(args.repeats):
        order = [("trainer", run_trainer), ("plain", run_plain)]
        for name, run in order if rep % 2 == 0 else order[::-1]:
            start, start_cpu = time.perf_counter(), time.process_time()
            acc = run(rep)
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
            print(f"  rep {rep}  {name:8s} {wall[name][-1]:7.2f} s  "
                  f"{samples / wall[name][-1]:9.0f} samples/s  (cpu {cpu[name][-1]:6.2f} s)  "
                  f"val_accuracy {acc:.4f}")
    print(f"{'samples/s':24s} {'trainer':>10s} {'plain':>10s} {'ratio':>7s}")
    ratios = {}
    for label, table, pick in (("best wall time", wall, min),
                               ("median wall time", wall, statistics.median),
                               ("best cpu time", cpu, min)):
        t, p = samples / pick(table["trainer"]), samples / pick(table["plain"])
        ratios[label] = t / p
        print(f"{label:24s} {t:10.0f} {p:10.0f} {t / p:7.3f}")
    ratio = ratios["best wall time"]
    print(f"trainer / plain loop = {ratio:.3f} on the best runs "
          f"({'OK' if ratio >= 0.95 else 'BELOW'} the 0.95 target)")
    return 0 if ratio >= 0.95 else 1


if __name__ == "__main__":
    raise SystemExit(main())
