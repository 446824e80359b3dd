"""Everything the CLI shows: rich tables, the run progress, summary lines.

Each function takes a library result (a :class:`~hpsearch.run.RunSummary`, a
:class:`~hpsearch.report.TrialSelection`, ...) and writes it to stdout; messages about files
written go to stderr. Values are formatted by one function, :func:`hpsearch.values.fmt`
(:func:`fmt_value` is its table style). rich is imported inside the functions, so ``hpsearch --help`` does not pay for it.

The modules: :mod:`~hpsearch.render.text` (the console, timestamps, value formatters),
:mod:`~hpsearch.render.summary` (a run's lines), :mod:`~hpsearch.render.progress`
(:class:`RunProgress`), :mod:`~hpsearch.render.tables` (the read commands' tables) and
:mod:`~hpsearch.render.cluster` (create, launch); this package re-exports their public names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpsearch.lazy import lazy_attributes

if TYPE_CHECKING:
    from hpsearch.render.cluster import echo_created, echo_submitted, print_workers
    from hpsearch.render.progress import RunProgress
    from hpsearch.render.summary import (
        NOTHING_TO_RUN, best_text, echo_change_preview, echo_refined_round, echo_round_start,
        echo_run_summary, step_text, trial_line,
    )
    from hpsearch.render.tables import (
        echo_best, echo_configs, echo_test_metrics, param_names_of, print_importance, print_rounds,
        print_front, print_rows, print_trial, print_trials, print_validation,
    )
    from hpsearch.render.text import (
        LOG_FORMAT, TIME_FORMAT, console, cron_mode, echo, echo_text, esc, fmt_seconds, fmt_value,
        plural, range_text, report_width, stamped, visible,
    )

__all__ = [
    "console", "fmt_value", "fmt_seconds", "range_text", "RunProgress", "echo_text", "echo",
    "visible",
    "esc", "plural", "cron_mode", "stamped", "TIME_FORMAT", "LOG_FORMAT",
    "print_validation", "echo_configs", "echo_run_summary", "echo_refined_round", "echo_round_start",
    "echo_change_preview", "step_text", "trial_line", "echo_test_metrics", "best_text",
    "print_trials", "print_rows", "print_trial", "echo_best", "print_rounds", "report_width",
    "print_importance", "echo_created", "echo_submitted", "print_workers",
    "NOTHING_TO_RUN", "param_names_of", "print_front",
]

# Loaded on first use: `run` draws its progress and summary, not the read commands' tables.
_LAZY = {
    **dict.fromkeys([
        "echo_created", "echo_submitted", "print_workers"
    ], "hpsearch.render.cluster"),
    **dict.fromkeys(["RunProgress"], "hpsearch.render.progress"),
    **dict.fromkeys([
        "NOTHING_TO_RUN", "best_text", "echo_change_preview", "echo_refined_round",
        "echo_round_start", "echo_run_summary", "step_text", "trial_line"
    ], "hpsearch.render.summary"),
    **dict.fromkeys([
        "echo_best", "echo_configs", "echo_test_metrics", "param_names_of",
        "print_importance", "print_rounds", "print_front", "print_rows", "print_trial",
        "print_trials", "print_validation"
    ], "hpsearch.render.tables"),
    **dict.fromkeys([
        "LOG_FORMAT", "TIME_FORMAT", "console", "cron_mode", "echo", "echo_text", "esc",
        "fmt_seconds", "fmt_value", "plural", "range_text", "report_width", "stamped",
        "visible"
    ], "hpsearch.render.text"),
}
__getattr__ = lazy_attributes(__name__, _LAZY, globals())
