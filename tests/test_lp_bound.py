"""The certified LP bound from any row multipliers (placement.solvers.lp_bound), and PDLP's relaxation."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ortools.math_opt import sparse_containers_pb2
from ortools.math_opt.python import mathopt

from placement.errors import InputError
from placement.problem.synthetic import random_problem
from placement.solvers import milp
from placement.solvers.lp_bound import dual_bound
from placement.solvers.options import MilpOptions


def _duals(ids, values):
    return sparse_containers_pb2.SparseDoubleVectorProto(ids=list(ids), values=list(values))


def _small_lp():
    """min x1 + 2 x2  s.t.  x1 + x2 >= 1,  x1 <= 0.5 (a row),  0 <= x <= 1: optimum 1.5 at (0.5, 0.5)."""
    model = mathopt.Model()
    x1, x2 = model.add_variable(lb=0.0, ub=1.0), model.add_variable(lb=0.0, ub=1.0)
    model.add_linear_constraint(x1 + x2 >= 1.0)
    model.add_linear_constraint(x1 <= 0.5)
    model.minimize(x1 + 2.0 * x2)
    return model.export_model()


@pytest.mark.parametrize("y, expected", [
    # the optimal multipliers (2 on the cover row, -1 on x1's row): every reduced cost 0, bound = 2 - 0.5
    ((2.0, -1.0), 1.5),
    # 1 on the cover row only: reduced costs (0, 1), both at their lower bound 0 -> 1
    ((1.0, 0.0), 1.0),
    # 3 on the cover row: reduced costs (-2, -1) push both to 1: 3 - 2 - 1 = 0
    ((3.0, 0.0), 0.0),
    # a wrong sign on each row is projected to 0: the bound of y = 0, every x at 0
    ((-1.0, 1.0), 0.0),
])
def test_bound_of_hand_computed_multipliers(y, expected):
    assert dual_bound(_small_lp(), _duals([0, 1], y)) == pytest.approx(expected, abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-5.0, 5.0), min_size=2, max_size=2))
def test_any_multipliers_bound_the_optimum(y):
    assert dual_bound(_small_lp(), _duals([0, 1], y)) <= 1.5 + 1e-12


def test_an_unbounded_variable_pushed_up_gives_no_bound():
    model = mathopt.Model()
    x = model.add_variable(lb=0.0)
    model.add_linear_constraint(x >= 1.0)
    model.minimize(x)
    assert dual_bound(model.export_model(), _duals([0], [2.0])) == -np.inf  # reduced cost -1, x unbounded


@pytest.mark.parametrize("seed", [0, 1])
def test_pdlp_certifies_a_bound_close_to_highs(seed):
    """PDLP's approximate multipliers give a bound at most the MILP optimum and within 0.1% of the exact LP
    bound (HiGHS's multipliers, certified the same way)."""
    p = random_problem(seed, 20, 50, 3, 2, n_slots=12, placement="per_epoch", opening_cost=1e5,
                       migration_cost_per_gb=1e6, load=0.8, edge_memory_models=1.0)
    optimum = milp.solve(p, MilpOptions(warm_start="none")).objective
    exact = milp.solve(p, MilpOptions(relax=True))
    first_order = milp.solve(p, MilpOptions(relax=True, solver="pdlp"))
    assert exact.dual_bound == pytest.approx(exact.objective, rel=1e-7)  # exact duals: the LP optimum
    assert first_order.dual_bound <= exact.dual_bound * (1 + 1e-9) <= optimum * (1 + 1e-9)
    assert first_order.dual_bound >= exact.dual_bound * (1 - 1e-3)


def test_pdlp_refuses_a_mixed_integer_solve():
    p = random_problem(0, 5, 10, 2, 1, n_slots=4)
    with pytest.raises(InputError, match="relax = true"):
        milp.solve(p, MilpOptions(solver="pdlp"))


def test_every_variable_of_a_queueing_model_has_a_finite_box():
    """The waiting variables (13) are bounded by the interpolant at the utilisation they can reach, so PDLP's
    multipliers certify a finite bound there too, at most the exact LP bound."""
    import dataclasses

    p = dataclasses.replace(random_problem(1, 12, 30, 2, 2, n_slots=6, load=0.8), queueing=True,
                            utilization_ceiling=0.95)
    model = milp.build(p, MilpOptions(relax=True))
    assert np.isfinite(np.asarray(model.proto.variables.upper_bounds)).all()
    exact = milp.solve(p, MilpOptions(relax=True))
    first_order = milp.solve(p, MilpOptions(relax=True, solver="pdlp"))
    assert np.isfinite(first_order.dual_bound)
    assert exact.dual_bound * (1 - 1e-3) <= first_order.dual_bound <= exact.dual_bound * (1 + 1e-9)
