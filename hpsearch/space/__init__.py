"""Search spaces: the TOML file, its validation, conditions and the unit-cube mapping.

A space file has the tables ``[study]`` (name, metric, direction, sampler, trials, seed,
grid_points, pruner, n_startup_trials, tie_breaker, max_consecutive_failures, on_change,
warm_start, warm_start_top), ``[objective]``
(kind = builtin | command | python and their settings), ``[trainer]`` (fixed trainer settings,
checked by the trainer), ``[params]``, and optionally ``[pruner]`` (checked by
:func:`hpsearch.pruners.parse_pruner_table`) and ``[[forbid]]`` (forbidden combinations)::

    space = load_space("space.toml")
    config = space.from_unit([0.2, 0.7, ...])   # len == space.dim; inactive params are absent

The package, bottom up (each module imports only those above it in this list)::

    values      is_number, same_value, fmt, one_line, tidy, clamp_unit: value helpers
    study       StudyConfig (the [study] table), SAMPLER_NAMES, DEFAULT_GRID_POINTS, limits
    params      Param (the unit-cube contract), Choice, Fixed
    numeric     Uniform, LogUniform, LogOneMinus, IntParam; one Transform for both log scales
    conditions  ``when``: normal form, checks, dependency order, pruning
    forbid      [[forbid]]: when-tables and safe expressions, parsed, never eval'ed
    tables      each table of a parsed file turned into checked objects; PARAM_TYPES
                (the [pruner] table is checked by hpsearch.pruners, imported when parsed)
    model       Space
    diff        diff_spaces: what changed between two spaces, one line per parameter
    carry       carry_over: earlier trials (other spaces) mapped into a new space, or left out
    files       parse_space, load_space, dump_toml

Every problem is a :class:`~hpsearch.errors.SpaceError` reading ``file: params.name: what``.
Only the standard library is imported at module level, so ``hpsearch validate`` starts fast.
Samplers (:mod:`hpsearch.samplers`) import this package; it never imports them.
"""

from __future__ import annotations

from hpsearch.space.files import dump_toml, load_space, parse_space
from hpsearch.space.model import Space
from hpsearch.space.numeric import (
    LOG, LOG_ONE_MINUS, IntParam, LogOneMinus, LogScaled, LogUniform, NumericParam, Transform,
    Uniform,
)
from hpsearch.space.params import Choice, Fixed, Param
from hpsearch.space.study import (
    DEFAULT_GRID_POINTS, DEFAULT_MAX_CONSECUTIVE_FAILURES, DEFAULT_STARTUP_TRIALS, DIRECTIONS,
    MAX_DB_INT, MAX_GRID_POINTS, SAMPLER_NAMES, StudyConfig,
)
from hpsearch.space.forbid import Forbid, ForbidRule, forbidden_share, parse_forbid
from hpsearch.space.tables import OBJECTIVE_KINDS, PARAM_TYPES
from hpsearch.space.values import clamp_unit, fmt, is_number, same_value, tidy

__all__ = [
    "Space", "StudyConfig", "load_space", "parse_space", "dump_toml", "PARAM_TYPES",
    "OBJECTIVE_KINDS", "SAMPLER_NAMES", "DIRECTIONS", "DEFAULT_GRID_POINTS", "MAX_GRID_POINTS",
    "DEFAULT_STARTUP_TRIALS", "DEFAULT_MAX_CONSECUTIVE_FAILURES", "MAX_DB_INT",
    "Forbid", "ForbidRule", "parse_forbid", "forbidden_share",
    "Param", "NumericParam", "LogScaled", "Uniform", "LogUniform", "LogOneMinus", "IntParam",
    "Choice", "Fixed", "Transform", "LOG", "LOG_ONE_MINUS",
    "is_number", "same_value", "fmt", "tidy", "clamp_unit",
]
