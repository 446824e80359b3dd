"""hpsearch.pareto against fronts, hypervolumes and crowding distances computed by hand."""

from __future__ import annotations

import random

import pytest

from hpsearch.pareto import (crowding_distance, dominates, front_ranks, hypervolume,
                             hypervolume_history, pareto_front, reference_point)

# (accuracy: maximise, milliseconds: minimise). By hand: A, B, C and A's copy F are on the
# front; D is dominated by A (less accurate, slower), E by B; D and E do not dominate each other.
POINTS = {"A": (0.9, 5.0), "B": (0.8, 2.0), "C": (0.95, 10.0), "D": (0.85, 6.0),
          "E": (0.7, 3.0), "F": (0.9, 5.0)}
UP = (True, False)


def test_known_front_and_ranks() -> None:
    names = list(POINTS)
    pts = list(POINTS.values())
    assert [names[i] for i in pareto_front(pts, UP)] == ["A", "B", "C", "F"]
    assert dict(zip(names, front_ranks(pts, UP))) == \
        {"A": 0, "B": 0, "C": 0, "D": 1, "E": 1, "F": 0}
    assert dominates(POINTS["A"], POINTS["D"], UP) and not dominates(POINTS["D"], POINTS["E"], UP)
    assert not dominates(POINTS["A"], POINTS["F"], UP)


def test_known_hypervolume_two_objectives() -> None:
    # Reference (accuracy 0.5, 12 ms). Slabs by time: [10,12] x 0.45, [5,10] x 0.4, [2,5] x 0.3.
    assert hypervolume(list(POINTS.values()), UP, (0.5, 12.0)) == pytest.approx(3.8)
    # A point worse than the reference adds nothing.
    assert hypervolume([(0.4, 1.0)], UP, (0.5, 12.0)) == 0.0
    assert hypervolume([], UP, (0.5, 12.0)) == 0.0


def test_known_hypervolume_three_objectives() -> None:
    # Boxes to (4,4,4): 6, 6, 3; pairwise overlaps 4, 1, 1; all three 1: 6+6+3-4-1-1+1 = 10.
    pts = [(1, 2, 3), (2, 1, 3), (3, 3, 1)]
    assert hypervolume(pts, (False,) * 3, (4, 4, 4)) == pytest.approx(10.0)
    assert front_ranks(pts + [(3, 3, 3)], (False,) * 3) == [0, 0, 0, 1]


def test_three_objective_sort_matches_pairwise_definition() -> None:
    rng = random.Random(3)
    pts = [tuple(rng.randint(0, 5) for _ in range(3)) for _ in range(60)]
    up = (True, False, True)
    ranks = front_ranks(pts, up)
    for i, p in enumerate(pts):
        dominated_by = [ranks[j] for j, q in enumerate(pts) if dominates(q, p, up)]
        assert ranks[i] == (max(dominated_by) + 1 if dominated_by else 0)
    # the two-objective sweep agrees with the definition as well
    two = [p[:2] for p in pts]
    ranks2 = front_ranks(two, up[:2])
    for i, p in enumerate(two):
        dominated_by = [ranks2[j] for j, q in enumerate(two) if dominates(q, p, up[:2])]
        assert ranks2[i] == (max(dominated_by) + 1 if dominated_by else 0)


def test_history_crowding_and_reference() -> None:
    seq = [POINTS["D"], None, POINTS["A"], POINTS["E"], POINTS["B"], POINTS["C"]]
    hv = hypervolume_history(seq, UP, (0.5, 12.0))
    assert hv[0] == pytest.approx(0.35 * 6) and hv[1] == hv[0]
    assert hv[2] == pytest.approx(0.4 * 7)       # A dominates D
    assert hv[-1] == pytest.approx(3.8)
    assert hv == sorted(hv)
    front = [POINTS["C"], POINTS["A"], POINTS["B"]]
    # A's neighbours: accuracy (0.95 - 0.8) / 0.15 = 1, time (10 - 2) / 8 = 1
    assert crowding_distance(front, UP) == [float("inf"), 2.0, float("inf")]
    assert reference_point(front, UP) == pytest.approx([0.8 - 0.015, 10.8])
