"""`hpsearch serve` on a 100,000-trial study: how long the page takes to load in a browser, and
what an update costs.

A study of ``--trials`` completed trials is bulk-inserted as in ``bench_scale.py``; then
``hpsearch serve`` runs as a subprocess and headless Chromium (Debian's, through selenium, as
the tests use it) opens the page ``--repeats`` times (the first with plotly.js not yet in the browser's
cache): the time from the browser's navigation start to the page's script having
drawn its first figure (the first screen: summary, live panel, history, table) and every
figure, with the size of the page. Then the updates: the answer to a poll with nothing new (bytes and
time), and after 10 trials are added by another connection (bytes: only those rows).

Usage::

    python benchmarks/bench_serve.py [--trials 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import _common  # noqa: F401 - sets sys.path
from _common import ROOT, median, write_result
from bench_scale import bulk_insert, make_space


def start_server(url: str) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "hpsearch", "--db", url, "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    m = re.search(r"(http://\S+/)", line)
    if m is None:
        proc.kill()
        raise SystemExit(f"serve did not start: {line!r} {proc.stderr.read()}")
    return proc, m.group(1)


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)


def browser():
    sys.path.insert(0, str(ROOT / "tests"))
    from support.browser import start_browser

    return start_browser(Path(tempfile.mkdtemp(prefix="bench-serve-chromium-")))


def wait_attr(driver, attr: str, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if driver.execute_script(f"return document.body && document.body.getAttribute('{attr}')"):
            return
        time.sleep(0.02)
    raise SystemExit(f"the page never set {attr}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    from hpsearch.storage import Storage

    folder = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    url = f"sqlite:///{folder / 'serve.db'}"
    storage = Storage(url)
    space = make_space("scale", args.trials)
    study = storage.create_study(name="scale", metric="value", direction="maximize",
                                 sampler="random", seed=0, space=space.to_dict(),
                                 source=space.source, target=args.trials)
    round_ = storage.latest_round(study.id)
    bulk_insert(storage, study, round_, space, 0, args.trials)
    print(f"{args.trials:,} trials inserted", flush=True)

    driver = browser()
    loads: list[dict[str, float]] = []
    sizes, starts = [], []
    try:
        t0 = time.perf_counter()
        proc, base = start_server(url)  # it builds the page before it listens
        starts.append(time.perf_counter() - t0)
        try:
            for k in range(args.repeats):
                with urllib.request.urlopen(base, timeout=120) as r:
                    sizes.append(len(r.read()))
                driver.get("about:blank")
                driver.get(base)
                wait_attr(driver, "data-ready")
                wait_attr(driver, "data-live-cursor")
                got = driver.execute_script(
                    "var t = performance.timing, b = document.body; return {"
                    "html: t.responseEnd - t.navigationStart,"
                    "parsed: t.domContentLoadedEventStart - t.navigationStart,"
                    "first_figure: +b.getAttribute('data-first-ms'),"
                    "all_figures: +b.getAttribute('data-ready-ms')}")
                got = {key: v / 1000 for key, v in got.items()}
                loads.append(got)
                print(f"load {k + 1} ({'plotly.js not cached yet' if k == 0 else 'plotly.js cached'}): "
                      f"html in {got['html']:.2f} s, parsed {got['parsed']:.2f} s, "
                      f"first figure {got['first_figure']:.2f} s, every figure "
                      f"{got['all_figures']:.2f} s ({sizes[-1] / 2**20:.1f} MiB)", flush=True)
        finally:
            stop(proc)
        print(f"server up (page built) in {starts[0]:.1f} s", flush=True)
        proc, base = start_server(url)
        try:
            with urllib.request.urlopen(base, timeout=120) as r:
                page = r.read().decode()
            cursor = json.loads(page.split("window.HP_LIVE = ")[1].split(";</script>")[0])["cursor"]
            polls = []
            for _ in range(10):
                t0 = time.perf_counter()
                with urllib.request.urlopen(f"{base}api/changes?study=scale&since={cursor}") as r:
                    idle = r.read()
                polls.append(time.perf_counter() - t0)
                time.sleep(0.55)  # past the server's shared refresh interval
            bulk_insert(storage, study, round_, space, args.trials, 10)
            time.sleep(0.6)
            with urllib.request.urlopen(f"{base}api/changes?study=scale&since={cursor}") as r:
                fresh = r.read()
            n_new = len(json.loads(fresh)["trials"])
        finally:
            stop(proc)
    finally:
        driver.quit()
    result = {"trials": args.trials, "page_bytes": median(sizes), "loads": loads,
              "server_start_s": starts, "poll_idle_bytes": len(idle), "poll_idle_s": median(polls),
              "poll_10_new_bytes": len(fresh), "poll_10_new_trials": n_new,
              "load_average": os.getloadavg()[0]}
    print(f"poll with nothing new: {len(idle):,} bytes in {median(polls) * 1000:.0f} ms (median); "
          f"after 10 new trials: {len(fresh):,} bytes ({n_new} trials)")
    write_result("serve", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
