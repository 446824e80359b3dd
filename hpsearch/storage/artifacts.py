"""The kept files of a study's best trials: ``[trainer] keep_best = K``.

Where: ``[study] artifacts = "path"`` (relative to the space file's folder), else beside a
SQLite database (``runs/hpsearch.db`` → ``runs/hpsearch-artifacts/``), else (a server
database) ``hpsearch-artifacts/`` in the space file's folder; then one sub-folder per study.
A trial's file is ``trial-<number>.pt`` (the built-in trainer's checkpoint) or
``trial-<number>-<name>`` (a file a python or command objective named under ``"artifact"``).

The rules, and why they hold with many writers:

* **Atomic.** A file is written to a hidden temporary name in the same folder, flushed and
  fsynced, then renamed over its final name (``os.replace``), and the folder fsynced: a reader
  sees the old file or the new one, never half of one; a writer killed mid-write leaves only
  its temporary file, which the next keeper removes.
* **One writer at a time.** Every change happens under an exclusive ``flock`` of the folder's
  ``.lock``, shared by the workers of a run, other runs (cron) and ``hpsearch worker`` on the
  same machine (and on a network file system that honours ``flock``). So a temporary file
  found by the lock's holder belongs to a writer that died.
* **Exactly the best K.** After a trial is recorded, its worker takes the lock, reads the
  study's best K complete feasible trials from the database (the order of ``hpsearch best``:
  value, then the study's tie breaker, then number; a trial that broke a ``[[constraint]]`` is
  never among them), writes the trial's file if it is among them, and removes every file of a
  trial that is not. A trial among the final best K was among the best K when its own worker
  looked (the best K only get harder to enter), so it wrote its file, and nobody removes it;
  the last keeper to look removed the rest.
* **Several objectives: the first K fronts.** There is no single best, so ``keep_best = K``
  keeps every trial of the first K feasible Pareto fronts (K = 1, the default: the front
  itself, so every member ``best --pick`` can name has its file); how many files that is
  depends on the fronts, not on K. The same argument holds: a trial's front rank only grows
  as trials are added, so a trial of the final first K fronts was in them when its worker
  looked. A bound of K trials ranked by crowding distance inside a front would not hold it
  (a member's rank in such an order can improve when a neighbour is dominated, after its
  file is gone).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

from hpsearch.errors import ConfigError, StudyError

if TYPE_CHECKING:
    from hpsearch.storage.db import Storage
    from hpsearch.storage.records import StudyRecord, TrialRecord

__all__ = ["DEFAULT_KEEP_BEST", "Artifact", "ArtifactFolder", "Keeper", "artifact_folder",
           "keep_best_of", "write_atomic", "kept_file", "copy_kept"]

log = logging.getLogger(__name__)

#: The default of ``[trainer] keep_best`` (README: why one).
DEFAULT_KEEP_BEST = 1
_FILE = re.compile(r"^trial-(\d+)(\.pt|-.+)$")
_TEMP_PREFIX = ".tmp-"
_LOCK = ".lock"


@dataclass(frozen=True)
class Artifact:
    """What a trial left to keep: ``suffix`` of its kept name (``.pt``, or ``-model.bin``) and
    ``write(path)`` that writes its content to a (temporary) path."""

    suffix: str
    write: Callable[[Path], None]

    @classmethod
    def file(cls, path: str | Path) -> Artifact:
        """A file the objective wrote: copied (the original is left alone)."""
        source = Path(path)
        name = re.sub(r"[^A-Za-z0-9._-]", "_", source.name) or "artifact"
        return cls(f"-{name}", lambda dest: _copy_content(source, dest))


def _copy_content(source: Path, dest: Path) -> None:
    with open(source, "rb") as src, open(dest, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)


def keep_best_of(space: Mapping[str, Any], source: str = "space") -> int:
    """``[trainer] keep_best`` of a space dict (any objective kind), checked."""
    from hpsearch.trainer.config import MAX_KEEP_BEST

    value = (space.get("trainer") or {}).get("keep_best", DEFAULT_KEEP_BEST)
    if (not isinstance(value, int) or isinstance(value, bool)
            or not 0 <= value <= MAX_KEEP_BEST):
        raise ConfigError(f"{source}: trainer.keep_best: {value!r} must be an integer from 0 "
                          f"to {MAX_KEEP_BEST}")
    return value


def artifact_folder(url: str, study: StudyRecord) -> Path:
    """The folder of ``study``'s kept files (not created here)."""
    from hpsearch.storage.urls import parse_db_url

    setting = (study.space.get("study") or {}).get("artifacts")
    space_folder = Path(study.source).parent if study.source else Path.cwd()
    if isinstance(setting, str) and setting:
        base = Path(setting).expanduser()
        base = base if base.is_absolute() else space_folder / base
    else:
        db = parse_db_url(url)
        if db.sqlite and db.path is not None:
            path = Path(str(db.path).removeprefix("file:")).expanduser()
            base = path.absolute().parent / f"{path.stem}-artifacts"
        else:
            base = space_folder / "hpsearch-artifacts"
    return base / _folder_name(study.name)


def _folder_name(name: str) -> str:
    """A study name as one path component (names are free text)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".")
    return safe or "study"


def write_atomic(folder: Path, name: str, write: Callable[[Path], None]) -> Path:
    """``write`` a temporary file in ``folder``, fsync it, rename it to ``name``, fsync the
    folder. The caller holds the folder's lock. Returns the final path."""
    # Not mkstemp: its files are 0600; a kept model is as readable as the database (umask).
    tmp_path = folder / f"{_TEMP_PREFIX}{name}.{os.getpid()}.{secrets.token_hex(4)}"
    os.close(os.open(tmp_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        write(tmp_path)
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        final = folder / name
        os.replace(tmp_path, final)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise
    _fsync_dir(folder)
    return final


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse a folder's fsync; the rename is still atomic
        pass
    finally:
        os.close(fd)


class ArtifactFolder:
    """One study's folder of kept files and its lock."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextlib.contextmanager
    def locked(self) -> Iterator[ArtifactFolder]:
        """Hold the folder's exclusive lock (created with the folder when missing)."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / _LOCK, "a+") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield self
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def files(self) -> dict[int, list[Path]]:
        """Kept files by trial number."""
        out: dict[int, list[Path]] = {}
        if not self.path.is_dir():
            return out
        for entry in self.path.iterdir():
            match = _FILE.match(entry.name)
            if match and entry.is_file():
                out.setdefault(int(match.group(1)), []).append(entry)
        return out

    def file_of(self, number: int) -> Path | None:
        """The kept file of trial ``number`` (the checkpoint first), or None."""
        found = sorted(self.files().get(number, []), key=lambda p: p.suffix != ".pt")
        return found[0] if found else None

    def write(self, number: int, artifact: Artifact) -> Path:
        """Write trial ``number``'s file atomically (the caller holds the lock); an older file
        of it under another name is removed once the new one is in place."""
        old = self.files().get(number, [])
        final = write_atomic(self.path, f"trial-{number}{artifact.suffix}", artifact.write)
        for path in old:
            if path != final:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        return final

    def prune(self, keep: set[int]) -> list[int]:
        """Remove the files of trials not in ``keep`` and temporary files left by writers that
        died (the caller holds the lock, so no temporary file is being written). Returns the
        trial numbers removed."""
        removed = []
        for number, paths in self.files().items():
            if number not in keep:
                for path in paths:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
                removed.append(number)
        for entry in self.path.iterdir():
            if entry.name.startswith(_TEMP_PREFIX):
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()
        return sorted(removed)


#: Front ranks of trials (trial number -> rank of each complete feasible one), for a study
#: with several objectives: ``Objectives.front_ranks`` of :mod:`hpsearch.space.objectives`.
FrontRanks = Callable[[list["TrialRecord"]], "dict[int, int]"]


class Keeper:
    """Keeps the files of a study's best ``k`` complete feasible trials, or with several
    objectives (``fronts`` given) of its first ``k`` Pareto fronts (one per worker process)."""

    def __init__(self, storage: Storage, study: StudyRecord, k: int,
                 folder: Path | None = None, *, fronts: FrontRanks | None = None) -> None:
        self.storage, self.study, self.k, self.fronts = storage, study, k, fronts
        self.folder = ArtifactFolder(folder or artifact_folder(storage.url, study))

    @classmethod
    def for_run(cls, storage: Storage, study: StudyRecord, space: Mapping[str, Any],
                source: str = "space", *, fronts: FrontRanks | None = None) -> Keeper | None:
        """The keeper of a run of ``space`` (a space dict), None with ``keep_best = 0``;
        ``fronts``: the front ranks of a study with several objectives (None: one)."""
        k = keep_best_of(space, source)
        return cls(storage, study, k, fronts=fronts) if k > 0 else None

    def best_numbers(self) -> list[int]:
        """The numbers of the study's best ``k`` complete feasible trials, as ``hpsearch
        best`` orders them (value, the study's tie breaker, number); with several objectives,
        of its first ``k`` fronts (by rank, then number)."""
        if self.fronts is not None:
            ranks = self.fronts(list(self.storage.iter_trials(self.study, states=["complete"])))
            return sorted((n for n, r in ranks.items() if r < self.k),
                          key=lambda n: (ranks[n], n))
        from hpsearch.ranking import tie_breaker

        tie = tie_breaker(self.study.space)
        limit = self.k
        while True:  # infeasible trials are skipped: read more until k feasible or all read
            trials = list(self.storage.iter_trials(
                self.study, states=["complete"], sort="value", descending=self.study.maximize,
                tie=None if tie is None else (tie.metric, tie.descending), limit=limit))
            feasible = [t.number for t in trials if t.feasible is not False]
            if len(feasible) >= self.k or len(trials) < limit:
                return feasible[:self.k]
            limit *= 4

    def after_record(self, record: TrialRecord, artifact: Artifact | None) -> Path | None:
        """Call once ``record`` is in the database: keep its ``artifact`` if it is among the
        best ``k``, remove what fell out. Returns the kept path, or None. An error of the file
        system is logged, never raised: a trial's result matters more than its file."""
        if artifact is None and not self.folder.path.is_dir():
            return None  # nothing to write, nothing kept yet: no folder for a study without files
        try:
            with self.folder.locked():
                best = self.best_numbers()
                path = None
                if (artifact is not None and record.state == "complete"
                        and record.number in best):
                    path = self.folder.write(record.number, artifact)
                removed = self.folder.prune(set(best))
            if removed:
                log.debug("artifacts: removed trial(s) %s (out of the best %d%s)", removed,
                          self.k, "" if self.fronts is None else " fronts")
            return path
        except OSError as exc:
            log.warning("trial %d: artifact not kept: %s", record.number, exc)
            return None


def kept_file(storage: Storage, study: StudyRecord, number: int) -> Path:
    """The kept file of trial ``number``; :class:`StudyError` (exit 3) saying why not."""
    folder = ArtifactFolder(artifact_folder(storage.url, study))
    path = folder.file_of(number)
    if path is None:
        raise StudyError(f"study {study.name!r}: trial {number} has no kept checkpoint in "
                         f"{folder.path} ([trainer] keep_best keeps the best trials' weights "
                         f"from the next run on)")
    return path


def copy_kept(source: Path, dest: str | Path) -> Path:
    """Copy a kept file to ``dest`` atomically (a reader of ``dest`` never sees half)."""
    dest = Path(dest)
    folder = dest.parent if str(dest.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    return write_atomic(folder, dest.name, lambda tmp: _copy_content(source, tmp))
