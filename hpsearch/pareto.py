"""Pareto fronts of several objectives: non-dominated sorting, front ranks, hypervolume and
crowding distance. Pure functions of value vectors; nothing of hpsearch is imported.

Every function takes ``points`` (one sequence of floats per trial, objectives in the study's
order) and ``maximize`` (one bool per objective). Internally each vector is turned into one to
minimise (maximised objectives negated). ``a`` dominates ``b`` when ``a`` is at least as good in
every objective and better in one; the first front (rank 0) is the set no point dominates, the
second what remains after removing it, and so on (Deb et al.'s non-dominated sorting). Equal
vectors share a front.

Two objectives are sorted by a sweep (O(n log n) per front); more by pairwise comparison in
numpy (O(n²) per front).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["dominates", "front_ranks", "pareto_front", "hypervolume", "reference_point",
           "hypervolume_history", "crowding_distance"]


def _minimised(points: Sequence[Sequence[float]], maximize: Sequence[bool]):
    import numpy as np

    arr = np.asarray(points, dtype=float).reshape(len(points), len(maximize))
    sign = np.where(np.asarray(maximize, dtype=bool), -1.0, 1.0)
    return arr * sign


def dominates(a: Sequence[float], b: Sequence[float], maximize: Sequence[bool]) -> bool:
    """Whether ``a`` dominates ``b``: no worse in every objective, better in one."""
    better = False
    for x, y, up in zip(a, b, maximize):
        if up:
            x, y = -x, -y
        if x > y:
            return False
        if x < y:
            better = True
    return better


def _first_front(arr) -> list[int]:
    """Indexes (into ``arr``, minimised) of the points no other point dominates."""
    import numpy as np

    n, m = arr.shape
    if n == 0:
        return []
    if m == 1:
        best = arr[:, 0].min()
        return [int(i) for i in np.flatnonzero(arr[:, 0] == best)]
    if m == 2:
        # Sort by the first objective, then the second; a point is on the front when its
        # second value is below every earlier point's (or equals the vector just kept).
        order = np.lexsort((arr[:, 1], arr[:, 0]))
        kept: list[int] = []
        best_y = np.inf
        last = None
        for i in order:
            x, y = arr[i]
            if y < best_y:
                kept.append(int(i))
                best_y, last = y, (x, y)
            elif last is not None and x == last[0] and y == last[1]:
                kept.append(int(i))  # a copy of a front vector is on the front too
        return sorted(kept)
    keep = np.ones(n, dtype=bool)
    for start in range(0, n, 512):  # chunks: n × 512 × m booleans at a time
        block = arr[start:start + 512]
        no_worse = (arr[:, None, :] <= block[None, :, :]).all(axis=2)
        better = (arr[:, None, :] < block[None, :, :]).any(axis=2)
        keep[start:start + len(block)] = ~(no_worse & better).any(axis=0)
    return [int(i) for i in np.flatnonzero(keep)]


def front_ranks(points: Sequence[Sequence[float]], maximize: Sequence[bool]) -> list[int]:
    """The front of each point: 0 for the Pareto front, 1 for the next, ..."""
    import numpy as np

    arr = _minimised(points, maximize)
    ranks = [-1] * len(arr)
    left = np.arange(len(arr))
    rank = 0
    while len(left):
        front = _first_front(arr[left])
        for i in front:
            ranks[int(left[i])] = rank
        mask = np.ones(len(left), dtype=bool)
        mask[front] = False
        left = left[mask]
        rank += 1
    return ranks


def pareto_front(points: Sequence[Sequence[float]], maximize: Sequence[bool]) -> list[int]:
    """Indexes of the points on the Pareto front (rank 0), in input order."""
    return _first_front(_minimised(points, maximize))


def reference_point(points: Sequence[Sequence[float]], maximize: Sequence[bool],
                    *, margin: float = 0.1) -> list[float]:
    """A reference point for :func:`hypervolume`: each objective's worst value, pushed
    ``margin`` of its range further (1.0 when all values are equal), so the ends of the front
    count too."""
    arr = _minimised(points, maximize)
    out = []
    for j, up in enumerate(maximize):
        col = arr[:, j]
        worst, span = float(col.max()), float(col.max() - col.min())
        ref = worst + (margin * span if span > 0 else 1.0)
        out.append(-ref if up else ref)
    return out


def hypervolume(points: Sequence[Sequence[float]], maximize: Sequence[bool],
                reference: Sequence[float]) -> float:
    """The volume dominated by ``points`` and bounded by ``reference`` (a point worse than every
    one of interest in every objective, in the objectives' own sense). Points not better than
    the reference in every objective add nothing."""
    import numpy as np

    if not len(points):
        return 0.0
    arr = _minimised(points, maximize)
    ref = _minimised([reference], maximize)[0]
    arr = arr[(arr < ref).all(axis=1)]
    if not len(arr):
        return 0.0
    arr = arr[_first_front(arr)]
    return _hv(np.unique(arr, axis=0), ref)


def _hv(arr, ref) -> float:
    """Hypervolume of minimised, non-dominated ``arr`` below ``ref``: slices along the last
    objective (exact; fine for the front sizes of a study)."""
    import numpy as np

    m = arr.shape[1]
    if m == 1:
        return float(ref[0] - arr[:, 0].min())
    if m == 2:
        order = np.argsort(arr[:, 0])
        total, prev_y = 0.0, ref[1]
        for x, y in arr[order]:
            if y < prev_y:
                total += (ref[0] - x) * (prev_y - y)
                prev_y = y
        return float(total)
    order = np.argsort(arr[:, -1])
    arr = arr[order]
    total = 0.0
    for i in range(len(arr)):
        top = arr[i + 1, -1] if i + 1 < len(arr) else ref[-1]
        depth = top - arr[i, -1]
        if depth <= 0:
            continue
        slab = arr[: i + 1, :-1]
        slab = slab[_first_front(slab)]
        total += depth * _hv(slab, ref[:-1])
    return float(total)


def hypervolume_history(points: Sequence[Sequence[float] | None], maximize: Sequence[bool],
                        reference: Sequence[float]) -> list[float]:
    """The hypervolume after each trial, in trial order (None: a trial that adds nothing:
    failed, pruned or infeasible)."""
    out: list[float] = []
    kept: list[Sequence[float]] = []
    current = 0.0
    for p in points:
        if p is not None:
            kept.append(p)
            front = pareto_front(kept, maximize)
            kept = [kept[i] for i in front]
            current = hypervolume(kept, maximize, reference)
        out.append(current)
    return out


def crowding_distance(points: Sequence[Sequence[float]], maximize: Sequence[bool]) -> list[float]:
    """NSGA-II's crowding distance of each point within its set (infinite at each objective's
    ends): how much room the point's neighbours leave it on the front."""
    import numpy as np

    arr = _minimised(points, maximize)
    n, m = arr.shape
    dist = np.zeros(n)
    if n <= 2:
        return [float("inf")] * n
    for j in range(m):
        order = np.argsort(arr[:, j], kind="stable")
        col = arr[order, j]
        span = col[-1] - col[0]
        dist[order[0]] = dist[order[-1]] = np.inf
        if span > 0:
            dist[order[1:-1]] += (col[2:] - col[:-2]) / span
    return [float(d) for d in dist]
