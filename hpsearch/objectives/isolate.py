"""Each trial of a python objective in a child process: ``[objective] isolate = true``.

In the run's own process a python objective that calls ``os._exit()``, segfaults in a C
extension or never returns takes the whole run with it (and leaves its trial running until it
goes stale). Isolated, each trial runs in a child process started from a fork server (spawn
where there is none): the child imports the function and calls it; ``report(step, metrics)``
goes over a pipe to this process, which records it and answers whether to stop (pruning works
as in-process). A child that dies fails its trial with how it died, and ``[objective]
timeout`` kills a trial that runs too long; either way the study goes on.

The price is a new process per trial: its fork, the import of the user's module in it, and
nothing kept between trials (no cached data, no warm GPU context): a module that loads a
dataset at import pays that load on every trial. As with ``--workers``, a script that calls the
library (not the CLI) needs the ``if __name__ == "__main__":`` guard: a child imports the
script's main module again.

Ctrl-C reaches the child too (same process group): it ignores SIGINT, and this process, which
marks the trial interrupted, kills it. A child whose run was SIGKILLed dies with it (Linux's
parent-death signal, through the fork server).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
import traceback
from pathlib import Path
from typing import Any, Mapping, Protocol, cast

from hpsearch import errors
from hpsearch.errors import HpsearchError
from hpsearch.objectives.base import Objective, ReportGate, TrialContext, TrialFailed
from hpsearch.procs import set_parent_death_signal



class Isolatable(Protocol):
    """What an isolated objective needs of the objective it runs in a child: its function's
    ``module:name``, the folders to import it from, its timeout."""

    spec: str
    search: list[Path]
    timeout: float | None

    def close(self) -> None: ...

log = logging.getLogger(__name__)

#: How often the parent checks, while it waits for a report, that its child is alive.
POLL_S = 0.5


def mp_context():
    """The fork server where there is one (a fork of a small, clean process: fast, no threads
    or CUDA context inherited), else spawn."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        # Not the run's __main__ (the CLI, or pytest): only what a child needs.
        ctx.set_forkserver_preload(["hpsearch.objectives.isolate"])
        return ctx
    return multiprocessing.get_context("spawn")


class IsolatedObjective(Objective):
    """A :class:`~hpsearch.objectives.python.PythonObjective` whose every trial runs in a child
    process (see the module docstring)."""

    kind = "python"

    def __init__(self, inner: Isolatable) -> None:
        self.inner = inner
        self.spec: str = inner.spec
        self.search = [str(p) for p in inner.search]
        self.timeout: float | None = inner.timeout

    @classmethod
    def from_space(cls, space, *, device: str | None = None, threads: int | None = None):
        """The space's python objective, isolated whatever its ``isolate`` setting says."""
        from hpsearch.objectives import objective_class

        inner = objective_class(space).from_space(space, device=device, threads=threads)
        return cls(cast(Isolatable, inner))  # a python objective: spec, search, timeout

    def close(self) -> None:
        self.inner.close()

    def run(self, params: Mapping[str, Any], context: TrialContext):
        gate = ReportGate(context.report)
        ctx = mp_context()
        conn, child_conn = ctx.Pipe(duplex=True)
        # Not a daemon: the user's code may start processes of its own (data loaders).
        proc = ctx.Process(target=child_main, name=f"hpsearch-trial-{context.number}",
                           args=(self.spec, self.search, dict(params), child_conn,
                                 dict(os.environ), os.getcwd()))
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        try:
            proc.start()
            child_conn.close()
            while True:
                wait = POLL_S if deadline is None else max(0.0, min(POLL_S, deadline - time.monotonic()))
                if conn.poll(wait):
                    try:
                        msg = conn.recv()
                    except (EOFError, OSError):
                        raise died(proc) from None
                    if msg[0] == "report":
                        answer_report(conn, gate, msg[1], msg[2])
                        continue
                    return outcome(msg, gate)
                if deadline is not None and time.monotonic() >= deadline:
                    raise TrialFailed(f"timed out after {self.timeout:g} s (objective.timeout); "
                                      "its process was killed")
                if not proc.is_alive() and not conn.poll():
                    raise died(proc)
        finally:
            if proc.pid is not None and proc.is_alive():
                proc.kill()
            if proc.pid is not None:
                proc.join(5)
            conn.close()


def answer_report(conn, gate, step: Any, metrics: Any) -> None:
    """A report of the child: recorded here; the answer (stop or not) goes back."""
    from hpsearch.pruners import Pruned

    try:
        stop = gate(step, metrics)
    except Pruned as exc:  # reported again after a stop: the child raises Pruned
        conn.send(("pruned", exc.reason, exc.step))
        return
    conn.send(("ok", bool(stop)))


def outcome(msg: tuple, gate) -> Any:
    """What the child's last message means for the trial: its result, or the exception the
    in-process objective would have raised."""
    from hpsearch.pruners import Pruned

    kind = msg[0]
    if kind == "result":
        result = msg[1]
        if gate.stopped_at is not None:  # told to stop, it returned: a partial result
            raise gate.pruned(result if isinstance(result, Mapping) else None)
        return result
    if kind == "pruned":
        _, reason, step, metrics = msg
        exc = Pruned(reason, step=step)
        if exc.step is None:
            exc.step = gate.stopped_at if gate.stopped_at is not None else gate.last_step
        exc.metrics = dict(metrics or {})  # type: ignore[attr-defined]
        raise exc
    if kind == "failed":
        raise TrialFailed(msg[1], metrics=msg[2])
    if kind == "fatal":
        raise rebuild(msg[1], msg[2])
    raise TrialFailed(msg[1])  # "error": the user's exception, with its traceback


def rebuild(name: str, message: str) -> HpsearchError:
    cls = getattr(errors, name, None)
    if isinstance(cls, type) and issubclass(cls, HpsearchError):
        try:
            return cls(message)
        except TypeError:
            pass
    return HpsearchError(message)


def died(proc) -> TrialFailed:
    """The trial's failure when its process ended without a word (os._exit, a segfault, the
    out-of-memory killer)."""
    proc.join(1)
    code = proc.exitcode
    if code is not None and code < 0:
        try:
            how = f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            how = f"killed by signal {-code}"
    else:
        how = f"exited with status {code}"
    return TrialFailed(f"the objective's process {how} before returning a result "
                       "(os._exit, a crash in native code, or out of memory)")


# ----------------------------------------------------------------------------- the child
def child_main(spec: str, search: list[str], params: dict[str, Any], conn,
               environ: dict[str, str] | None = None, cwd: str | None = None) -> None:
    """The child: import the function, call it once, send back what happened.

    A fork server's child inherits the environment and working directory the server had when
    it started, not the run's: the run's own (``environ``, ``cwd``) are applied first, so a
    trial sees what it would see in process (a variable set since, the folder of this run)."""
    # Ctrl-C is for the run, which marks the trial interrupted and kills this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_parent_death_signal(signal.SIGKILL)
    if environ is not None:
        os.environ.clear()
        os.environ.update(environ)
    if cwd is not None:
        os.chdir(cwd)
    from hpsearch.objectives.base import load_function
    from hpsearch.pruners import Pruned

    def report(step: Any, metrics: Any) -> bool:
        try:
            send(conn, ("report", step, metrics))
            reply = conn.recv()
        except (OSError, EOFError):  # the run is gone (killed): stop quietly, at once
            os._exit(1)
        if reply[0] == "pruned":
            raise Pruned(reply[1], step=reply[2])
        return reply[1]

    try:
        fn = load_function(spec, search=[Path(p) for p in search])
        msg: tuple = ("result", fn(params, report))
    except Pruned as exc:
        msg = ("pruned", exc.reason, exc.step, getattr(exc, "metrics", None))
    except TrialFailed as exc:
        msg = ("failed", str(exc), exc.metrics)
    except HpsearchError as exc:
        msg = ("fatal", type(exc).__name__, str(exc))
    except SystemExit as exc:
        msg = ("error", f"SystemExit: {exc.code}\n{traceback.format_exc(limit=-6)}")
    except BaseException as exc:  # noqa: BLE001 - the user's code failed; reported, not raised
        msg = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-6)}")
    try:
        send(conn, msg)
        conn.close()
    except (OSError, EOFError):  # the run is gone (killed): nobody to tell, nothing to print
        os._exit(1)


def send(conn, msg: tuple) -> None:
    """``msg``, or (when something in it cannot be pickled) the same with its values as text."""
    try:
        conn.send(msg)
    except Exception:  # noqa: BLE001 - pickling errors come in many classes
        conn.send(tuple(plain(v) for v in msg))


def plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


__all__ = ["IsolatedObjective", "mp_context", "child_main", "POLL_S"]
