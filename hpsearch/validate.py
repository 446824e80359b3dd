"""``hpsearch validate``: parse a space file, check its objective, draw sample configurations.

Nothing is written and the user's code is not run: the objective's settings are checked by
:func:`hpsearch.objectives.check_objective` (trainer settings, parameter names, a command's argv).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hpsearch.space import Space

__all__ = ["Validation", "validate_space"]


@dataclass
class Validation:
    """A checked space, the configurations its sampler draws first, the size of its grid (None
    unless the study's sampler is ``grid``), the sampler's name and the estimated share of the
    space that ``[[forbid]]`` excludes (None without rules)."""

    space: Space
    configs: list[dict[str, Any]] = field(default_factory=list)
    grid_size: int | None = None
    sampler: str = ""
    forbidden_share: float | None = None
    #: What share of the trials the study's pruner lets finish (None: no pruner, or median).
    pruner_outlook: str | None = None


def validate_space(path: str | Path, *, samples: int = 5, seed: int | None = None) -> Validation:
    """Load and check the space file ``path`` and draw ``samples`` configurations with its
    sampler (seeded with ``seed``, default the study's; a finite grid may give fewer). A model
    sampler (tpe, gp, cmaes, auto) draws its start-up configurations, as with no trials yet.

    Raises
    ------
    SpaceError, ConfigError
        The file or the objective's settings are wrong (the message names the file and field),
        or ``[[forbid]]`` forbids the whole space.
    """
    from hpsearch.errors import SpaceError
    from hpsearch.objectives import check_objective
    from hpsearch.pruners.outlook import pruner_outlook
    from hpsearch.samplers import make_sampler
    from hpsearch.space import forbidden_share, load_space

    from hpsearch.storage.limits import name_problem
    from hpsearch.run.pruning import check_pruner

    space = load_space(Path(path))
    problem = name_problem(name=space.study.name, metric=space.study.metric)
    if problem is not None:  # the rule `run` applies when it creates the study
        raise SpaceError(f"{space.source}: {problem}")
    check_objective(space)
    check_pruner(space)
    share = None
    if space.forbid:
        share = forbidden_share(space)
        if share >= 1.0:
            raise SpaceError(f"{space.source}: forbid: the [[forbid]] tables forbid every "
                             f"configuration (none allowed in 10000 random draws)")
    name = space.study.sampler
    sampler = make_sampler(name, space, seed=space.study.seed if seed is None else seed)
    configs = []
    for i in range(samples):
        if sampler.size is not None and i >= sampler.size:  # a finite grid ran out
            break
        configs.append(sampler.proposal(i).params)  # no history: a model's start-up points
    grid_size = sampler.size if name == "grid" else None
    outlook = pruner_outlook(space.study.pruner, space.pruner_settings, space.study.trials)
    return Validation(space, configs, grid_size, sampler=name, forbidden_share=share,
                      pruner_outlook=outlook)
