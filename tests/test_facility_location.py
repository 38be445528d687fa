"""The capacitated facility location problem as a special case, checked against a published optimum."""

from pathlib import Path

import numpy as np
import pytest

from placement.errors import InputError
from placement.evaluation import evaluate
from placement.problem import Status
from placement.problem.facility import facility_location, read_orlib_cap
from placement.solvers.milp import solve

DATA = Path(__file__).parent / "data"


def test_orlib_cap41_published_optimum():
    # OR-Library capopt.txt (Beasley): the optimum of cap41 (16 facilities, 50 customers, splittable)
    # is 1040444.375.
    problem = read_orlib_cap(DATA / "orlib_cap41.txt")
    assert problem.size == "16x50x1x1"
    result = solve(problem)
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(1040444.375, rel=1e-6)
    report = evaluate(problem, result.solution)
    assert report.feasible and report.objective == pytest.approx(1040444.375, rel=1e-6)


def test_small_cflp_by_hand():
    # Two facilities of capacity 10 (fixed costs 5 and 8), two customers of demand 6. Costs for a whole
    # customer: c = [[6, 12], [12, 6]]. Opening both: 5 + 8 + 6 + 6 = 25. Opening only the first cannot
    # serve 12 > 10. So splittable and single-source optima are both 25.
    problem = facility_location([10, 10], [5, 8], [6, 6], [[6, 12], [12, 6]])
    assert solve(problem).objective == pytest.approx(25.0)
    # Capacity 12 on the first: serving both from it costs 5 + 6 + 12 = 23 < 25.
    problem = facility_location([12, 10], [5, 8], [6, 6], [[6, 12], [12, 6]], single_source=True)
    assert solve(problem).objective == pytest.approx(23.0)


def test_malformed_file_names_the_count(tmp_path):
    bad = tmp_path / "cap.txt"
    bad.write_text("2 1\n10 5\n10 8\n6 1.0\n")
    with pytest.raises(InputError, match=r"8 numbers for m=2 facilities and n=1 customers \(expected 9"):
        read_orlib_cap(bad)
    with pytest.raises(InputError, match="cost"):
        facility_location([1, 1], [0, 0], [1], np.ones((2, 2)))
