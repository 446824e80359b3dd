"""Start-up: wall time of `hpsearch --help` and `hpsearch validate`, and what they import.

Each command runs as a subprocess (the installed console script, as a user types it), median
of ``--repeats`` runs after one warm-up. ``python -X importtime`` lists the slowest imports
(cumulative microseconds), and a probe run lists which heavy modules (torch, sklearn, scipy,
numpy, pandas, matplotlib, sqlalchemy, rich) each command loaded: the design wants torch,
scipy and sklearn loaded only where used, never by `--help` or `validate` on a random-sampler
space (numpy is expected for `validate`: the random sampler draws its samples with it).

Usage::

    python benchmarks/bench_startup.py [--repeats 5] [--space search_spaces/digits_mlp.toml]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import _common  # noqa: F401 - sets sys.path
from _common import ROOT, median, write_result

HEAVY = ("torch", "sklearn", "scipy", "numpy", "pandas", "matplotlib", "sqlalchemy", "rich",
         "optuna")

_PROBE = """\
import sys
from hpsearch.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = {heavy!r}
sys.__stderr__.write("\\nPROBE " + repr(sorted(m for m in heavy if m in sys.modules)) + "\\n")
"""


def hpsearch_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("hpsearch")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("hpsearch")
    return [found] if found else [sys.executable, "-m", "hpsearch.cli"]


def wall(cmd: list[str], repeats: int) -> tuple[float, list[float], float]:
    """(median wall s, every run's wall s, median CPU s of the child: user + system). CPU time
    is the steadier figure on a loaded machine; wall time is what a user waits."""
    env = dict(os.environ, HPSEARCH_DB="sqlite:///:memory:")
    subprocess.run(cmd, capture_output=True, cwd=ROOT, env=env)  # warm the page cache
    times, cpu = [], []
    for _ in range(repeats):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, cwd=ROOT, env=env)
        times.append(time.perf_counter() - t0)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
    return median(times), times, median(cpu)


def imported_heavy(args: list[str]) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", _PROBE.format(heavy=HEAVY), *args],
                          capture_output=True, text=True, cwd=ROOT)
    for line in proc.stderr.splitlines():
        if line.startswith("PROBE "):
            return eval(line[len("PROBE "):])  # noqa: S307 - our own repr of a list of str
    raise SystemExit(f"probe failed: {proc.stderr[-500:]}")


def importtime(args: list[str], top: int) -> list[tuple[str, float]]:
    """The ``top`` slowest top-level packages by cumulative import time (ms)."""
    code = "import sys; from hpsearch.cli import main\ntry:\n main(sys.argv[1:])\nexcept SystemExit:\n pass"
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code, *args],
                          capture_output=True, text=True, cwd=ROOT)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:"):].split("|")
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        if depth == 0:  # a module imported at top level (its cumulative includes children)
            rows.append((name.strip(), int(cumulative.strip()) / 1000))
    rows.sort(key=lambda r: -r[1])
    return rows[:top]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--space", default="search_spaces/digits_mlp.toml")
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    base = hpsearch_cmd()
    commands = {"--help": ["--help"], "validate": ["validate", args.space]}
    python_s, _, python_cpu = wall([sys.executable, "-c", "pass"], args.repeats)
    print(f"bare `python -c pass`: {python_s * 1e3:.0f} ms (CPU {python_cpu * 1e3:.0f} ms)")
    result: dict = {"python_ms": python_s * 1e3, "python_cpu_ms": python_cpu * 1e3, "commands": {}}
    for label, cmd_args in commands.items():
        ms, runs, cpu = wall(base + cmd_args, args.repeats)
        heavy = imported_heavy(cmd_args)
        offenders = importtime(cmd_args, args.top)
        result["commands"][label] = {
            "argv": ["hpsearch", *cmd_args], "wall_ms": ms * 1e3, "cpu_ms": cpu * 1e3,
            "runs_ms": [r * 1e3 for r in runs], "heavy_imports": heavy,
            "forbidden": [m for m in heavy if m in ("torch", "sklearn", "scipy")],
            "importtime_top_ms": offenders,
        }
        print(f"hpsearch {' '.join(cmd_args)}: median {ms * 1e3:.0f} ms (CPU {cpu * 1e3:.0f} ms) "
              f"over {args.repeats} runs; imports {', '.join(heavy) or 'none of ' + '/'.join(HEAVY)}")
        for name, t in offenders:
            print(f"    {t:8.1f} ms  {name}")
    bad = {k: v["forbidden"] for k, v in result["commands"].items() if v["forbidden"]}
    print("torch/sklearn/scipy at start-up: " + (json.dumps(bad) if bad else "none (OK)"))
    write_result("startup", result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
