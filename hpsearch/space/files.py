"""Space files in and out: read and validate a TOML file, write a space back as TOML.

Reading uses the standard library's :mod:`tomllib`; writing uses ``tomli-w`` (tomllib only
reads). Written files read back equal (NaN aside: nan != nan); nested tables come out as
``[params.name]`` sections rather than the one-line inline tables people write by hand, which
is the same TOML.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hpsearch.errors import SpaceError
from hpsearch.space.model import Space

__all__ = ["parse_space", "load_space", "dump_toml"]


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
    """Read, parse and validate a space file (a missing file is a :class:`SpaceError` too)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SpaceError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise SpaceError(f"{path}: is a directory, not a space file") from exc
    except UnicodeDecodeError as exc:
        raise SpaceError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise SpaceError(f"{path}: cannot be read ({exc.strerror})") from exc
    return parse_space(text, source=str(path))


def dump_toml(d: Mapping[str, Any]) -> str:
    """Write ``d`` (such as :meth:`Space.to_dict`) as TOML that :mod:`tomllib` reads back equal.

    Raises ``TypeError`` for a value TOML cannot hold (None, objects).
    """
    import tomli_w

    return tomli_w.dumps(d)
