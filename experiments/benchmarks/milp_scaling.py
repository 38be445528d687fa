"""How far the exact MILP scales, and how far the baselines are from it.

Instances from `placement.problem.random_problem` (per-epoch placement with migration and opening costs,
12 candidate slots per demand as the network's pruning gives, load 0.8 of peak compute) of growing size
hosts x demands x models x epochs. Each is built and solved by HiGHS through MathOpt with a time limit
(default 600 s) and a relative gap tolerance of 1e-4; the ladder stops after the first size HiGHS does not
prove optimal within the limit. The baselines run on the same instances; their gap is to the best MILP
objective (or to a baseline's when one beats a time-limited MILP incumbent): the best known.

    python experiments/benchmarks/milp_scaling.py [--time-limit 600] [--max-steps 8]

Writes experiments/results/milp_scaling.json (format: shared BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from placement.evaluation import evaluate
from placement.problem import Status, random_problem
from placement import solvers
from placement.solvers.options import MilpOptions
from placement.results import save_benchmark

LADDER = [(10, 25, 2, 1), (20, 50, 3, 2), (30, 75, 3, 3), (40, 100, 4, 4), (60, 150, 5, 4),
          (80, 200, 5, 6), (120, 300, 6, 8), (160, 400, 8, 12)]
BASELINES = ("cloud_only", "nearest_gateway", "greedy", "random")


def instance(hosts: int, demands: int, models: int, epochs: int, seed: int = 0):
    return random_problem(seed, hosts, demands, models, epochs, n_slots=12, placement="per_epoch",
                          opening_cost=1e5, migration_cost_per_gb=1e6, load=0.8)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=600.0, help="seconds per MILP solve")
    parser.add_argument("--max-steps", type=int, default=len(LADDER))
    parser.add_argument("--results", default=str(Path(__file__).resolve().parents[1] / "results"))
    args = parser.parse_args(argv)

    rows, largest_proven, largest_seconds = [], None, None
    for size in LADDER[: args.max_steps]:
        problem = instance(*size)
        case = problem.size
        # No warm start: the question is how far the MILP scales on its own
        result = solvers.solve("milp", problem, MilpOptions(time_limit_s=args.time_limit, warm_start="none"))
        proven = result.status is Status.OPTIMAL
        checked = evaluate(problem, result.solution) if result.solution is not None else None
        if checked is not None and not checked.feasible:
            sys.exit(f"{case}: the MILP's solution fails the evaluator: {checked.violations[:3]}")
        variables, constraints = result.message.rsplit("(", 1)[1].rstrip(")").split(" variables, ")
        rows += [
            {"case": case, "impl": "milp-highs", "metric": "build_s", "value": result.build_seconds, "unit": "s"},
            {"case": case, "impl": "milp-highs", "metric": "solve_s", "value": result.solve_seconds, "unit": "s"},
            {"case": case, "impl": "milp-highs", "metric": "status", "value": result.status.value, "unit": ""},
            {"case": case, "impl": "milp-highs", "metric": "objective", "value": result.objective, "unit": "request-ms"},
            {"case": case, "impl": "milp-highs", "metric": "dual_bound", "value": result.dual_bound, "unit": "request-ms"},
            {"case": case, "impl": "milp-highs", "metric": "gap_pct", "value": 100 * result.gap, "unit": "%"},
            {"case": case, "impl": "milp-highs", "metric": "variables", "value": int(variables), "unit": ""},
            {"case": case, "impl": "milp-highs", "metric": "constraints", "value": int(constraints.split()[0]), "unit": ""},
        ]
        objectives = {"milp-highs": result.objective}
        for name in BASELINES:
            b = solvers.solve(name, problem)
            report = evaluate(problem, b.solution)
            assert report.feasible, (name, report.violations[:3])
            objectives[name] = report.objective
            rows.append({"case": case, "impl": name, "metric": "solve_s", "value": b.solve_seconds, "unit": "s"})
        best = min(objectives.values())  # the best known: the MILP's incumbent unless a baseline beat it
        rows += [{"case": case, "impl": name, "metric": "gap_to_best_pct", "value": 100 * (value - best) / best,
                  "unit": "%"} for name, value in objectives.items()]
        print(f"{case}: {result.status.value} in {result.solve_seconds:.1f} s (build {result.build_seconds:.3f} s), "
              f"gap {100 * result.gap:.3f}%", flush=True)
        if not proven:
            break
        largest_proven, largest_seconds = case, result.solve_seconds

    summary = {"largest_proven_optimal": largest_proven, "largest_solve_seconds": largest_seconds,
               "time_limit_s": args.time_limit}
    save_benchmark("milp_scaling", rows, summary, args.results)


if __name__ == "__main__":
    main()
