"""The one lazy-import helper: a package's names loaded from their modules on first use."""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, lazy: Mapping[str, str],
                    namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: a name of ``lazy`` (name -> module) is
    imported from its module when first read, then kept in ``namespace`` (the package's
    ``globals()``) as a plain attribute::

        __getattr__ = lazy_attributes(__name__, _LAZY, globals())
    """
    def __getattr__(name: str) -> Any:
        if name in lazy:
            value = getattr(importlib.import_module(lazy[name]), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
