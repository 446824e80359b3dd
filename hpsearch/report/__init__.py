"""Reading a study back: which trials, as rows, as files (csv/json/markdown, a space file), as
plots, and its rounds side by side.

Public names are re-exported here; the modules behind them:

    rows.py      select_trials, study_rows, get_trial, get_best, best_space, sort_trials,
                 trial_json, flat_rows, fmt_value (the one value formatter for people)
    exports.py   export_trials, export_rows, write_space_file, FORMATS
    plots.py     write_plots (matplotlib, imported when called)
    rounds.py    rounds_overview, RoundsOverview, round_space_file

Nothing here prints; rich tables are drawn by :mod:`hpsearch.render`.
"""

from __future__ import annotations

from typing import Any

from hpsearch.report.exports import FORMATS, export_rows, export_trials, write_space_file
from hpsearch.report.plots import write_plots
from hpsearch.report.rows import (
    TrialSelection, best_space, flat_rows, fmt_value, get_best, get_trial, iso, param_names,
    select_trials, sort_trials, study_rows, trial_json,
)

__all__ = [
    "FORMATS", "export_rows", "export_trials", "write_space_file", "write_plots",
    "TrialSelection", "best_space", "flat_rows", "fmt_value", "get_best", "get_trial", "iso",
    "param_names", "select_trials", "sort_trials", "study_rows", "trial_json",
    "RoundsOverview", "rounds_overview", "round_space_file",
]

# rounds.py reads spaces (hpsearch.space, hpsearch.refine): loaded on first use, so that
# `hpsearch --help` and `report --format` choices stay cheap.
_LAZY = {"RoundsOverview": "hpsearch.report.rounds", "rounds_overview": "hpsearch.report.rounds",
         "round_space_file": "hpsearch.report.rounds"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
