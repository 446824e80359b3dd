"""Reading a study back: which trials, as rows, as files (csv/json/markdown, a space file), as
plots, its rounds side by side, one HTML page, parameter importance.

Public names are re-exported here; the modules behind them:

    select.py    select_trials, iter_selection, resolve_sort, get_best, TrialSelection,
                 study_param_names, study_tie_breaker (order and ties: hpsearch.ranking),
                 plot_selection (what --plot draws, sampled in big studies)
    rows.py      study_rows, get_trial, best_space, trial_json, flat_rows, iter_flat_rows,
                 fmt_value (the one value formatter for people)
    columns.py   fit_columns (which columns of the terminal table fit its width)
    exports.py   export_trials, write_trials (streamed), export_study, export_rows,
                 write_space_file, format_for, FORMATS
    lean.py      write_rows (csv/json/markdown from plain SQL rows: big studies)
    plots.py     write_plots (matplotlib, imported when called)
    rounds.py    rounds_overview, RoundsOverview, round_space_file
    html.py      write_html, build_html, load_study_data (plotly, imported when called)
    importance.py param_importance (optuna's PED-ANOVA, imported when called)
    insight.py   study_importance, importance_of (importance of a stored study, subsampled,
                 with how many trials it rests on)
    weights.py   write_best_weights (best --weights: the kept checkpoint of the best trial)
    trackers.py  export_trackers over tensorboard.py (export_tensorboard) and mlflow.py
                 (export_mlflow, MlflowRunCallback); their packages imported when called
    front.py     study_front, Front (the feasible Pareto front, fronts ranked), trial_vector
    pareto_figures.py  pareto_scatter, hypervolume_figure (plotly figure dicts)

Nothing here prints; rich tables are drawn by :mod:`hpsearch.render`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpsearch.lazy import lazy_attributes

if TYPE_CHECKING:
    from hpsearch.report.columns import fit_columns
    from hpsearch.report.front import Front, rank_trials, study_front, trial_vector
    from hpsearch.report.exports import (
        FORMATS, atomic_text, export_rows, export_study, export_trials, format_for, write_space_file,
        write_trials,
    )
    from hpsearch.report.plots import write_plots
    from hpsearch.report.rows import (
        best_space, flat_rows, fmt_value, get_trial, iso, iter_flat_rows, param_names, study_rows,
        trial_json,
    )
    from hpsearch.report.select import (
        TrialSelection, check_columns, get_best, iter_selection, plot_selection, resolve_sort,
        select_trials, study_param_names, study_tie_breaker,
    )

__all__ = [
    "FORMATS", "atomic_text", "export_rows", "export_study", "export_trials", "format_for",
    "write_space_file", "write_trials", "write_plots", "fit_columns", "check_columns",
    "TrialSelection", "best_space", "flat_rows", "fmt_value", "get_best", "get_trial", "iso",
    "iter_flat_rows", "iter_selection", "plot_selection", "param_names", "resolve_sort",
    "select_trials",
    "study_param_names", "study_rows", "study_tie_breaker", "trial_json",
    "RoundsOverview", "rounds_overview", "round_space_file",
    "write_html", "load_study_data", "param_importance", "study_importance", "importance_of",
    "write_best_weights", "export_tensorboard", "export_mlflow", "export_trackers",
    "Front", "study_front", "trial_vector", "rank_trials",
]

# Every name is loaded on first use: rounds.py reads spaces (hpsearch.space, hpsearch.refine),
# html.py the storage records, importance.py optuna, front.py and exports.py the space; a
# command that needs one formatter (rows.fmt_value: `run`'s lines) loads rows.py alone, and
# `hpsearch --help` and `report --format` choices stay cheap. Each tracker's package is
# imported only inside its functions.
_LAZY = {
    **dict.fromkeys(["fit_columns"], "hpsearch.report.columns"),
    **dict.fromkeys([
        "Front", "rank_trials", "study_front", "trial_vector"
    ], "hpsearch.report.front"),
    **dict.fromkeys([
        "FORMATS", "atomic_text", "export_rows", "export_study", "export_trials",
        "format_for", "write_space_file", "write_trials"
    ], "hpsearch.report.exports"),
    **dict.fromkeys(["write_plots"], "hpsearch.report.plots"),
    **dict.fromkeys([
        "best_space", "flat_rows", "fmt_value", "get_trial", "iso", "iter_flat_rows",
        "param_names", "study_rows", "trial_json"
    ], "hpsearch.report.rows"),
    **dict.fromkeys([
        "TrialSelection", "check_columns", "get_best", "iter_selection",
        "plot_selection", "resolve_sort", "select_trials", "study_param_names",
        "study_tie_breaker"
    ], "hpsearch.report.select"),
    **dict.fromkeys([
        "RoundsOverview", "rounds_overview", "round_space_file"
    ], "hpsearch.report.rounds"),
    **dict.fromkeys(["write_html", "load_study_data"], "hpsearch.report.html"),
    **dict.fromkeys(["param_importance"], "hpsearch.report.importance"),
    **dict.fromkeys(["study_importance", "importance_of"], "hpsearch.report.insight"),
    **dict.fromkeys(["write_best_weights"], "hpsearch.report.weights"),
    **dict.fromkeys(["export_tensorboard"], "hpsearch.report.tensorboard"),
    **dict.fromkeys(["export_mlflow"], "hpsearch.report.mlflow"),
    **dict.fromkeys(["export_trackers"], "hpsearch.report.trackers"),
}
__getattr__ = lazy_attributes(__name__, _LAZY, globals())
