"""What every solver returns: a solution on the problem's axes, its status and the result around it."""

from __future__ import annotations

import dataclasses
import enum
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from placement.problem.spec import PlacementProblem


@dataclasses.dataclass(frozen=True, eq=False)
class Solution:
    """placement [epoch, model, host] bool; assignment [epoch, demand, slot]: the share of a demand's
    requests served by that candidate (the rest is unserved)."""

    placement: np.ndarray
    assignment: np.ndarray

    def __post_init__(self):
        object.__setattr__(self, "placement", np.asarray(self.placement, dtype=bool))
        object.__setattr__(self, "assignment", np.asarray(self.assignment, dtype=np.float64))

    def on_hosts(self, hosts: np.ndarray, n_hosts: int) -> Solution:
        """This solution of `problem.restricted_to(hosts)` as one of the problem with `n_hosts` hosts."""
        placement = np.zeros(self.placement.shape[:2] + (n_hosts,), bool)
        placement[:, :, hosts] = self.placement
        return Solution(placement, self.assignment)

    @classmethod
    def empty(cls, problem: PlacementProblem) -> Solution:
        return cls(np.zeros((problem.n_epochs, problem.n_models, problem.n_hosts), bool),
                   np.zeros(problem.candidate_host.shape))


class Status(enum.Enum):
    OPTIMAL = "optimal"  # proven within the gap tolerance
    FEASIBLE = "feasible"  # a solution, optimality not proven (a limit was hit, or a heuristic)
    INFEASIBLE = "infeasible"  # proven: no solution satisfies the constraints
    NO_SOLUTION = "no_solution"  # a limit was hit before any solution was found
    ERROR = "error"


@dataclasses.dataclass(frozen=True, eq=False)
class SolveResult:
    """What every solver returns. `objective` is the solver's own figure; score it with `evaluate`."""

    solver: str
    status: Status
    solution: Solution | None
    objective: float = float("nan")
    dual_bound: float = float("nan")  # a proven lower bound on the optimum (nan: none)
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    message: str = ""

    @property
    def gap(self) -> float:
        """Relative gap between objective and dual bound (nan when either is missing)."""
        if not (np.isfinite(self.objective) and np.isfinite(self.dual_bound)):
            return float("nan")
        return abs(self.objective - self.dual_bound) / max(abs(self.objective), 1e-9)
