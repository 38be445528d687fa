"""Solvers: the registry of strategies, each `solve(problem, options, *, seed, hint) -> SolveResult`.

`SOLVERS` names every strategy the CLI, the config and the benchmarks can run: a solve function (imported on
first use, so that importing the registry, as the config loader does, loads neither JAX nor OR-Tools) and its
default options, a preset of one of the classes in `placement.solvers.options`. The config's
`[solver.<name>]` sections take their type and defaults from here.

Modules: `milp` (the exact model; its docstring states constraints (1)-(18); `milp_rows` builds them; `epoch_dual`
its Lagrangian decomposition over epochs), `gradient` (the heuristic's
orchestration, from `copy_dual` (copy prices, their bound and fixings), `lagrangian` prices, the
`relaxation` in JAX, the vectorized `repair` and the per-demand repair, `local_search` and `neighbourhood`),
`baselines` (fixed rules), `residuals` (the capacity bookkeeping the
heuristics share), `options`.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import TYPE_CHECKING, Any, Callable

from placement.errors import InputError
from placement.fields import check_fields
from placement.solvers.options import (GRADIENT_FAST, GRADIENT_THOROUGH, BaselineOptions, DualOptions, GradientOptions,
                                       MilpOptions)

if TYPE_CHECKING:
    from placement.problem.solution import Solution, SolveResult
    from placement.problem.spec import PlacementProblem


@dataclasses.dataclass(frozen=True)
class Strategy:
    """A registered solver: `module.function(problem, options, *, seed, hint)` with `options` (an instance of
    one class of `placement.solvers.options`) as its default; `help` is one line for listings; `exact` when it
    proves optimality."""

    name: str
    module: str
    function: str
    options: Any
    help: str
    exact: bool = False  # proves optimality (a run certifies the other strategies with the LP bound)

    def load(self) -> Callable[..., SolveResult]:
        """The solve function, its module imported now if it was not yet."""
        return getattr(importlib.import_module(self.module), self.function)

    def solve(self, problem: PlacementProblem, options: Any = None, *, seed: int = 0,
              hint: Solution | None = None) -> SolveResult:
        """Run the strategy with `options` (default: its preset), after checking their type and every field's
        range (an InputError names the class and the field)."""
        options = self.options if options is None else options
        if type(options) is not type(self.options):
            raise TypeError(f"solver {self.name!r} takes {type(self.options).__name__}, not {type(options).__name__}")
        _check(options)
        return self.load()(problem, options, seed=seed, hint=hint)


def _check(options) -> None:
    """Every field's check, nested options included."""
    check_fields(options)
    for f in dataclasses.fields(options):
        value = getattr(options, f.name)
        if dataclasses.is_dataclass(value):
            _check(value)


_BASELINES = "placement.solvers.baselines"
SOLVERS: dict[str, Strategy] = {s.name: s for s in (
    Strategy("milp", "placement.solvers.epoch_dual", "solve_milp", MilpOptions(),  # milp.solve, or epochs first
             "exact MILP through OR-Tools MathOpt (HiGHS), started from greedy's solution", exact=True),
    Strategy("gradient", "placement.solvers.gradient", "solve", GradientOptions(),
             "Lagrangian prices and augmented Lagrangian relaxations (JAX), repaired, improved by local moves"),
    Strategy("gradient_fast", "placement.solvers.gradient", "solve", GRADIENT_FAST,
             "the gradient heuristic for speed: prices, the vectorized repair and the assignment LP only"),
    Strategy("gradient_thorough", "placement.solvers.gradient", "solve", GRADIENT_THOROUGH,
             "the gradient heuristic for quality: more restarts, more polished solutions, a longer budget"),
    Strategy("greedy", _BASELINES, "greedy", BaselineOptions(),
             "demands by decreasing regret, each at its cheapest slot where that pays"),
    Strategy("nearest_gateway", _BASELINES, "nearest_gateway", BaselineOptions(),
             "each demand at its nearest gateways, then the cloud"),
    Strategy("cloud_only", _BASELINES, "cloud_only", BaselineOptions(),
             "every request to its fastest cloud region"),
    Strategy("random", _BASELINES, "random_feasible", BaselineOptions(),
             "demands in a random order, each at random usable slots (a floor)"),
)}


def solve(name: str, problem: PlacementProblem, options: Any = None, *, seed: int = 0,
          hint: Solution | None = None) -> SolveResult:
    """Run the registered strategy `name` (see `Strategy.solve`)."""
    if name not in SOLVERS:
        raise InputError(f"unknown solver {name!r}", field="solver", expected="one of " + ", ".join(SOLVERS))
    return SOLVERS[name].solve(problem, options, seed=seed, hint=hint)


__all__ = ["SOLVERS", "Strategy", "solve", "BaselineOptions", "DualOptions", "GradientOptions", "MilpOptions"]
