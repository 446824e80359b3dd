"""``pruner = "median"``: stop a trial whose curve is worse than the median of finished curves.

Optuna's ``MedianPruner``, rule for rule. At the trial's latest step ``s``:

1. fewer than ``n_startup_trials`` *complete* trials in the round (or none): keep going;
2. ``s < n_warmup_steps``: keep going (steps below the warm-up are never judged);
3. only the first reported step of each ``interval_steps``-long interval after the warm-up is
   judged (``s`` is judged when the trial's previous step lies below the interval's start
   ``n_warmup_steps + k * interval_steps``), so a trial reporting every 5 steps with an interval
   of 2 is still judged;
4. the trial's value -- its best so far up to ``s`` (``value = "best"``, the default) or its
   value at ``s`` (``"last"``) -- is compared with the median of the values at step ``s`` of the
   complete trials that reported step ``s`` (at least ``n_min_trials`` of them, else keep
   going); worse than the median (strictly) means pruned. A trial whose values so far are all NaN
   is pruned.

Only complete trials are peers, as in Optuna: a pruned trial's curve stopped because it was
bad, and counting it would drag the median down and prune less and less.
"""

from __future__ import annotations

import math
import statistics

from hpsearch.pruners.base import (
    Decision, Pruner, RoundSteps, TrialSteps, best_so_far, fmt_value,
)

__all__ = ["MedianPruner"]


class MedianPruner(Pruner):
    name = "median"
    keys = ("n_startup_trials", "n_warmup_steps", "interval_steps", "n_min_trials")
    default_value = "best"
    peer_states = ("complete",)

    def due(self, trial: TrialSteps) -> bool:
        if not trial.values:
            return False
        step = max(trial.values)
        warmup, interval = self.settings.n_warmup_steps, self.settings.interval_steps
        if step < warmup:
            return False
        interval_start = (step - warmup) // interval * interval + warmup
        previous = max((s for s in trial.values if s < step), default=-1)
        return previous < interval_start

    def should_prune(self, trial: TrialSteps, peers: RoundSteps, *, maximize: bool) -> Decision:
        s = self.settings
        complete = [p for p in peers.values() if p.state == "complete"]
        if not complete or len(complete) < s.n_startup_trials:
            return Decision(False, f"startup: {len(complete)} of {s.n_startup_trials} complete "
                                   f"trials")
        if not self.due(trial):
            return Decision(False)
        step = max(trial.values)
        if self.value == "best":
            own, what = best_so_far(trial.values, step, maximize=maximize), "best"
        else:
            own, what = trial.values[step], "value"
        if math.isnan(own):
            return Decision(True, f"{self.metric} is NaN at step {step}")
        at_step = [p.values[step] for p in complete
                   if step in p.values and not math.isnan(p.values[step])]
        if len(at_step) < s.n_min_trials:
            return Decision(False, f"{len(at_step)} complete trial"
                                   f"{'s' if len(at_step) != 1 else ''} reached step {step}")
        median = statistics.median(at_step)
        worse = own < median if maximize else own > median
        verdict = "worse than" if worse else "not worse than"
        return Decision(worse, f"{what} {self.metric} {fmt_value(own)} at step {step} is "
                               f"{verdict} the median {fmt_value(median)} of {len(at_step)} "
                               f"complete trials")
