"""A throwaway one-node Slurm cluster on loopback for the tests marked ``slurm``.

Import the fixture explicitly into a test module
(``from support.slurmcluster import slurm_cluster``). It comes from Debian's ``slurm-wlm`` and
``munge`` packages and needs root (slurmd starts jobs as their users). Everything lives in one
fresh temporary folder:

* ``munged`` with its own key, socket, seed and log file there (never the machine's
  ``/etc/munge`` or ``/run/munge``), started with ``--force`` because it runs as root;
* a generated ``slurm.conf``: one node ``localhost`` (127.0.0.1) with this machine's CPUs and
  90 % of its memory, one partition ``debug`` (default), free TCP ports for slurmctld and slurmd,
  state/spool/log/pid files in the folder, ``AuthInfo=socket=`` pointing at our munged, no
  cgroups (``proctrack/linuxproc``, ``task/none``), no accounting, no job completion log;
* ``slurmctld -D`` and ``slurmd -D -N localhost`` in the background (the node name is fixed,
  whatever the machine's host name), until ``sinfo`` shows the node ``idle``.

The fixture sets ``SLURM_CONF`` in ``os.environ`` for the session, so ``sbatch``, ``squeue``
and the processes the tests start talk to this cluster; at teardown it cancels what is left,
stops the daemons (SIGTERM, then SIGKILL) and deletes the folder. Outside CI, a machine without
the packages (or not root) skips the tests saying why; with ``CI`` set, they fail instead, as
the PostgreSQL ones do (``tests/support/pgserver.py``): CI installs both packages, so a cluster that
cannot start is a broken set-up, not a reason to pass.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "sinfo", "squeue", "scancel", "scontrol")
START_TIMEOUT_S = 60.0


def find_binaries() -> dict[str, str] | str:
    """Paths of the daemons and clients, or a sentence saying what is missing."""
    found: dict[str, str] = {}
    missing = []
    for name in (*DAEMONS, *CLIENTS):
        path = shutil.which(name) or next(
            (p for d in ("/usr/sbin", "/sbin", "/usr/bin") if os.path.exists(p := f"{d}/{name}")),
            None)
        if path is None:
            missing.append(name)
        else:
            found[name] = path
    if missing:
        return (f"Slurm/munge binaries not found: {', '.join(missing)} "
                f"(apt-get install slurm-wlm munge)")
    return found


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _memory_mb() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    return 1024


@dataclass
class SlurmCluster:
    """A running cluster: its folder, its ``slurm.conf`` and the environment to reach it."""

    base: Path
    conf: Path
    bins: dict[str, str]
    cpus: int
    partition: str = "debug"
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        """``os.environ`` plus ``SLURM_CONF`` (for subprocesses started outside the fixture)."""
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def run(self, name: str, *args: str, timeout: float = 60, check: bool = True) -> str:
        """Run a Slurm client (``sbatch``, ``squeue``, ...) against this cluster; its stdout."""
        proc = subprocess.run([self.bins[name], *args], capture_output=True, text=True,
                              env=self.env, timeout=timeout)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{name} {' '.join(args)} failed ({proc.returncode}): "
                               f"{proc.stderr.strip()}\n{self.logs()}")
        return proc.stdout

    def job_states(self, job_id: str) -> dict[str, str]:
        """``{job id (``123_4`` for array tasks): state}`` of the jobs squeue still shows."""
        out = self.run("squeue", "-h", "-r", "-j", job_id, "-o", "%i %T", check=False)
        return dict(line.split(None, 1) for line in out.splitlines() if line.strip())

    def wait_job(self, job_id: str, timeout: float = 120) -> None:
        """Wait until squeue no longer shows ``job_id`` (every array task ended)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.job_states(job_id):
                return
            time.sleep(0.5)
        raise TimeoutError(f"job {job_id} still queued/running after {timeout:.0f}s: "
                           f"{self.job_states(job_id)}\n{self.logs()}")

    def logs(self, tail: int = 1500) -> str:
        """The end of each daemon's log (for failure messages)."""
        parts = []
        for name in ("munged", "slurmctld", "slurmd"):
            path = self.base / f"{name}.log"
            if path.exists():
                parts.append(f"--- {name}.log\n{path.read_text(errors='replace')[-tail:]}")
        return "\n".join(parts)

    # ------------------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._start_munge()
        ctld_port, slurmd_port = _free_ports(2)
        self.conf.write_text(self._conf_text(ctld_port, slurmd_port))
        env = self.env
        self.procs["slurmctld"] = subprocess.Popen(
            [self.bins["slurmctld"], "-D", "-i", "-f", str(self.conf)], env=env,
            stdout=subprocess.DEVNULL, stderr=open(self.base / "slurmctld.err", "w"))
        self.procs["slurmd"] = subprocess.Popen(
            [self.bins["slurmd"], "-D", "-N", "localhost", "-f", str(self.conf)], env=env,
            stdout=subprocess.DEVNULL, stderr=open(self.base / "slurmd.err", "w"))
        self._wait_idle()

    def _start_munge(self) -> None:
        key = self.base / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        sock = self.base / "munge.socket"
        self.procs["munged"] = subprocess.Popen(
            [self.bins["munged"], "--foreground", "--force", f"--key-file={key}",
             f"--socket={sock}", f"--pid-file={self.base / 'munged.pid'}",
             f"--seed-file={self.base / 'munged.seed'}", f"--log-file={self.base / 'munged.log'}"],
            stdout=subprocess.DEVNULL, stderr=open(self.base / "munged.err", "w"))
        deadline = time.monotonic() + START_TIMEOUT_S
        while not sock.exists():
            if self.procs["munged"].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("munged did not start: "
                                   + (self.base / "munged.err").read_text()[-1500:] + self.logs())
            time.sleep(0.1)

    def _conf_text(self, ctld_port: int, slurmd_port: int) -> str:
        b = self.base
        return "\n".join([
            "# Generated by tests/support/slurmcluster.py: one node on loopback, for tests only.",
            "ClusterName=hpsearchtest",
            "SlurmctldHost=localhost(127.0.0.1)",
            f"SlurmctldPort={ctld_port}",
            f"SlurmdPort={slurmd_port}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={b / 'munge.socket'}",
            f"StateSaveLocation={b / 'state'}",
            f"SlurmdSpoolDir={b / 'spool'}",
            f"SlurmctldPidFile={b / 'slurmctld.pid'}",
            f"SlurmdPidFile={b / 'slurmd.pid'}",
            f"SlurmctldLogFile={b / 'slurmctld.log'}",
            f"SlurmdLogFile={b / 'slurmd.log'}",
            f"PlugStackConfig={b / 'plugstack.conf'}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU",
            "SchedulerType=sched/backfill",
            "ReturnToService=2",
            "MpiDefault=none",
            "SwitchType=switch/none",
            "JobCompType=jobcomp/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            # Quick turnover: the tests wait for jobs to leave squeue.
            "MinJobAge=2",
            "SchedulerParameters=sched_interval=1",
            "SlurmctldTimeout=30",
            "SlurmdTimeout=30",
            "KillWait=5",
            f"NodeName=localhost NodeAddr=127.0.0.1 CPUs={self.cpus} "
            f"RealMemory={int(_memory_mb() * 0.9)} State=UNKNOWN",
            f"PartitionName={self.partition} Nodes=localhost Default=YES MaxTime=INFINITE State=UP",
            "",
        ])

    def _wait_idle(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        state = ""
        while time.monotonic() < deadline:
            for name in ("slurmctld", "slurmd"):
                if self.procs[name].poll() is not None:
                    err = (self.base / f"{name}.err").read_text(errors="replace")[-1500:]
                    raise RuntimeError(f"{name} exited ({self.procs[name].returncode}): {err}\n"
                                       + self.logs())
            out = self.run("sinfo", "-h", "-N", "-o", "%T", check=False).strip()
            state = out or state
            if out == "idle":
                return
            time.sleep(0.5)
        raise RuntimeError(f"the node is not idle after {START_TIMEOUT_S:.0f}s "
                           f"(sinfo: {state or 'no answer'})\n{self.logs()}")

    def stop(self) -> None:
        """Cancel every job, stop the daemons (slurmd first, munged last)."""
        if self.procs.get("slurmctld") and self.procs["slurmctld"].poll() is None:
            subprocess.run([self.bins["scancel"], "--user", "root"], env=self.env,
                           capture_output=True, timeout=30)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                out = subprocess.run([self.bins["squeue"], "-h"], env=self.env,
                                     capture_output=True, text=True, timeout=30).stdout
                if not out.strip():
                    break
                time.sleep(0.5)
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


def start_cluster() -> SlurmCluster:
    """Start a cluster in a new temporary folder (stop it with ``stop()``); raises RuntimeError
    with the daemons' logs when it cannot start."""
    bins = find_binaries()
    if isinstance(bins, str):
        raise RuntimeError(bins)
    base = Path(tempfile.mkdtemp(prefix="hpsearch-slurm-"))
    for sub in ("state", "spool"):
        (base / sub).mkdir()
    (base / "plugstack.conf").write_text("")
    cluster = SlurmCluster(base=base, conf=base / "slurm.conf", bins=bins,
                           cpus=os.cpu_count() or 1)
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _skip(reason: str):
    """Skip here; in CI, which installs Slurm, fail instead (a broken set-up must not pass)."""
    if os.environ.get("CI"):
        pytest.fail(f"CI needs the Slurm tests: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def slurm_cluster():
    """A running one-node Slurm cluster for the session, ``SLURM_CONF`` set in ``os.environ``."""
    bins = find_binaries()
    if isinstance(bins, str):
        _skip(bins)
    if os.geteuid() != 0:
        _skip("the Slurm test cluster needs root (slurmd starts jobs as their users)")
    try:
        cluster = start_cluster()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        _skip(f"the Slurm test cluster did not start: {exc}")
    old = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(cluster.conf)
    try:
        yield cluster
    finally:
        if old is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = old
        cluster.stop()
        shutil.rmtree(cluster.base, ignore_errors=True)
