"""A SQLite database file looked at before it is opened, so that the messages say what is
wrong ("x.db is a directory", "folder data/ does not exist", "x.db is read-only") instead of
SQLite's "unable to open database file", and so that a failed creation (a full disk) leaves no
empty file behind."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from hpsearch.errors import StorageError, StudyError
from hpsearch.storage.engine import redact_url

__all__ = ["SqliteFile"]

_SIDE_FILES = ("-wal", "-shm", "-journal")


class SqliteFile:
    """The file of a ``sqlite:///`` URL."""

    def __init__(self, url: str, path: Path) -> None:
        self.url = redact_url(url)
        self.path = path
        self.existed = path.exists()
        #: Read without locks (see :meth:`check`).
        self.immutable = False
        self._side_existed = {s: self._side(s).exists() for s in _SIDE_FILES}

    def _side(self, suffix: str) -> Path:
        return self.path.with_name(self.path.name + suffix)

    def check(self, *, create: bool, read_only: bool) -> str | None:
        """Raise for a path that cannot be a database; returns why the file must be opened
        read-only (None: it can be written). ``create``: a missing file may be created."""
        path, parent = self.path, self.path.parent
        if path.is_dir():
            raise StorageError(f"{self.url}: {path} is a directory, not a database file")
        if not self.existed:
            if not parent.is_dir():
                if not create or read_only:
                    raise StudyError(f"no database at {path} (run `hpsearch run SPACE` first, "
                                     f"or pass --db)")
                what = "is not a folder" if parent.exists() else "does not exist"
                raise StorageError(f"{self.url}: cannot create {path.name}: the folder {parent} "
                                   f"{what} (create it first)")
            if not create or read_only:
                raise StudyError(f"no database at {path} (run `hpsearch run SPACE` first, or pass --db)")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise StorageError(f"{self.url}: cannot create {path.name}: the folder {parent} "
                                   f"is not writable")
            return None
        if not os.access(path, os.R_OK):
            raise StorageError(f"{self.url}: {path} cannot be read (permission denied)")
        folder_ok = os.access(parent, os.W_OK | os.X_OK)
        if not folder_ok and not self._side("-shm").exists():
            # Readers of a WAL database need its -shm file; where it cannot be created (a
            # read-only file system, a folder of someone else's) nobody can be writing either,
            # so the file is read as immutable.
            self.immutable = True
        if read_only:
            return None
        if not os.access(path, os.W_OK):
            return f"{path} is not writable"
        if not folder_ok:
            return f"its folder {parent} is not writable (SQLite writes -wal and -shm files there)"
        return None

    def explain(self, line: str) -> str:
        """SQLite's message, with what it means for this file where that is known."""
        if "file is not a database" in line:
            return f"{self.path} is not a SQLite database ({line})"
        if "disk is full" in line or "disk I/O error" in line:
            try:
                free = shutil.disk_usage(self.path.parent).free
            except OSError:
                free = None
            if free is not None and free < 1 << 20:
                return f"no space left on the disk of {self.path.parent} ({line})"
        if "unable to open database file" in line:
            return f"{line} ({self.path}: check that its folder exists and can be written)"
        return line

    def remove_if_new_and_empty(self) -> None:
        """Remove the file (and its -wal, -shm, -journal) if this opening created it and it is
        still empty: a creation that failed must not leave a 0-byte database behind."""
        if self.existed:
            return
        try:
            if self.path.stat().st_size != 0:
                return
            wal = self._side("-wal")
            if not self._side_existed["-wal"] and wal.exists() and wal.stat().st_size != 0:
                return  # another process is creating it right now
            self.path.unlink()
            for suffix in _SIDE_FILES:
                side = self._side(suffix)
                if not self._side_existed[suffix] and side.exists():
                    side.unlink()
        except OSError:
            pass
