"""Run every benchmark and write the table of figures into benchmarks/README.md.

    python benchmarks/run_all.py            # the full set (what `make bench` runs)
    python benchmarks/run_all.py --quick    # a fast smoke run: small budgets; prints the table
                                            # and leaves README.md alone (unless --readme)

Each benchmark runs as its own process (``python benchmarks/bench_*.py ... --json FILE``), so
one's imports and caches never colour another's timings; a benchmark that fails is reported
as failed and the others still run. The table goes between the ``BENCH-TABLE`` markers of
benchmarks/README.md (full runs) and to stdout. ``--note`` adds a line under the machine's
description (e.g. "shared with other jobs while it ran").
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import _common  # noqa: F401 - sets sys.path
from _common import BENCH_DIR, ROOT, machine_info

README = BENCH_DIR / "README.md"
START, END = "<!-- BENCH-TABLE:START -->", "<!-- BENCH-TABLE:END -->"

FULL = {
    "overhead": ["--trials", "1000", "--repeats", "3", "--profile"],
    "startup": ["--repeats", "5"],
    "scale": ["--trials", "100000", "--run-trials", "10000"],
    "quality": ["--trials", "60", "--seeds", "10", "--digits-trials", "8", "--digits-epochs", "5",
                "--digits-seeds", "10"],
    "trainer": ["--epochs", "1", "--repeats", "3"],
}
QUICK = {
    "overhead": ["--trials", "200", "--repeats", "1"],
    "startup": ["--repeats", "3"],
    "scale": ["--trials", "20000", "--run-trials", "3000", "--quick", "--repeats", "3",
              "--claims", "50"],
    "quality": ["--trials", "30", "--seeds", "3", "--digits-trials", "4", "--digits-epochs", "2",
                "--digits-seeds", "2"],
    "trainer": ["--epochs", "1", "--repeats", "1", "--n-samples", "10000"],
}
SCRIPTS = {"overhead": "bench_overhead.py", "startup": "bench_startup.py",
           "scale": "bench_scale.py",
           "quality": "bench_quality.py", "trainer": "bench_trainer.py"}


def run_one(name: str, args: list[str], out_dir: Path) -> dict[str, Any]:
    script = BENCH_DIR / SCRIPTS[name]
    if not script.exists():
        return {"status": "missing", "note": f"{script.name} does not exist yet"}
    cmd = [sys.executable, str(script), *args]
    if name != "trainer":  # bench_trainer.py prints its figures; it writes no JSON
        cmd += ["--json", str(out_dir / f"{name}.json")]
    print(f"\n=== {name}: {' '.join(cmd[1:])}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines = []
    for line in proc.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    rc = proc.wait()
    info: dict[str, Any] = {"rc": rc, "seconds": time.perf_counter() - t0, "argv": cmd[1:]}
    text = "".join(lines)
    if name == "trainer":
        return parse_trainer(text, info)
    path = out_dir / f"{name}.json"
    if rc == 0 and path.exists():
        info.update(status="ok", data=json.loads(path.read_text()))
    else:
        info.update(status="failed", note=(text.strip().splitlines() or ["no output"])[-1])
    return info


def parse_trainer(text: str, info: dict[str, Any]) -> dict[str, Any]:
    """bench_trainer.py prints its figures (its owner may change the wording): take the ratio
    line (``trainer / plain loop = R`` or ``... ratio R``) and, when there, samples/s."""
    ratio = (re.search(r"trainer / plain loop = ([\d.]+)(.*)$", text, re.M)
             or re.search(r"median samples/s: trainer \d+, plain loop \d+, ratio ([\d.]+)(.*)$",
                          text, re.M))
    if ratio is None:
        tail = text.strip().splitlines()[-1:] or ["no output"]
        info.update(status="failed", note=tail[0])
        return info
    info.update(status="ok", ratio=float(ratio[1]), line=ratio[0].strip())
    rates = (re.search(r"^median wall time\s+(\d+)\s+(\d+)", text, re.M)
             or re.search(r"median samples/s: trainer (\d+), plain loop (\d+)", text))
    if rates:
        info.update(trainer=int(rates[1]), plain=int(rates[2]))
    head = re.search(r"^data: (.*)$", text, re.M)
    info["setup"] = head[1].strip() if head else ""
    return info


# ------------------------------------------------------------------------------ rendering
def _f(x: float, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def render(results: dict[str, dict[str, Any]], *, quick: bool, note: str | None,
           machine: dict[str, Any]) -> str:
    m = machine
    out = [
        f"Figures of {m['date']}{' (`--quick` budgets)' if quick else ''} on {m['nproc']} × "
        f"{m['cpu']}; Python {m['python']}, torch {m['torch']}, optuna {m['optuna']}, "
        f"SQLAlchemy {m['sqlalchemy']}, numpy {m['numpy']}, scipy {m['scipy']}. Load average "
        f"at the start: {', '.join(str(x) for x in m['loadavg'])}.",
    ]
    if m.get("partial"):
        out.append(f"({m['partial']}.)")
    if note:
        out.append(f"**{note}**")
    out.append("")

    def failed(name: str) -> bool:
        r = results.get(name)
        if r is None:
            return True
        if r["status"] != "ok":
            out.append(f"*{name}: {r['status']}: {r.get('note', '')}*\n")
            return True
        return False

    if not failed("overhead"):
        d = results["overhead"]["data"]
        out += [f"### Overhead: {d['trials']} trials of a trivial objective, random sampler "
                f"(median of {d['repeats']})", "",
                "| runner | ms / trial | each repetition | setup ms |", "|---|---:|---|---:|"]
        for name, ms in d["ms_per_trial"].items():
            runs = ", ".join(f"{x:.2f}" for x in d.get("runs_ms_per_trial", {}).get(name, []))
            out.append(f"| {name} | {ms:.3f} | {runs} | {d['setup_ms'][name]:.0f} |")
        if "ratio_optuna_over_hpsearch" in d:
            ms = d["ms_per_trial"]
            wal = ms.get("optuna (sqlite, WAL)")
            out += ["", f"Optuna (sqlite) / hpsearch (sqlite): **{d['ratio_optuna_over_hpsearch']:.1f}×** "
                        f"(goal ≥ 10×)" + (f"; like for like (Optuna on WAL + synchronous=NORMAL "
                                           f"too): {wal / ms['hpsearch (sqlite)']:.1f}×" if wal else "")
                    + "."]
        out.append("")

    if not failed("startup"):
        d = results["startup"]["data"]
        out += ["### Start-up (subprocess, median)", "",
                "| command | wall ms | CPU ms | heavy modules imported | slowest imports (cumulative ms) |",
                "|---|---:|---:|---|---|",
                f"| `python -c pass` | {d['python_ms']:.0f} | {d.get('python_cpu_ms', 0):.0f} | | |"]
        for c in d["commands"].values():
            top = ", ".join(f"{n} {t:.0f}" for n, t in c["importtime_top_ms"][:4])
            out.append(f"| `{' '.join(c['argv'])}` | {c['wall_ms']:.0f} | {c.get('cpu_ms', 0):.0f} | "
                       f"{', '.join(c['heavy_imports']) or 'none'} | {top} |")
        bad = {k: c["forbidden"] for k, c in d["commands"].items() if c["forbidden"]}
        out += ["", "torch / sklearn / scipy at start-up: "
                + ("**" + json.dumps(bad) + "**" if bad else "none.") , ""]

    if not failed("scale"):
        d = results["scale"]["data"]
        big, grow = d["big"], d["grow"]
        out += ["### Scale", "", "| measurement | figure |", "|---|---:|",
                f"| {big['trials']:,} trials: `hpsearch report STUDY --top 20` (subprocess) | "
                f"{big['report_cli_ms']:.0f} ms (CPU {big.get('report_cli_cpu_ms', 0):.0f} ms) |",
                f"| {big['trials']:,} trials: the same, library calls alone | {big['report_library_ms']:.1f} ms |",
                f"| {big['trials']:,} trials: one claim + finish | {big['claim_finish_ms']:.2f} ms |",
                f"| {big['trials']:,} trials: database size | {big['db_bytes'] / 2**20:.1f} MiB "
                f"({big['bytes_per_trial']:.0f} B/trial) |",
                f"| {grow['trials']:,}-trial study{' (middle bulk-filled)' if grow['bulk_middle'] else ''}: "
                f"ms/trial, trials 0–{grow['window']:,} | {grow['first_ms_per_trial']:.2f} |",
                f"| same study: ms/trial, trials {grow['trials'] - grow['window']:,}–{grow['trials']:,} | "
                f"{grow['last_ms_per_trial']:.2f} (× {grow['slowdown']:.2f}) |",
                f"| {grow['trials']:,} trials: `hpsearch report --top 20` (goal < 1 s) | "
                f"{grow['report_cli_ms']:.0f} ms (CPU {grow.get('report_cli_cpu_ms', 0):.0f} ms) |", ""]

    if not failed("quality"):
        d = results["quality"]["data"]
        objectives = [k for k in ("separable", "coupled", "digits") if k in d]
        out += [f"### Search quality: best value, median [IQR] (min – max) over seeds", "",
                f"Synthetic: {d['trials']} trials, {d['seeds']} seeds, maximum 0."
                + (f" Digits: {d['digits_budget']['trials']} trials of ≤ {d['digits_budget']['epochs']} "
                   f"epochs, {d['digits_budget']['seeds']} seeds, val_accuracy." if "digits" in d else ""),
                "", "| method | " + " | ".join(objectives) + " |",
                "|---|" + "---:|" * len(objectives)]
        methods = list(d[objectives[0]]) if objectives else []
        for method in methods:
            cells = []
            for o in objectives:
                r = d[o][method]
                nd = 3 if o == "digits" else 2
                cells.append(f"{_f(r['median'], nd)} [{_f(r['q1'], nd)}, {_f(r['q3'], nd)}] "
                             f"({_f(r['min'], nd)} – {_f(r['max'], nd)})")
            out.append(f"| {method} | " + " | ".join(cells) + " |")
        if "digits" in d and d["digits_budget"]["trials"] <= 10:
            out += ["", "With ≤ 10 trials Optuna's TPE is still in its random start-up "
                        "(`n_startup_trials=10`), so its digits column equals Optuna random's."]
        out.append("")

    r = results.get("trainer")
    if r is not None:
        out += ["### Trainer vs plain PyTorch loop (bench_trainer.py)", ""]
        if r["status"] == "ok":
            rates = (f"median trainer {r['trainer']:,} samples/s, plain loop {r['plain']:,} "
                     f"samples/s (ratio of medians {r['trainer'] / r['plain']:.3f}); "
                     if "trainer" in r else "")
            out.append(f"{r['setup']}. {rates}headline ratio **{r['ratio']:.3f}** (goal ≥ 0.95), "
                       f"in its own words: `{r['line']}`.")
        else:
            out.append(f"*{r['status']}: {r.get('note', '')}*")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def write_readme(table: str) -> bool:
    if not README.exists():
        return False
    text = README.read_text()
    if START not in text or END not in text:
        return False
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{table}{END}{tail}")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small budgets: a smoke run")
    parser.add_argument("--only", nargs="+", choices=list(SCRIPTS), default=None,
                        help="run only these benchmarks (the others keep their last figures)")
    parser.add_argument("--readme", action=argparse.BooleanOptionalAction, default=None,
                        help="write the table into README.md (default: on, off with --quick)")
    parser.add_argument("--note", default=None, help="a line under the machine's description")
    parser.add_argument("--render-only", action="store_true",
                        help="re-render the table from the last run's JSON files")
    args = parser.parse_args(argv)

    out_dir = BENCH_DIR / "results" / ("quick" if args.quick else "full")
    out_dir.mkdir(parents=True, exist_ok=True)
    plan = QUICK if args.quick else FULL
    names = args.only or list(plan)
    results: dict[str, dict[str, Any]] = {}
    summary_path = out_dir / "run_all.json"
    if args.render_only:
        saved = json.loads(summary_path.read_text())
        results, machine = saved["results"], saved["machine"]
    else:
        machine = machine_info()
        if args.only and summary_path.exists():
            # Keep the other benchmarks' last figures, so the table stays whole.
            results = json.loads(summary_path.read_text())["results"]
            machine["partial"] = f"{', '.join(names)} re-run; the rest from the previous run"
        t0 = time.perf_counter()
        for name in names:
            results[name] = run_one(name, plan[name], out_dir)
        print(f"\nall benchmarks: {time.perf_counter() - t0:.0f} s")
        summary_path.write_text(json.dumps({"machine": machine, "results": results}, indent=2,
                                           default=str) + "\n")
    table = render(results, quick=args.quick, note=args.note, machine=machine)
    print("\n" + table)
    if args.readme if args.readme is not None else not args.quick:
        print("README.md updated" if write_readme(table) else "README.md has no BENCH-TABLE markers")
    failed = [n for n, r in results.items() if r["status"] != "ok" and n != "trainer"]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
