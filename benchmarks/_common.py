"""Helpers shared by the benchmarks: the machine's description, result files, small stats."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import sys
from pathlib import Path
from typing import Any, Sequence

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"

if str(ROOT) not in sys.path:  # `python benchmarks/x.py` from anywhere
    sys.path.insert(0, str(ROOT))
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:  # noqa: BLE001 - not installed
        return "not installed"


def machine_info() -> dict[str, Any]:
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "torch": _version("torch"),
        "optuna": _version("optuna"),
        "sqlalchemy": _version("SQLAlchemy"),
        "numpy": _version("numpy"),
        "scipy": _version("scipy"),
        "loadavg": [round(x, 2) for x in load],
    }


def write_result(name: str, data: dict[str, Any], path: str | Path | None = None) -> Path:
    """Store one benchmark's figures as JSON (``run_all.py`` renders the table from these)."""
    out = Path(path) if path else RESULTS_DIR / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    data = dict(data, machine=machine_info())
    out.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return out


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def quartiles(xs: Sequence[float]) -> tuple[float, float, float]:
    """(q1, median, q3), inclusive method: defined for any non-empty sample."""
    xs = sorted(xs)
    if len(xs) == 1:
        return xs[0], xs[0], xs[0]
    q1, q2, q3 = statistics.quantiles(xs, n=4, method="inclusive")
    return q1, q2, q3


def silence_optuna() -> None:
    import logging

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.logging.disable_default_handler()
    logging.getLogger("optuna").setLevel(logging.WARNING)
    import warnings

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


_COMPILED: list[bool] = []


def compile_package() -> None:
    """Write hpsearch's bytecode (``__pycache__``) once, as installing a wheel does: an editable
    install has none, and where ``PYTHONDONTWRITEBYTECODE`` is set (this machine, many container
    images) every process would compile hpsearch's ~110 modules again, 0.1-0.2 s of CPU that a
    pip-installed hpsearch never pays. Source files newer than their bytecode are compiled."""
    if not _COMPILED:
        import compileall

        compileall.compile_dir(str(ROOT / "hpsearch"), quiet=1)
        _COMPILED.append(True)


def timed_child(argv: list[str], cwd: str, limit: float | None = None) -> tuple[float, float, str]:
    """Run ``argv`` in ``cwd`` as a child process: (wall seconds, its CPU seconds from
    ``getrusage``, its stdout). A non-zero exit stops the benchmark with the child's stderr.
    hpsearch's bytecode is written first (:func:`compile_package`)."""
    import resource
    import subprocess
    import time

    compile_package()

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=limit)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{argv} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout
