"""What share of the trials a pruner lets run to the end, said before a study starts.

ASHA at reduction factor ``rf`` promotes about one trial in ``rf`` at each rung, so a trial that
passes ``r`` rungs finishes about one time in ``rf ** r``: at 20 trials with rungs at steps 1
and 3, about 2 complete and refine has little to narrow around. Hyperband mixes brackets whose
first rung lies later (the last bracket prunes nobody). The median pruner's share depends on
the curves, so nothing is promised for it.
"""

from __future__ import annotations

from hpsearch.pruners.asha import DEFAULT_REDUCTION_FACTOR, rung_steps
from hpsearch.pruners.hyperband import DEFAULT_REDUCTION_FACTOR as HB_FACTOR
from hpsearch.pruners.hyperband import bracket_shares
from hpsearch.pruners.settings import PrunerSettings, hyperband_brackets

__all__ = ["finishing_share", "pruner_outlook"]

#: How many rungs the outlook lists when the number of steps a trial reports is not known.
SHOWN_RUNGS = 4


def finishing_share(kind: str, settings: PrunerSettings, steps: int) -> float | None:
    """The expected share of trials that report ``steps`` steps and run to the end under
    pruner ``kind`` (None where it depends on the curves: median; 1.0 for none)."""
    if kind == "none":
        return 1.0
    if kind == "asha":
        rf = settings.reduction_factor or DEFAULT_REDUCTION_FACTOR
        return rf ** -len(_rungs(settings, rf, settings.min_early_stopping_rate, steps))
    if kind == "hyperband" and settings.max_resource is not None:
        rf = settings.reduction_factor or HB_FACTOR
        n = settings.brackets or hyperband_brackets(settings.min_resource, settings.max_resource, rf)
        shares = bracket_shares(n, rf)
        return sum(share * rf ** -len(_rungs(settings, rf, b, steps))
                   for b, share in enumerate(shares)) / sum(shares)
    return None


def _rungs(settings: PrunerSettings, rf: int, rate: int, steps: int) -> list[int]:
    return rung_steps(settings.min_resource, rf, rate, steps, max_resource=settings.max_resource)


def pruner_outlook(kind: str, settings: PrunerSettings, trials: int) -> str | None:
    """One line: what share of ``trials`` the pruner lets finish (None for none and median).
    With ``max_resource`` known, one figure; else one per number of steps a trial reports."""
    if kind not in ("asha", "hyperband"):
        return None
    if settings.max_resource is not None:
        share = finishing_share(kind, settings, settings.max_resource)
        if share is None:
            return None
        return (f"pruner {kind}: about {_pct(share)} of trials run to the end (to step "
                f"{settings.max_resource}); at {trials} trials about {round(trials * share)} "
                f"complete, the rest are pruned")
    if kind != "asha":
        return None
    rf = settings.reduction_factor or DEFAULT_REDUCTION_FACTOR
    first = settings.min_resource * rf ** settings.min_early_stopping_rate
    rungs = [first * rf ** k for k in range(SHOWN_RUNGS)]
    odds, counts = [], []
    for k, step in enumerate(rungs):
        upto = f"{step}-{rungs[k + 1] - 1}" if k + 1 < len(rungs) else f"{step}+"
        odds.append(f"{upto} steps {'runs to the end ' if not k else ''}1 "
                    f"{'time ' if not k else ''}in {rf ** (k + 1)}")
        counts.append(str(round(trials * rf ** -(k + 1))))
    return (f"pruner asha (reduction factor {rf}, rungs at steps {', '.join(map(str, rungs))}): a "
            f"trial reporting {', '.join(odds)}; of {trials} trial{'s' if trials != 1 else ''} about "
            f"{', '.join(counts[:-1])} or {counts[-1]} complete, the rest are pruned")


def _pct(share: float) -> str:
    return f"{100 * share:.0f} %" if share >= 0.1 else f"{100 * share:.1f} %"
