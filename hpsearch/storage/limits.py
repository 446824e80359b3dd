"""What every supported database can store, and the clean-up of values before they are stored.

No SQLAlchemy here: :mod:`hpsearch.validate` reads :data:`DB_LIMITS` to refuse a space file
(exit 2) whose values one of the databases would refuse later, and it must start fast.

The rules, the same on SQLite and PostgreSQL:

- Integers (``seed``, ``trials``, trial and step numbers, ``pruned_step``) are PostgreSQL
  ``INTEGER``: :data:`DB_LIMITS` ``.int_min`` to ``.int_max``. SQLite would take 64 bits, but a
  study must move between the two.
- JSON values (params, metrics, steps, the space) are standard JSON. PostgreSQL's ``json``
  refuses ``NaN`` and ``Infinity``, so **every non-finite float is stored as null**, on both
  databases alike (the objectives already hand non-finite metrics over as None). A fixed
  parameter ``nan`` is therefore read back as None.
- Text columns drop NUL characters (PostgreSQL refuses them in ``text``).
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

__all__ = ["DbLimits", "DB_LIMITS", "json_dumps", "clean_text", "clean_steps", "valid_int", "join_notes",
           "check_ints", "name_problem"]


@dataclass(frozen=True)
class DbLimits:
    """The limits of the columns, as the strictest supported database enforces them."""

    #: Integer columns (PostgreSQL INTEGER).
    int_min: int = -(2**31)
    int_max: int = 2**31 - 1
    #: String columns (PostgreSQL VARCHAR(n); SQLite does not check lengths).
    study_name: int = 200
    metric_name: int = 100
    sampler_name: int = 20
    device: int = 50
    worker: int = 200
    #: What a non-finite float in a JSON value becomes.
    non_finite_json: None = None


DB_LIMITS = DbLimits()


def valid_int(value: Any) -> bool:
    """Whether ``value`` is an integer (not a bool; an integral float counts) in range."""
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        if not value.is_integer():
            return False
        value = int(value)
    if not isinstance(value, numbers.Integral):
        return False
    return DB_LIMITS.int_min <= int(value) <= DB_LIMITS.int_max


def _finite(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by None (dicts, lists and tuples walked)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _default(obj: Any) -> Any:
    # numpy scalars and arrays (a python objective's metrics): their Python values.
    if hasattr(obj, "tolist"):
        return _finite(obj.tolist())
    if isinstance(obj, numbers.Real):
        return _finite(float(obj))
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


_ENCODER = json.JSONEncoder(allow_nan=False, default=_default)


def json_dumps(obj: Any) -> str:
    """The engines' JSON serializer: standard JSON, non-finite floats as null."""
    try:
        # Most values hold no NaN or infinity: encoded as they are (the same text as below).
        return _ENCODER.encode(obj)
    except ValueError:
        return _ENCODER.encode(_finite(obj))


def clean_text(text: str | None, limit: int | None = None) -> str | None:
    """``text`` without NUL characters, cut to ``limit`` characters."""
    if text is None:
        return None
    text = str(text).replace("\x00", "")
    return text if limit is None else text[:limit]


def join_notes(*notes: str | None) -> str | None:
    parts = [n for n in notes if n]
    return "; ".join(parts) if parts else None


def clean_steps(steps: Iterable[tuple[Any, Any]]) -> tuple[list[tuple[int, dict[str, Any]]], str | None]:
    """The steps that can be stored, and a note on those that cannot (None when all can).

    A step number must be an integer within :data:`DB_LIMITS`; a step reported twice keeps its
    last metrics (the table has one row per step). Metrics that are not a dict are kept under
    ``"value"``.
    """
    kept: dict[int, dict[str, Any]] = {}
    bad: list[Any] = []
    for step, metrics in steps:
        if not valid_int(step):
            bad.append(step)
            continue
        if not isinstance(metrics, dict):
            metrics = {"value": metrics}
        kept[int(step)] = metrics
    note = None
    if bad:
        shown = ", ".join(_short(s) for s in bad[:3]) + (", ..." if len(bad) > 3 else "")
        what = "step" if len(bad) == 1 else f"{len(bad)} steps"
        note = (f"{what} not stored ({shown}): a step must be an integer from "
                f"{DB_LIMITS.int_min} to {DB_LIMITS.int_max}")
    return sorted(kept.items()), note


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def name_problem(*, name: str = "", metric: str = "") -> str | None:
    """The one rule for a study's name and metric, as a message (None: storable): each fits its
    column (``DB_LIMITS.study_name``, ``.metric_name`` characters). ``run`` (storage) and
    ``validate`` both ask here, so they refuse the same names."""
    if len(name) > DB_LIMITS.study_name:
        return f"study name: {len(name)} characters, at most {DB_LIMITS.study_name}"
    if len(metric) > DB_LIMITS.metric_name:
        return f"metric name: {len(metric)} characters, at most {DB_LIMITS.metric_name}"
    return None


def check_ints(values: Sequence[tuple[str, Any]]) -> str | None:
    """The first ``(name, value)`` whose value is not a storable integer, as a message."""
    for name, value in values:
        if not valid_int(value):
            return (f"{name} = {_short(value)}: must be an integer from {DB_LIMITS.int_min} "
                    f"to {DB_LIMITS.int_max} (the database's integer column)")
    return None
