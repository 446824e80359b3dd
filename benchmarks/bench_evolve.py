"""A sweep that evolves: what carried-over history, warm starts and duplicate redraws are worth.

The samplers are driven directly (no database, no run loop), with the same wrappers the run
uses (``hpsearch.samplers.history``) and the same mapping of earlier trials
(``hpsearch.space.carry.carry_over``), so this measures the search alone. Per seed:

(a) evolve   A study of TPE (10 Sobol start-up trials) runs ``--half`` trials in a narrow first
             space whose ``lr`` range misses the optimum, then the file is widened and the
             study evolves for ``--half`` more trials: with the earlier trials carried over
             (``evolved``) or without (``evolved cold``: a new round learning from its own
             trials only). Against: a fresh study on the final space for all ``2 × --half``
             trials. Best value at the end (maximised, optimum 1.0).
(a2)         The other way round: the first space is the wide one ([1e-4, 1]), the evolved
             one narrows ``lr`` to [1e-2, 1] around the optimum; the fresh study runs all its
             trials in the narrowed space.
(b) warm     Two related tasks: the source task (optimum lr 1e-2, x 0.3, opt "b") ran 40 Sobol
             trials; the target task is shifted (optimum lr 2e-2, x 0.4, opt "b"). TPE on the
             target: ``cold`` (10 Sobol start-up), ``warm`` (the source's 40 trials in the
             model's history), ``warm + top 3`` (also the source's best 3 configurations run
             first). Best value after 10 and 20 trials.
(c) dupes    A space of three choices and two small ints (3 × 8 × 8 = 192 configurations):
             how many of 100 random / Sobol proposals repeat an earlier one of the round,
             plain (before) and through ``Deduplicated`` (after).

Printed: median [IQR] over ``--seeds`` seeds. Usage::

    python benchmarks/bench_evolve.py [--seeds 10] [--half 20] [--parts a,a2,b,c]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from typing import Any, Callable

import _common  # noqa: F401 - sets sys.path

from hpsearch.samplers import make_sampler
from hpsearch.samplers.history import Deduplicated, FirstConfigs, WithPrior, config_key
from hpsearch.samplers.model import Finished
from hpsearch.space import Space
from hpsearch.space.carry import EarlierTrial, carry_over


def space(lr_high: float, *, startup: int = 10) -> Space:
    return Space.from_dict({
        "study": {"name": "b", "metric": "score", "direction": "maximize",
                  "n_startup_trials": startup},
        "objective": {"kind": "python", "function": "bench:f"},
        "params": {
            "lr": {"type": "log_uniform", "low": 1e-4, "high": lr_high},
            "x": {"type": "uniform", "low": 0.0, "high": 1.0},
            "y": {"type": "uniform", "low": 0.0, "high": 1.0},
            "opt": {"type": "choice", "values": ["a", "b", "c"]},
        }})


def task(lr_opt: float, x_opt: float) -> Callable[[dict[str, Any]], float]:
    def f(p: dict[str, Any]) -> float:
        return (1.0 - 0.5 * (math.log10(p["lr"]) - math.log10(lr_opt)) ** 2
                - 2.0 * (p["x"] - x_opt) ** 2 - (p["y"] - 0.7) ** 2
                - {"a": 0.3, "b": 0.0, "c": 0.15}[p["opt"]])
    return f


def run_model(smp: Any, f: Callable, n: int) -> list[float]:
    """Values of ``n`` proposals of a model sampler (its own history grows)."""
    history: list[Finished] = []
    values = []
    for i in range(n):
        params = smp.propose(history, [], index=i).params
        v = f(params)
        history.append(Finished(params=params, value=v))
        values.append(v)
    return values


def best(values: list[float], k: int | None = None) -> float:
    return max(values[:k] if k else values)


def summary(xs: list[float]) -> str:
    q = statistics.quantiles(xs, n=4) if len(xs) > 1 else [xs[0]] * 3
    return f"{statistics.median(xs):.4f} [{q[0]:.4f}, {q[2]:.4f}]"


def part_a(seeds: list[int], half: int, *, first_high: float = 1e-3,
           final: tuple[float, float] = (1e-4, 1.0)) -> dict[str, list[float]]:
    f = task(5e-2, 0.3)
    narrow = space(first_high)
    wide = space(final[1])
    if final[0] != 1e-4:
        d = wide.to_dict()
        d["params"]["lr"]["low"] = final[0]
        wide = Space.from_dict(d)
    out: dict[str, list[float]] = {"fresh (final space)": [], "evolved (history carried)": [],
                                   "evolved (carried, start-up kept)": [], "evolved cold": []}
    for seed in seeds:
        out["fresh (final space)"].append(
            best(run_model(make_sampler("tpe", wide, seed=seed), f, 2 * half)))
        first = make_sampler("tpe", narrow, seed=seed)
        history: list[Finished] = []
        for i in range(half):
            p = first.propose(history, [], index=i).params
            history.append(Finished(params=p, value=f(p)))
        earlier = carry_over([EarlierTrial(params=h.params, value=h.value, state="complete",
                                           space=narrow) for h in history], wide)
        prior = [Finished(params=p, value=v, state=s) for p, v, s in earlier.trials]
        first_best = max(h.value for h in history)  # type: ignore[type-var]
        evolved = WithPrior(make_sampler("tpe", wide, seed=seed + 1), prior)
        out["evolved (history carried)"].append(max(first_best, best(run_model(evolved, f, half))))
        kept = WithPrior(make_sampler("tpe", wide, seed=seed + 1), prior, keep_startup=True)
        out["evolved (carried, start-up kept)"].append(
            max(first_best, best(run_model(kept, f, half))))
        cold = make_sampler("tpe", wide, seed=seed + 1)
        out["evolved cold"].append(max(first_best, best(run_model(cold, f, half))))
    return out


def part_b(seeds: list[int]) -> dict[str, list[float]]:
    source_f, target_f = task(1e-2, 0.3), task(2e-2, 0.4)
    sp = space(1.0)
    out: dict[str, list[float]] = {}
    for seed in seeds:
        sobol = make_sampler("sobol", sp, seed=1000 + seed)
        source = [(c, source_f(c)) for c in (sobol.propose(i) for i in range(40))]
        carried = carry_over([EarlierTrial(params=c, value=v, state="complete", space=sp)
                              for c, v in source], sp)
        prior = [Finished(params=p, value=v, state=s) for p, v, s in carried.trials]
        top = [c for c, _ in sorted(source, key=lambda cv: -cv[1])[:3]]
        arms = {
            "cold": make_sampler("tpe", sp, seed=seed),
            "warm": WithPrior(make_sampler("tpe", sp, seed=seed), prior),
            "warm, start-up kept": WithPrior(make_sampler("tpe", sp, seed=seed), prior,
                                             keep_startup=True),
            "warm + top 3": FirstConfigs(WithPrior(make_sampler("tpe", sp, seed=seed), prior),
                                         top),
        }
        for name, smp in arms.items():
            values = run_model(smp, target_f, 20)
            out.setdefault(f"{name} @10", []).append(best(values, 10))
            out.setdefault(f"{name} @20", []).append(best(values, 20))
    return out


def part_c(seeds: list[int], n: int = 100) -> dict[str, list[float]]:
    sp = Space.from_dict({
        "study": {"name": "d", "metric": "score"},
        "objective": {"kind": "python", "function": "bench:f"},
        "params": {"a": {"type": "choice", "values": ["x", "y", "z"]},
                   "i": {"type": "int", "low": 1, "high": 8},
                   "j": {"type": "int", "low": 1, "high": 8}}})
    out: dict[str, list[float]] = {}
    for seed in seeds:
        for name in ("random", "sobol"):
            plain = make_sampler(name, sp, seed=seed)
            configs = [plain.propose(i) for i in range(n)]
            out.setdefault(f"{name} before", []).append(n - len({config_key(c) for c in configs}))
            dedup = Deduplicated(make_sampler(name, sp, seed=seed))
            history: list[Finished] = []
            for i in range(n):
                history.append(Finished(params=dedup.propose(history, [], index=i).params,
                                        value=0.0))
            out.setdefault(f"{name} after", []).append(
                n - len({config_key(h.params) for h in history}))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--half", type=int, default=20)
    ap.add_argument("--parts", default="a,a2,b,c")
    args = ap.parse_args()
    seeds = list(range(args.seeds))
    print(f"# {_common.cpu_model()}; load {_common.load_text()}" if hasattr(_common, "load_text")
          else f"# {_common.cpu_model()}")
    for part in args.parts.split(","):
        t0 = time.perf_counter()
        results = {"a": lambda: part_a(seeds, args.half),
                   "a2": lambda: part_a(seeds, args.half, first_high=1.0, final=(1e-2, 1.0)),
                   "b": lambda: part_b(seeds),
                   "c": lambda: part_c(seeds)}[part]()
        print(f"\n({part}) {len(seeds)} seeds, {time.perf_counter() - t0:.0f} s")
        for name, xs in results.items():
            print(f"  {name:28s} {summary([float(x) for x in xs])}")


if __name__ == "__main__":
    main()
