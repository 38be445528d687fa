"""A certified lower bound on an LP from any dual vector, however approximate (first-order solvers' duals).

For the LP in MathOpt's form

    min  c x + c0   s.t.  lo_i <= a_i x <= up_i  (rows),   l_j <= x_j <= u_j  (variables),

and row multipliers y, weak duality gives for every x in the box satisfying the rows

    c x + c0 >= c0 + sum_i (y_i lo_i if y_i > 0 else y_i up_i) + sum_j min(r_j l_j, r_j u_j),   r = c - A^T y,

as long as y_i > 0 only where lo_i is finite and y_i < 0 only where up_i is finite (the sign projection
below enforces it). Exact duals make it the optimum; PDLP's (a first-order method stopping at a relative
tolerance) land slightly off, and the bound stays valid, only a little lower. A variable with an infinite
bound in the direction its reduced cost pushes makes the bound -inf: the placement MILP bounds every variable
(shares, copies and unserved in [0, 1], utilisation at its ceiling), so this does not arise there.
Evaluated in float64 on the host, independent of the solver's own report.
"""

from __future__ import annotations

import numpy as np
from ortools.math_opt import model_pb2


def _sparse(vector, n: int, position: np.ndarray) -> np.ndarray:
    """A MathOpt SparseDoubleVectorProto as a dense array of `n` (`position` maps an id to its place)."""
    out = np.zeros(n)
    out[position[np.asarray(vector.ids, np.int64)]] = np.asarray(vector.values)
    return out


def dual_bound(model: model_pb2.ModelProto, dual_values) -> float:
    """The bound above for `model` (a linear objective) and the row multipliers `dual_values` (a
    SparseDoubleVectorProto, rows absent are 0)."""
    if model.objective.maximize or len(model.objective.quadratic_coefficients.row_ids):
        raise ValueError("dual_bound: the objective must be a linear minimisation")
    variables, rows = model.variables, model.linear_constraints
    var_ids, row_ids = np.asarray(variables.ids, np.int64), np.asarray(rows.ids, np.int64)
    var_at = np.zeros(var_ids.max(initial=-1) + 1, np.int64)
    var_at[var_ids] = np.arange(len(var_ids))
    row_at = np.zeros(row_ids.max(initial=-1) + 1, np.int64)
    row_at[row_ids] = np.arange(len(row_ids))
    n, m = len(var_ids), len(row_ids)
    lower, upper = np.asarray(variables.lower_bounds, float), np.asarray(variables.upper_bounds, float)
    row_lower, row_upper = np.asarray(rows.lower_bounds, float), np.asarray(rows.upper_bounds, float)
    cost = _sparse(model.objective.linear_coefficients, n, var_at)
    y = _sparse(dual_values, m, row_at)
    # sign projection: a multiplier may only press on a row's finite side
    y = np.where((y > 0) & ~np.isfinite(row_lower), 0.0, y)
    y = np.where((y < 0) & ~np.isfinite(row_upper), 0.0, y)
    matrix = model.linear_constraint_matrix
    at_row = row_at[np.asarray(matrix.row_ids, np.int64)]
    at_var = var_at[np.asarray(matrix.column_ids, np.int64)]
    reduced = cost - np.bincount(at_var, y[at_row] * np.asarray(matrix.coefficients), n)
    with np.errstate(invalid="ignore"):  # 0 x inf where a multiplier or reduced cost is exactly 0
        rows_term = np.where(y > 0, y * row_lower, np.where(y < 0, y * row_upper, 0.0)).sum()
        box_term = np.where(reduced > 0, reduced * lower, np.where(reduced < 0, reduced * upper, 0.0)).sum()
    return float(model.objective.offset + rows_term + box_term)
