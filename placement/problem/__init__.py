"""The placement problem: hosts, models, demands and their limits, as frozen validated arrays."""

from placement.problem.solution import Solution, SolveResult, Status
from placement.problem.spec import (
           CLOUD,
           GATEWAY,
           HOST_KINDS,
           LOCAL,
           SATELLITE,
           PlacementProblem,
)
from placement.problem.synthetic import random_problem, with_random_links

__all__ = ["CLOUD", "GATEWAY", "HOST_KINDS", "LOCAL", "SATELLITE", "PlacementProblem", "Solution", "SolveResult",
           "Status", "random_problem", "with_random_links"]
