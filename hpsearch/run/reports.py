"""What an objective reports, checked before it reaches the database.

A step must be an integer in ``0 .. 2**31 - 1`` (PostgreSQL's INTEGER column: a larger one
made ``finish`` raise OverflowError, left the trial running and broke every later run); a
report with any other step is dropped. A metric that is not a finite number where a number was
meant (NaN, infinity, an integer too large for a float) is stored as null. Either way the trial
goes on and a :class:`Notes` line says what was dropped: one bad report never breaks the run or
the study.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Mapping, Sequence

from hpsearch.objectives import TrialFailed, json_safe

#: The largest step the database holds (PostgreSQL INTEGER).
MAX_STEP = 2**31 - 1
#: At most this many distinct notes are kept per trial (a bad report in a loop repeats).
MAX_NOTES = 8


class Notes:
    """The notes of one trial: distinct lines, the first :data:`MAX_NOTES` kept, the rest
    counted."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.dropped = 0

    def add(self, line: str) -> None:
        if line in self.lines:
            return
        if len(self.lines) < MAX_NOTES:
            self.lines.append(line)
        else:
            self.dropped += 1

    def text(self) -> str | None:
        """The notes as one string (None: nothing to say)."""
        if not self.lines:
            return None
        more = f"; and {self.dropped} more" if self.dropped else ""
        return "; ".join(self.lines) + more


def check_step(step: Any) -> int | None:
    """``step`` as a database integer, or None when it cannot be one."""
    if isinstance(step, bool):
        return None
    if isinstance(step, float):
        if not math.isfinite(step) or step != int(step):
            return None
        step = int(step)
    try:
        step = operator.index(step)  # int, numpy integers; not str or float
    except TypeError:
        return None
    return step if 0 <= step <= MAX_STEP else None


def check_metrics(metrics: Mapping[str, Any], notes: Notes, *, where: str) -> dict[str, Any]:
    """``metrics`` as stored: JSON-safe, a non-finite or oversized number as null (noted).

    Nothing in them makes this raise: a value that cannot even be written out (nested past the
    recursion limit, an int of more digits than Python converts) is stored as null, a key that
    cannot be is named by its repr, cut short."""
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        name, original = text_of(key), value
        if isinstance(value, int) and not isinstance(value, bool):
            value = big_int(value)
        try:
            safe = json_safe(value)
        except Exception:  # noqa: BLE001 - RecursionError, ValueError (int digits), a broken __str__
            safe = None
        if safe is None and value is not None:
            notes.add(f"{where}: metric {name!r} was {short(original)}: stored as null")
        out[name] = safe
    return out


def big_int(value: int) -> int | float:
    """An int beyond a double's exact range as a float (infinity past its range): exact ints
    that large mean nothing as metrics, and the largest cannot even be converted."""
    if abs(value) <= 2**53:
        return value
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def too_large(name: str, value: int) -> None:
    """TrialFailed when ``value`` (an objective's int) is past a float's range."""
    if math.isfinite(big_int(value)):
        return

    digits = int(value.bit_length() * math.log10(2))
    raise TrialFailed(f"metric {name!r} is a number too large for a float (about "
                      f"{'-' if value < 0 else ''}10^{digits}; a float holds at most about "
                      f"1.8e308)")


def text_of(value: Any) -> str:
    """``str(value)``, or its repr cut short when even that fails (an int of 5,000 digits)."""
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - ValueError, RecursionError, a user's broken __str__
        return short(value)


def note_result(result: Any, notes: Notes) -> None:
    """Note the metrics of an objective's result that are stored as null (non-finite)."""
    if isinstance(result, Mapping):
        check_metrics(result, notes, where="result")


def clean_result(result: Any, notes: Notes, metrics: Sequence[str] = ()) -> Any:
    """An objective's result as :func:`~hpsearch.objectives.extract_value` reads it without
    raising (its metrics stored as null are noted, as :func:`note_result` does): an int too
    large for a float becomes infinity, a key or a value that cannot even be written out
    becomes its stand-in (:func:`text_of`) or None. Anything else is handed on unchanged.

    Such an int as the value of an objective (``metrics``, the first one for a bare number)
    fails the trial saying so (:func:`too_large`), not as "is inf"."""
    if isinstance(result, int) and not isinstance(result, bool):
        too_large(metrics[0] if metrics else "value", result)
        return big_int(result)
    if not isinstance(result, Mapping):
        return result
    for name in metrics:
        value = result.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            too_large(name, value)
    check_metrics(result, notes, where="result")
    out: dict[str, Any] = {}
    for key, value in result.items():
        if isinstance(value, int) and not isinstance(value, bool):
            value = big_int(value)
        else:
            try:
                json_safe(value)
            except Exception:  # noqa: BLE001 - as in check_metrics
                value = None
        out[text_of(key)] = value
    return out


def clean_text(text: str | None) -> str | None:
    """``text`` as every database takes it: a lone surrogate (``"\\udcff"``: a file name decoded
    with ``surrogateescape``, in a user's exception message) written as its escape."""
    if text is None:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def check_report(step: Any, metrics: Any, notes: Notes) -> tuple[int, dict[str, Any]] | None:
    """A report as stored, or None when it is dropped (noted)."""
    checked = check_step(step)
    if checked is None:
        notes.add(f"report with step {short(step)} ignored: a step is an integer in 0..{MAX_STEP}")
        return None
    if not isinstance(metrics, Mapping):
        notes.add(f"report at step {checked} ignored: metrics must be a dict, "
                  f"got {type(metrics).__name__}")
        return None
    return checked, check_metrics(metrics, notes, where=f"step {checked}")


def short(value: Any, limit: int = 40) -> str:
    """``repr(value)``, cut to ``limit`` characters (a note stays one short line)."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a user's object with a broken __repr__
        text = f"<{type(value).__name__}>"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


__all__ = ["Notes", "check_step", "check_metrics", "check_report", "note_result", "clean_result",
           "clean_text", "big_int", "text_of", "MAX_STEP", "MAX_NOTES"]
