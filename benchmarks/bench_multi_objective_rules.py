"""Other rules for ``auto`` on several objectives, on the digits trade-off: hypervolume at 50 and
100 trials of candidate samplers against Optuna's default multi-objective sampler (TPE).

The problem, the hypervolume and the training cache are ``bench_multi_objective_digits.py``'s
(3 epochs per trial unless ``--epochs``, results cached per seed in ``--cache-dir``). Unlike that benchmark, the
hpsearch arms here drive the sampler's proposals directly (``propose(history, [], index=i)``,
one trial after another, no run loop, no stored durations but ``auto``'s), so each rule is
compared as a sampler and nothing else:

    optuna      optuna.samplers.TPESampler(seed=s): Optuna 5's default for several objectives
    tpe         hpsearch's multi-objective TPE: today's ``auto`` with instant trials
    tpe-s5      the same with 5 Sobol start-up trials instead of 10
    tpe-mv      the same with Optuna's multivariate TPE (hpsearch's single-objective setting)
    alt         TPE and multi-objective GP (log EHVI) in turn after the start-up: the rule
                ``auto`` follows with one objective where trials take a second or more
    auto        hpsearch's ``auto`` itself, told each trial's duration as a run stores it
                (the trainer's ``train_seconds``, kept in the cache, so a replay tells the
                same): its cost rule decides which turns GP takes, as in a run
    tpe-rank    ``tpe`` told each objective's rank among the complete trials (scaled to
                [0, 1]) instead of its value: the same fronts, no units
    tpe-log     ``tpe`` told log10 n_params, the hypervolume's own scale

``--variant`` patches the samplers of the whole process as ``bench_multi_objective_digits.py``'s
does (``random-startup,optuna-log-int``: Optuna's algorithm with hpsearch's random streams).

    python benchmarks/bench_multi_objective_rules.py --first-seed 0 --seeds 20 \
        --methods optuna,tpe,tpe-s5,tpe-mv --out /tmp/rules.jsonl
    python benchmarks/bench_multi_objective_rules.py --summarize --out /tmp/rules.jsonl
    python benchmarks/bench_multi_objective_rules.py --first-seed 200 --seeds 20 \
        --methods optuna,auto --epochs 15 --out /tmp/r15.jsonl   # auto as a run gets it
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
import types
from pathlib import Path
from typing import Any

import _common  # noqa: F401 - sets sys.path
import _digits_objective as objective
import bench_multi_objective_digits as digits

TRIALS = 100


def _multivariate(self: Any, seed: int) -> Any:
    import warnings

    from optuna.samplers import TPESampler

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TPESampler(seed=seed, n_startup_trials=0, constant_liar=True, multivariate=True,
                          constraints_func=self._constraints_func())


def sampler_for(name: str, space: Any, seed: int) -> Any:
    from hpsearch.samplers import make_sampler
    from hpsearch.samplers.multi import MultiTPESampler

    if name in ("tpe", "gp", "auto"):
        return make_sampler(name, space, seed=seed)
    if name == "tpe-s5":
        return MultiTPESampler(space, seed=seed, n_startup=5)
    if name == "tpe-mv":
        sampler = MultiTPESampler(space, seed=seed)
        sampler._optuna_sampler = types.MethodType(_multivariate, sampler)
        return sampler
    raise SystemExit(f"unknown method {name}")


def ranked(history: list[Any], metrics: tuple[str, ...]) -> list[Any]:
    """``history`` with each objective's values replaced by their rank among the complete
    trials, scaled to [0, 1] (ties share the lower rank): the same fronts, no scale."""
    from dataclasses import replace

    done = [t for t in history if t.state == "complete" and t.values]
    order = {m: sorted({t.values[m] for t in done}) for m in metrics}
    out = []
    for t in history:
        if t in done:
            values = {m: order[m].index(t.values[m]) / max(1, len(order[m]) - 1)
                      for m in metrics}
            t = replace(t, values=values, value=values[metrics[0]])
        out.append(t)
    return out


def drive(seed: int, method: str) -> tuple[list[Any], dict[str, int]]:
    """The points (error, log10 n_params) of ``TRIALS`` proposals of ``method``, in order, and
    how many proposals each model made (``auto``: how many turns GP took)."""
    from dataclasses import replace

    from hpsearch.samplers.model import Finished
    from hpsearch.space import parse_space

    space = parse_space(digits.space_text("tpe", TRIALS, seed), source="rules")
    samplers: dict[str, Any] = {}
    history: list[Any] = []
    points: list[Any] = []
    picks: dict[str, int] = {}
    for i in range(TRIALS):
        name = ("gp" if i % 2 else "tpe") if method == "alt" else method
        told = history
        if name == "tpe-rank":
            name, told = "tpe", ranked(history, ("val_accuracy", "n_params"))
        elif name == "tpe-log":
            name, told = "tpe", [t if not t.values else replace(
                t, values={**t.values, "n_params": math.log10(t.values["n_params"])})
                for t in history]
        if name not in samplers:
            samplers[name] = sampler_for(name, space, seed)
        proposal = samplers[name].propose(told, [], index=i)
        params = proposal.params
        picks[proposal.method or name] = picks.get(proposal.method or name, 0) + 1
        try:
            out = objective.train(params)
        except RuntimeError:
            history.append(Finished(params=params, value=None, state="failed"))
            points.append(None)
            continue
        values = {"val_accuracy": out["val_accuracy"], "n_params": out["n_params"]}
        timed = {"seconds": objective.lookup(params)["train_seconds"],
                 "proposed_by": proposal.method} if method == "auto" else {}
        history.append(Finished(params=params, value=values["val_accuracy"], values=values,
                                **timed))
        points.append(digits.as_point(values))
    return points, picks


def summarize(path: Path) -> None:
    from scipy.stats import wilcoxon

    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    methods = [m for m in rows[0] if m not in ("seed", "variant", "auto_picks")]
    print(f"{len(rows)} seeds ({rows[0]['seed']}-{rows[-1]['seed']}), variant "
          f"{rows[0].get('variant') or '-'}")
    for m in methods:
        cells = []
        for k in range(len(digits.CHECKPOINTS)):
            q = _common.quartiles([r[m][k] for r in rows])
            cell = f"{q[1]:.4f} [{q[0]:.4f}, {q[2]:.4f}]"
            if m != "optuna" and "optuna" in methods:
                ours, theirs = [r[m][k] for r in rows], [r["optuna"][k] for r in rows]
                wins = sum(a > b for a, b in zip(ours, theirs))
                cell += f" ({wins}/{len(rows)}, p = {wilcoxon(ours, theirs).pvalue:.2f})"
            cells.append(cell)
        cpu = statistics.median(r[m][2] for r in rows)
        print(f"| {m} | {cells[0]} | {cells[1]} | {cpu:.1f} |")
    gp = [r["auto_picks"].get("gp", 0) for r in rows if "auto_picks" in r]
    if gp:
        print(f"auto: GP took {statistics.median(gp):g} of {TRIALS} turns (median; "
              f"{min(gp)}-{max(gp)} over the seeds)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--methods", default="optuna,tpe,alt")
    ap.add_argument("--variant", default="")
    ap.add_argument("--epochs", type=int, default=3,
                    help="epochs per trial (no early stopping); the cache is per epochs too")
    ap.add_argument("--cache-dir", default="/tmp/mo_rules_cache")
    ap.add_argument("--out", default=str(_common.RESULTS_DIR / "multi_objective_rules.jsonl"))
    ap.add_argument("--summarize", action="store_true")
    args = ap.parse_args()
    out = Path(args.out)
    if args.summarize:
        summarize(out)
        return
    _common.silence_optuna()
    if args.variant:
        digits.patch_variant(set(args.variant.split(",")))
    Path(args.cache_dir).mkdir(parents=True, exist_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        objective.configure(epochs=args.epochs, seed=seed,
                            cache=Path(args.cache_dir) / f"{seed}.jsonl")
        row: dict[str, Any] = {"seed": seed, "variant": args.variant}
        for method in args.methods.split(","):
            t0 = time.process_time()
            if method == "optuna":
                points = digits.run_optuna("TPE", seed, TRIALS, Path())
            else:
                points, picks = drive(seed, method)
                if method == "auto":
                    row["auto_picks"] = picks
            row[method] = [digits.hv_at(points, c) for c in digits.CHECKPOINTS] \
                + [time.process_time() - t0]
        with out.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(row, flush=True)


if __name__ == "__main__":
    main()
