"""Search spaces: the TOML file, its validation, conditions and the unit-cube mapping.

A space file has four tables: ``[study]`` (name, metric, direction, sampler, trials, seed,
grid_points), ``[objective]`` (kind = builtin | command | python and their settings),
``[trainer]`` (fixed trainer settings, checked by the trainer) and ``[params]``::

    space = load_space("space.toml")
    config = space.from_unit([0.2, 0.7, ...])   # len == space.dim; inactive params are absent

The package, bottom up (each module imports only those above it in this list)::

    values      is_number, same_value, fmt, tidy, clamp_unit: value helpers for messages/checks
    params      Param (the unit-cube contract), Choice, Fixed
    numeric     Uniform, LogUniform, LogOneMinus, IntParam; one Transform for both log scales
    conditions  ``when``: normal form, checks, dependency order, pruning
    study       StudyConfig (the [study] table), SAMPLER_NAMES, DEFAULT_GRID_POINTS
    tables      each table of a parsed file turned into checked objects; PARAM_TYPES
    model       Space
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
from hpsearch.space.study import DEFAULT_GRID_POINTS, DIRECTIONS, SAMPLER_NAMES, StudyConfig
from hpsearch.space.tables import OBJECTIVE_KINDS, PARAM_TYPES
from hpsearch.space.values import clamp_unit, fmt, is_number, same_value, tidy

__all__ = [
    "Space", "StudyConfig", "load_space", "parse_space", "dump_toml", "PARAM_TYPES",
    "OBJECTIVE_KINDS", "SAMPLER_NAMES", "DIRECTIONS", "DEFAULT_GRID_POINTS",
    "Param", "NumericParam", "LogScaled", "Uniform", "LogUniform", "LogOneMinus", "IntParam",
    "Choice", "Fixed", "Transform", "LOG", "LOG_ONE_MINUS",
    "is_number", "same_value", "fmt", "tidy", "clamp_unit",
]
