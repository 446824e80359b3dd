"""What several commands share: registry-backed choices, the duration callback, the database.

Choice lists come from the registries (samplers, trial states, export formats, pruners), read
when a command needs them (a parse or its --help), so ``hpsearch --help`` imports neither
SQLAlchemy nor PyTorch.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Callable, Sequence

import click

__all__ = [
    "RegistryChoice", "registry", "sampler_names", "state_names", "format_names", "pruner_names",
    "duration", "open_db",
]


class RegistryChoice(click.Choice):
    """A ``click.Choice`` whose values come from a registry, read on first use (a parse or a
    command's --help), not when this module is imported."""

    def __init__(self, load: Callable[[], Sequence[str]], *, first: Sequence[str] = ()) -> None:
        self._load, self._first = load, tuple(first)
        self._choices: tuple[str, ...] | None = None
        self.case_sensitive = True

    @property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]
        if self._choices is None:
            self._choices = (*self._first, *(c for c in self._load() if c not in self._first))
        return self._choices


def registry(module: str, name: str) -> Callable[[], Sequence[str]]:
    """The names of a registry (``SAMPLERS``, ``STATES``, ``FORMATS``), imported when asked."""
    return lambda: list(getattr(importlib.import_module(module), name))


sampler_names = registry("hpsearch.samplers", "SAMPLERS")
state_names = registry("hpsearch.storage", "STATES")
format_names = registry("hpsearch.report", "FORMATS")
pruner_names = registry("hpsearch.pruners", "PRUNERS")


def duration(_ctx, _param, value):
    """A click callback: ``90s``, ``30m``, ``2h`` (or plain seconds) as seconds."""
    if value is None:
        return None
    from hpsearch.timeparse import parse_duration

    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def open_db(ctx: click.Context, *, create: bool = False, missing: str | None = None):
    """The database named by --db; read-only commands refuse to create a missing SQLite file
    (``missing``: what to say then, instead of the library's hint about --db)."""
    from hpsearch import open_storage
    from hpsearch.errors import StudyError

    url = ctx.obj["db"]
    if not create and missing is not None and url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        if not path.exists():
            raise StudyError(f"no database at {path} ({missing})")
    return open_storage(url, create=create)
