"""Search quality of the model-based samplers: best value after 30, 50 and 100 trials.

Each method proposes, the objective is evaluated, the trial is appended to the history: our
proposal functions are driven directly (no database, no run loop), so this measures the search
alone and runs in minutes. Every method runs ``--trials`` trials once per seed and is read at
the checkpoints (30, 50, 100); printed per objective, checkpoint and method: median best value
and interquartile range over the seeds.

    hpsearch random, sobol        hpsearch.samplers (``propose(index)``)
    hpsearch tpe, gp, cmaes, auto hpsearch.samplers.{tpe,gp,cmaes,auto} (10 Sobol start-up
                                  trials, then the model; ``propose(history, [], index=i)``)
    hpsearch c2f sobol, c2f tpe,  coarse to fine: 30 Sobol trials, then rounds of 20 inside
      c2f auto                    the refined box (top 20 %) with Sobol, TPE or auto
    optuna TPE, optuna GP         Optuna's samplers with their defaults, the anchors
                                  (``bench_quality.optuna_suggest`` translates the space)
    hpsearch auto 1s, auto 10s    auto with every trial recorded as taking 1 s (10 s): the
                                  history's records carry that duration and their proposer, as
                                  a run's stored history does, so auto's cost rule sees slow
                                  trials (nothing sleeps). Plain ``hpsearch auto`` records no
                                  duration: auto's plain alternation (its rule before the cost
                                  rule). Where the durations leave every GP turn in place
                                  (the pick sequence, computed from the durations alone, is the
                                  alternation's) the plain ``auto`` traces are copied.

``auto`` delegates to gp or tpe with the same seeds, so where it picks gp for every proposal its
column repeats gp's (the run checks this on the first seed and then copies, to save GP time).

Objectives (none was written for a sampler; the design choices of this round, GP's power
transform and auto's turns, were measured on seeds 0-19 of them, so report held-out seeds,
``--first-seed 100``):

    hartmann6    Hartmann-6 on [0, 1]^6, minimised (optimum -3.32237)
    bump         a narrow bump over four log-scaled parameters (lr, 1-β, weight decay, a log
                 int width), maximised (optimum 1): half a decade wide in each
    conditional  optimizer ∈ {sgd, adam, rmsprop} with momentum only for sgd, beta2 only for
                 adam, plus lr and layers; each branch has its own optimum (sgd 1.0, adam 0.9,
                 rmsprop 0.8), maximised
    digits       the real task: search_spaces/digits_mlp.toml (13 parameters, choices and
                 conditions) with the built-in trainer, 3 epochs, one torch thread, training
                 seed 0 (so a configuration always scores the same); validation accuracy,
                 maximised (360 validation images: one image is 0.0028)

Usage::

    python benchmarks/bench_quality_model.py [--trials 100] [--seeds 10] [--first-seed 0]
        [--gp-seeds 5]
        [--objectives hartmann6,bump,conditional,digits] [--methods ...]
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from typing import Any, Callable

import _common  # noqa: F401 - sets sys.path
from _common import BENCH_DIR, quartiles, silence_optuna, write_result

CHECKPOINTS = (30, 50, 100)
METHODS = ("hpsearch random", "hpsearch sobol", "hpsearch tpe", "hpsearch gp", "hpsearch cmaes",
           "hpsearch auto", "hpsearch auto 1s", "hpsearch auto 3s", "hpsearch auto 10s",
           "hpsearch c2f sobol", "hpsearch c2f tpe", "hpsearch c2f auto",
           "optuna TPE", "optuna GP")
GP_METHODS = {"hpsearch gp", "hpsearch auto", "hpsearch c2f auto", "optuna GP",
              "hpsearch auto 1s", "hpsearch auto 3s", "hpsearch auto 10s"}

# ------------------------------------------------------------------------------ objectives
_HA = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8],
       [17, 8, 0.05, 10, 0.1, 14]]
_HP = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
       [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]
_HALPHA = [1.0, 1.2, 3.0, 3.2]


def hartmann6(p: dict[str, Any]) -> float:
    x = [p[f"x{i}"] for i in range(6)]
    return -sum(a * math.exp(-sum(_HA[i][j] * (x[j] - _HP[i][j] * 1e-4) ** 2 for j in range(6)))
                for i, a in enumerate(_HALPHA))


def bump(p: dict[str, Any]) -> float:
    logs = (math.log10(p["lr"]) + 2.6, math.log10(1 - p["beta"]) + 2.7,
            math.log10(p["wd"]) + 4.3, math.log10(p["width"]) - math.log10(180))
    return math.exp(-sum((d / 0.5) ** 2 for d in logs))


def conditional(p: dict[str, Any]) -> float:
    lr, layers = math.log10(p["lr"]), p["layers"]
    if p["optimizer"] == "sgd":
        return 1.0 - (lr + 1.3) ** 2 - 4 * (math.log10(1 - p["momentum"]) + 1.8) ** 2 \
            - 0.1 * (layers - 3) ** 2
    if p["optimizer"] == "adam":
        return 0.9 - (lr + 3.2) ** 2 - 4 * (math.log10(1 - p["beta2"]) + 2.9) ** 2 \
            - 0.1 * (layers - 2) ** 2
    return 0.8 - (lr + 2.5) ** 2 - 0.1 * (layers - 1) ** 2


PARAMS = {
    "hartmann6": "\n".join(f'x{i} = {{ type = "uniform", low = 0.0, high = 1.0 }}' for i in range(6)),
    "bump": """\
lr    = { type = "log_uniform", low = 1e-6, high = 1.0 }
beta  = { type = "log_one_minus", low = 0.9, high = 0.99999 }
wd    = { type = "log_uniform", low = 1e-7, high = 1e-1 }
width = { type = "int", low = 8, high = 1024, log = true }""",
    "conditional": """\
optimizer = { type = "choice", values = ["sgd", "adam", "rmsprop"] }
momentum  = { type = "log_one_minus", low = 0.8, high = 0.999, when = { optimizer = "sgd" } }
beta2     = { type = "log_one_minus", low = 0.9, high = 0.9999, when = { optimizer = "adam" } }
lr        = { type = "log_uniform", low = 1e-5, high = 1.0 }
layers    = { type = "int", low = 1, high = 4 }""",
}

DIGITS_SPACE = BENCH_DIR.parent / "search_spaces" / "digits_mlp.toml"
DIGITS_EPOCHS = 3
_digits_settings: Any = None


def digits(p: dict[str, Any]) -> float:
    """Validation accuracy of the built-in trainer on digits, ``DIGITS_EPOCHS`` epochs, one
    torch thread, training seed 0: a deterministic function of the configuration (so every
    method sees the same landscape), and the real task the samplers are for."""
    global _digits_settings
    import dataclasses

    import torch

    from hpsearch.trainer.fit import fit

    if _digits_settings is None:
        from hpsearch.objectives.builtin import checked_settings
        from hpsearch.space import load_space

        torch.set_num_threads(1)
        _digits_settings = dataclasses.replace(checked_settings(load_space(DIGITS_SPACE)),
                                               epochs=DIGITS_EPOCHS, device="cpu", threads=1)
    result = fit(p, _digits_settings, seed=0)
    return float(result.metrics.get("val_accuracy", 0.0)) if result.state == "complete" else 0.0


OBJECTIVES: dict[str, tuple[Callable[[dict[str, Any]], float], str]] = {
    "hartmann6": (hartmann6, "minimize"), "bump": (bump, "maximize"),
    "conditional": (conditional, "maximize"), "digits": (digits, "maximize"),
}


def make_space(objective: str, seed: int):
    from hpsearch.space import parse_space

    if objective == "digits":  # the shipped example space, its seed replaced
        import re

        text = re.sub(r"(?m)^seed = \d+", f"seed = {seed}", DIGITS_SPACE.read_text())
        return parse_space(text, source=str(DIGITS_SPACE))
    direction = OBJECTIVES[objective][1]
    text = (f'[study]\nname = "{objective}"\nmetric = "value"\ndirection = "{direction}"\n'
            f'seed = {seed}\n\n[objective]\nkind = "python"\nfunction = "x:y"\n\n'
            f'[params]\n{PARAMS[objective]}\n')
    return parse_space(text, source=str(BENCH_DIR / f"{objective}.toml"))


# ------------------------------------------------------------------------------ the methods
def trace(method: str, objective: str, seed: int, trials: int) -> tuple[list[float], list[str]]:
    """Best value so far after each trial, and each proposal's method (hpsearch models)."""
    fn, direction = OBJECTIVES[objective]
    space = make_space(objective, seed)
    values: list[float] = []
    methods: list[str] = []
    if method.startswith("optuna"):
        import optuna

        from bench_quality import optuna_suggest

        sampler = (optuna.samplers.TPESampler(seed=seed) if method == "optuna TPE"
                   else optuna.samplers.GPSampler(seed=seed))
        study = optuna.create_study(direction=direction, sampler=sampler)
        study.optimize(lambda t: fn(optuna_suggest(t, space)), n_trials=trials)
        values = [t.value for t in study.trials]
    elif method.startswith("hpsearch c2f"):
        values = _coarse_to_fine(method.split()[2], space, fn, seed, trials)
    else:
        kind, seconds = method.split()[1], _seconds(method)
        if kind in ("random", "sobol"):
            from hpsearch.samplers import make_sampler

            smp = make_sampler(kind, space, seed=seed)
            values = [fn(smp.propose(i)) for i in range(trials)]
        else:
            from hpsearch.samplers.model import Finished

            smp = _model(kind, space, seed)
            history: list[Finished] = []
            for i in range(trials):
                proposal = smp.propose(history, [], index=i)
                history.append(Finished(proposal.params, fn(proposal.params), seconds=seconds,
                                        proposed_by=proposal.method))
                methods.append(proposal.method)
            values = [h.value for h in history]
    best = min if direction == "minimize" else max
    return [best(values[:i + 1]) for i in range(len(values))], methods


def _seconds(method: str) -> float | None:
    """The fabricated duration of every trial: ``hpsearch auto 10s`` -> 10.0; None if none."""
    words = method.split()
    return float(words[2][:-1]) if len(words) == 3 and words[2].endswith("s") else None


def auto_picks(trials: int, seconds: float | None, n_startup: int = 10) -> list[str]:
    """The models auto picks at indices 0..trials-1 when every trial completes and takes
    ``seconds`` (None: unknown): the pick depends on nothing else."""
    from hpsearch.samplers.auto import pick

    picks: list[str] = []
    for i in range(trials):
        if i < n_startup:
            picks.append("sobol")
            continue
        picks.append(pick(i, i, trial_seconds=None if seconds is None else seconds * i,
                          gp_proposed=picks.count("gp")))
    return picks


def _coarse_to_fine(kind: str, space, fn, seed: int, trials: int) -> list[float]:
    """Round 1: 30 Sobol trials; then rounds of 20 refined (top 20 %, hpsearch.refine.narrow)
    from the round before, sampled by ``kind`` inside the box; a model sees its round only,
    as in a study (its start-up: the study's n_startup_trials, 10)."""
    from hpsearch.refine import narrow, top_count
    from hpsearch.samplers import make_sampler
    from hpsearch.samplers.model import Finished

    maximize = space.study.direction == "maximize"
    values: list[float] = []
    box, sizes, number = space, [30], 1
    best: tuple[Any, float] | None = None
    while len(values) < trials:
        n = min(sizes[-1], trials - len(values))
        smp = make_sampler("sobol" if number == 1 else kind, box, seed=seed + number - 1)
        history: list[Finished] = []
        for i in range(n):
            params = (smp.propose(history, [], index=i).params if smp.uses_history
                      else smp.propose(i))
            history.append(Finished(params, fn(params)))
        values += [h.value for h in history]
        ranked = sorted(history, key=lambda h: h.value, reverse=maximize)
        if best is None or (ranked[0].value > best[1]) == maximize:
            best = (ranked[0].params, ranked[0].value)
        box, _ = narrow(box, space, [h.params for h in ranked[:top_count(n)]], best[0])
        sizes.append(20)
        number += 1
    return values


def _model(kind: str, space, seed: int):
    from hpsearch.samplers.auto import AutoSampler
    from hpsearch.samplers.cmaes import CmaEsSampler
    from hpsearch.samplers.gp import GPSampler
    from hpsearch.samplers.tpe import TPESampler

    cls = {"tpe": TPESampler, "gp": GPSampler, "cmaes": CmaEsSampler, "auto": AutoSampler}[kind]
    return cls(space, seed=seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds first-seed .. first-seed+seeds-1 (held-out seeds: choices "
                             "were made on 0..19)")
    parser.add_argument("--gp-seeds", type=int, default=None,
                        help="seeds for the GP methods (slow on a small machine); default --seeds")
    parser.add_argument("--objectives", default=",".join(OBJECTIVES))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    silence_optuna()
    warnings.filterwarnings("ignore")
    checkpoints = [c for c in CHECKPOINTS if c <= args.trials] or [args.trials]
    methods = args.methods.split(",")
    result: dict[str, Any] = {"trials": args.trials, "seeds": args.seeds,
                              "first_seed": args.first_seed,
                              "gp_seeds": args.gp_seeds or args.seeds, "checkpoints": checkpoints}
    for objective in args.objectives.split(","):
        print(f"{objective} ({OBJECTIVES[objective][1]}): best value, median [IQR]", flush=True)
        out: dict[str, Any] = {}
        all_traces: dict[str, list[list[float]]] = {}
        for method in methods:
            t0 = time.perf_counter()
            n = args.gp_seeds if method in GP_METHODS and args.gp_seeds else args.seeds
            traces, picks = [], []
            copy_of = None
            if method.startswith("hpsearch auto ") and "hpsearch auto" in all_traces \
                    and auto_picks(args.trials, _seconds(method)) == auto_picks(args.trials, None):
                copy_of = "hpsearch auto"  # every GP turn kept: the same proposals
            for k, seed in enumerate(range(args.first_seed, args.first_seed + n)):
                if copy_of is not None:
                    traces.append(all_traces[copy_of][k])
                    continue
                tr, ms = trace(method, objective, seed, args.trials)
                traces.append(tr)
                picks.extend(ms)
                if method.startswith("hpsearch auto "):  # the fabricated durations were read
                    assert ms == auto_picks(args.trials, _seconds(method)), (method, ms)
                if method == "hpsearch auto" and k == 0:
                    # auto delegates with the same seeds: where it always picks one model, its
                    # trace is that model's; checked here, then copied to save (GP) time.
                    models = set(ms) - {"sobol"}
                    source = f"hpsearch {models.pop()}" if len(models) == 1 else None
                    if source in all_traces and all_traces[source][0] == tr \
                            and len(all_traces[source]) >= n:
                        copy_of = source
            all_traces[method] = traces
            row = {}
            for c in checkpoints:
                q1, q2, q3 = quartiles([t[c - 1] for t in traces])
                row[c] = {"median": q2, "q1": q1, "q3": q3}
            secs = time.perf_counter() - t0
            out[method] = {"checkpoints": row, "seeds": n, "seconds": secs,
                           "picks": sorted(set(picks)), "copied_from": copy_of}
            cells = "  ".join(f"{c:3d}: {row[c]['median']:8.4f} [{row[c]['q1']:8.4f}, "
                              f"{row[c]['q3']:8.4f}]" for c in checkpoints)
            print(f"  {method:16s} {cells}  ({n} seeds, {secs:5.0f} s)", flush=True)
        result[objective] = out
    write_result("quality_model", result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
