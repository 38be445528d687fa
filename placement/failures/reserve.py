"""A reserve: the placement whose served demand survives any single failure of a chosen kind.

The model extends `placement.solvers.milp`'s (its sets, data and numbered constraints) to failure scenarios
s = 0 (nominal: the problem P^0) and s = 1..S (P^s: the same demands and epochs with one element down, e.g.
each gateway's accelerators, `accelerator_failures`, or each gateway site, `impact.failed_problems`):

  Vars   one copy of the MILP's variables per scenario: x^s[t,d,k], u^s[t,d], y^s[t,m,h], z^s[t,m,h] (and
         rho^s, w^s, e^s where the MILP has them), on the candidate slots of P^s

  minimise  the objective of scenario 0 (the placement's nominal cost; the other copies cost nothing)

  (1)-(15)  of placement.solvers.milp in every scenario s, on P^s: each failure has its own assignment and
            its own capacity rows
  (R1) y^s[t,m,h] = y^0[t,m,h]                  the scenarios share the placement (hosts matched by name); a
                                                copy P^s could use on a host P^0 never offers is closed
  (R2) sum_k x^s[t,d,k] >= sum_k x^0[t,d,k]     every share of a demand-epoch served nominally is still
                                                served after failure s, by the copies left

A reserve costs latency (copies placed where the failure leaves one) and, with all its copies, S + 1 times
the MILP's variables and rows: one scenario per element that can fail, so a few dozen at most in practice.
"""

from __future__ import annotations

import dataclasses
import datetime
import time

import numpy as np
from ortools.math_opt import model_pb2, solution_pb2
from ortools.math_opt.python import mathopt

from placement.failures.outage import without_accelerators
from placement.problem.solution import SolveResult, Status
from placement.problem.spec import HOST_KINDS, PlacementProblem
from placement.solvers.milp import SOLVER_TYPES, MilpModel, _solution, build
from placement.solvers.options import MilpOptions

STRATEGY = "milp_reserve"  # its name among a run's strategies
_STATUS = {mathopt.TerminationReason.OPTIMAL: Status.OPTIMAL, mathopt.TerminationReason.FEASIBLE: Status.FEASIBLE,
           mathopt.TerminationReason.INFEASIBLE: Status.INFEASIBLE,
           mathopt.TerminationReason.NO_SOLUTION_FOUND: Status.NO_SOLUTION}


def accelerator_failures(problem: PlacementProblem, kind: int) -> list[PlacementProblem]:
    """One scenario per host of `kind` (HOST_KINDS' code) that is some demand's candidate: `problem` with that
    host's accelerators down (it still relays; no rebuild of the network needed)."""
    hosts = problem.candidate_hosts()
    return [without_accelerators(problem, np.arange(problem.n_hosts) == h)
            for h in hosts[problem.host_kind[hosts] == kind]]


def solve_against(kind: str, problem: PlacementProblem, options: MilpOptions, seed: int = 0) -> SolveResult:
    """`solve_reserve` against the loss of any one host's accelerators of `kind` (a name of HOST_KINDS)."""
    return solve_reserve(problem, accelerator_failures(problem, HOST_KINDS.index(kind)), options, seed=seed)


def _linking_rows(models: list[MilpModel], problems: list[PlacementProblem], offsets: list[int]):
    """The rows (R1) and (R2) as (row, merged variable id, coefficient) triplets and row lower bounds, and the
    merged ids of the copies (R1) closes."""
    rows, cols, coefs, lower, closed = [], [], [], [], []
    names0 = np.asarray(problems[0].host_name)
    key0 = {(t, m, names0[h]): i for i, (t, m, h) in zip(models[0].y_ids, models[0].y_index.tolist())}
    D = problems[0].n_demands
    served0 = models[0].x_index[:, 0] * D + models[0].x_index[:, 1]  # (t, d) of each nominal x
    keys = np.unique(served0)  # (R2): one row per nominally servable demand-epoch and scenario
    for model, problem, offset in zip(models[1:], problems[1:], offsets[1:]):
        names = np.asarray(problem.host_name)
        for i, (t, m, h) in zip(model.y_ids, model.y_index.tolist()):  # (R1)
            nominal = key0.get((t, m, names[h]))
            if nominal is None:
                closed.append(offset + i)
                continue
            rows += [len(lower)] * 2
            cols += [nominal, offset + i]
            coefs += [-1.0, 1.0]
            lower.append(0.0)
        served = model.x_index[:, 0] * D + model.x_index[:, 1]
        first = len(lower)
        rows += (first + np.searchsorted(keys, served0)).tolist()
        cols += models[0].x_ids.tolist()
        coefs += [-1.0] * len(served0)
        linked = np.isin(served, keys)  # a demand-epoch the nominal problem cannot serve needs no row
        rows += (first + np.searchsorted(keys, served[linked])).tolist()
        cols += (offset + model.x_ids[linked]).tolist()
        coefs += [1.0] * int(linked.sum())
        lower += [0.0] * len(keys)
    return np.asarray(rows, int), np.asarray(cols, int), np.asarray(coefs), np.asarray(lower), closed


def merged_model(models: list[MilpModel], problems: list[PlacementProblem]) -> model_pb2.ModelProto:
    """One proto of every scenario's model (variables and rows renumbered after the previous scenario's),
    scenario 0's objective, and the linking rows (R1), (R2)."""
    proto = model_pb2.ModelProto(name="placement-reserve")
    offsets = np.cumsum([0] + [m.n_variables for m in models[:-1]]).tolist()
    rows, cols, coefs, lower, closed = _linking_rows(models, problems, offsets)
    upper = np.concatenate([np.asarray(m.proto.variables.upper_bounds) for m in models])
    upper[closed] = 0.0
    v = proto.variables
    v.ids.extend(range(len(upper)))
    v.lower_bounds.extend(np.concatenate([np.asarray(m.proto.variables.lower_bounds) for m in models]).tolist())
    v.upper_bounds.extend(upper.tolist())
    v.integers.extend(np.concatenate([np.asarray(m.proto.variables.integers, bool) for m in models]).tolist())
    proto.objective.CopyFrom(models[0].proto.objective)
    row_offset = 0
    matrix = proto.linear_constraint_matrix
    for model, offset in zip(models, offsets):
        c, a = model.proto.linear_constraints, model.proto.linear_constraint_matrix
        proto.linear_constraints.ids.extend((np.asarray(c.ids, int) + row_offset).tolist())
        proto.linear_constraints.lower_bounds.extend(c.lower_bounds)
        proto.linear_constraints.upper_bounds.extend(c.upper_bounds)
        matrix.row_ids.extend((np.asarray(a.row_ids, int) + row_offset).tolist())
        matrix.column_ids.extend((np.asarray(a.column_ids, int) + offset).tolist())
        matrix.coefficients.extend(a.coefficients)
        row_offset += model.n_constraints
    order = np.lexsort((cols, rows))  # MathOpt wants row-major order
    proto.linear_constraints.ids.extend((row_offset + np.arange(len(lower))).tolist())
    proto.linear_constraints.lower_bounds.extend(lower.tolist())
    proto.linear_constraints.upper_bounds.extend([np.inf] * len(lower))
    matrix.row_ids.extend((row_offset + rows[order]).tolist())
    matrix.column_ids.extend(cols[order].tolist())
    matrix.coefficients.extend(coefs[order].tolist())
    return proto


def solve_reserve(problem: PlacementProblem, failures: list[PlacementProblem], options: MilpOptions = MilpOptions(),
                  *, seed: int = 0) -> SolveResult:
    """The MILP of the module docstring: the best placement of `problem` (and its nominal assignment) whose
    served shares survive each of the `failures` (each the problem with one element down)."""
    started = time.perf_counter()
    problems = [problem, *failures]
    models = [build(p, dataclasses.replace(options, relax=False)) for p in problems]
    model = mathopt.Model.from_model_proto(merged_model(models, problems))
    build_seconds = time.perf_counter() - started
    params = mathopt.SolveParameters(time_limit=datetime.timedelta(seconds=options.time_limit_s),
                                     relative_gap_tolerance=options.relative_gap, threads=options.threads,
                                     random_seed=seed, enable_output=options.verbose)
    started = time.perf_counter()
    result = mathopt.solve(model, SOLVER_TYPES[options.solver], params=params)
    solve_seconds = time.perf_counter() - started
    status = _STATUS.get(result.termination.reason, Status.ERROR)
    solution = objective = None
    if result.has_primal_feasible_solution():
        values = result.to_proto().solutions[0].primal_solution.variable_values
        ids = np.asarray(values.ids, int)
        own = ids < models[0].n_variables  # scenario 0's variables come first
        nominal = solution_pb2.PrimalSolutionProto()
        nominal.variable_values.ids.extend(ids[own].tolist())
        nominal.variable_values.values.extend(np.asarray(values.values)[own].tolist())
        solution = _solution(problem, models[0], nominal)
        objective = result.objective_value() * models[0].objective_scale
    return SolveResult(solver=f"milp-reserve-{options.solver}", status=status, solution=solution,
                       objective=float("nan") if objective is None else objective,
                       dual_bound=result.termination.objective_bounds.dual_bound * models[0].objective_scale,
                       build_seconds=build_seconds, solve_seconds=solve_seconds,
                       message=f"{result.termination.reason.name.lower()}: {len(failures)} failure scenarios, "
                               f"{sum(m.n_variables for m in models)} variables")
