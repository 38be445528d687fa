"""Solvers: each maps a `PlacementProblem` to a `SolveResult`; `SOLVERS` names them for the CLI and benchmarks."""

from placement.solvers import gradient, milp
from placement.solvers.baselines import cloud_only, greedy, nearest_gateway, random_feasible

SOLVERS = {
    "milp": milp.solve,
    "gradient": gradient.solve,
    "cloud_only": cloud_only,
    "nearest_gateway": nearest_gateway,
    "greedy": greedy,
    "random": random_feasible,
}

__all__ = ["SOLVERS", "gradient", "milp", "cloud_only", "greedy", "nearest_gateway", "random_feasible"]
