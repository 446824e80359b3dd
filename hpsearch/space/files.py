"""Space files in and out: read and validate a TOML file, write a space back as TOML.

Reading uses the standard library's :mod:`tomllib`; writing uses ``tomli-w`` (tomllib only
reads). Written files read back equal (NaN aside: nan != nan); nested tables come out as
``[params.name]`` sections rather than the one-line inline tables people write by hand, which
is the same TOML.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hpsearch.errors import SpaceError
from hpsearch.space.model import Space

__all__ = ["parse_space", "load_space", "dump_toml", "MAX_SPACE_BYTES"]

#: The largest space file read (a 25,000-parameter space is about 1.5 MB): a bigger one is
#: refused rather than read into memory.
MAX_SPACE_BYTES = 16 * 1024 * 1024
_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def parse_space(text: str, *, source: str) -> Space:
    """Parse and validate the text of a space file; ``source`` names it in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpaceError(f"{source}: invalid TOML: {exc}") from exc
    except RecursionError as exc:
        raise SpaceError(f"{source}: invalid TOML: nested too deeply") from exc
    return Space.from_dict(data, source=source)


def load_space(path: str | Path) -> Space:
    """Read, parse and validate a space file (a missing file is a :class:`SpaceError` too).

    Only a regular file is read (``/dev/zero``, ``/dev/stdin``, a FIFO or a socket is refused
    before it is opened), at most :data:`MAX_SPACE_BYTES` of it, in chunks from Python, so
    SIGINT and SIGTERM stop the command while it reads.
    """
    path = Path(path)
    try:
        text = read_space_text(path)
    except FileNotFoundError as exc:
        raise SpaceError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise SpaceError(f"{path}: is a directory, not a space file") from exc
    except UnicodeDecodeError as exc:
        raise SpaceError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise SpaceError(f"{path}: cannot be read ({exc.strerror})") from exc
    return parse_space(text, source=str(path))


def read_space_text(path: Path) -> str:
    """The text of ``path``: a regular file of at most :data:`MAX_SPACE_BYTES`, as UTF-8."""
    info = os.stat(path)
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(21, "Is a directory", str(path))
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
        raise SpaceError(f"{path}: is {kind}, not a space file (give a regular file)")
    if info.st_size > MAX_SPACE_BYTES:
        raise SpaceError(_too_large(path))
    chunks: list[bytes] = []
    size = 0
    # O_NONBLOCK: if the file was swapped for a FIFO since the stat, opening does not wait.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with open(fd, "rb", closefd=True) as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise SpaceError(f"{path}: not a regular file, not a space file (give a regular file)")
        while chunk := fh.read(1 << 20):
            size += len(chunk)
            if size > MAX_SPACE_BYTES:
                raise SpaceError(_too_large(path))
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8")


def _too_large(path: Path) -> str:
    return (f"{path}: larger than {MAX_SPACE_BYTES // (1024 * 1024)} MB, too large for a space "
            "file")


def dump_toml(d: Mapping[str, Any]) -> str:
    """Write ``d`` (such as :meth:`Space.to_dict`) as TOML that :mod:`tomllib` reads back equal.

    Raises ``TypeError`` for a value TOML cannot hold (None, objects).
    """
    import tomli_w

    return tomli_w.dumps(d)
