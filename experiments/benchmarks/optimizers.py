"""The gradient heuristic against the exact MILP and the baselines, in three instance families.

1. Small and medium synthetic instances (`milp_scaling`'s family: per-epoch placement with migration and
   opening costs, 12 candidates per demand, load 0.8) on which HiGHS proves optimality: the heuristic's
   gap to the optimum and its time against the MILP's (no warm start), in two configurations of the
   solver registry: `gradient` (the defaults: Lagrangian prices and 16 augmented Lagrangian restarts, each
   repaired, the best three improved by local moves for up to 10 s, then the assignment LP at the best
   one's copies) and `gradient-fast` (the registry's `gradient_fast`: 300 steps of prices, the vectorized
   repair, the assignment LP; no restarts, no local moves). Times are after a warm-up on the first seed of
   each size (compilation once per shape).
2. Large: Starlink Gen1 (4,408 satellites) x the 1,000 largest cities x 10 catalog models x 24 hourly
   epochs, candidates pruned to the 4 satellites each city sees, its 2 nearest gateways and 2 nearest Azure
   regions. The heuristic's time (compilation included) and its gap to the best dual bound available: the
   LP relaxation by HiGHS within --lp-limit seconds (default 1800), the heuristic's own Lagrangian bound,
   or the capacity-free bound (every request at its cheapest usable candidate, or unserved).
3. The baselines (greedy, nearest gateway, cloud only) on every instance, as gap to the best known.

    python experiments/benchmarks/optimizers.py [--lp-limit 1800] [--milp-limit 600] [--seeds 4] [--skip-large]

Reads experiments/benchmarks/data/cities_top1000.csv for the large family. Writes experiments/results/optimizers.json
(optimizers.<gpu>.json on a GPU).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from placement.constellation.walker import STARLINK_GEN1
from placement.evaluation import evaluate
from placement.network import ground as tables
from placement.pipeline import placement_problem
from placement.problem import PlacementProblem, Status, random_problem
from placement.problem.build import HostOptions, ProblemOptions, Workload
from placement.problem.catalog import models
from placement.propagation.timegrid import Horizon
from placement.results import save_benchmark
from placement.scenario import Constellation, Demand, GroundSegment, Scenario
from placement import solvers
from placement.solvers.options import GradientOptions, MilpOptions

RESULTS = Path(__file__).resolve().parents[1] / "results"
CITIES = Path(__file__).resolve().parent / "data" / "cities_top1000.csv"
SMALL = [(20, 50, 3, 2), (40, 100, 4, 4)]
MEDIUM = [(80, 200, 5, 6)]
BASELINES = ("greedy", "nearest_gateway", "cloud_only")

# Requests per second per city, a mix of cameras, classifiers, speech and chat; the language models
# are the heavy tail. Scaled so that neighbouring cities compete for the satellites overhead.
LARGE_RATES = {"yolov8n": 800.0, "yolov8s": 200.0, "mobilenet_v3_large": 1000.0, "efficientnet_b0": 600.0,
               "resnet50": 400.0, "whisper-tiny": 40.0, "whisper-base": 20.0, "llama-3.2-1b-instruct-q4": 10.0,
               "qwen2.5-1.5b-instruct-q4": 6.0, "phi-3-mini-4k-instruct-q4": 4.0}


def synthetic(size: tuple[int, int, int, int], seed: int) -> PlacementProblem:
    return random_problem(seed, *size, n_slots=12, placement="per_epoch", opening_cost=1e5,
                          migration_cost_per_gb=1e6, load=0.8)


def large_instance() -> PlacementProblem:
    """Starlink Gen1 x the 1,000 largest cities x 10 models x 24 hourly epochs, as a Scenario: the same stages
    `placement run` goes through."""
    rows = [line.split(",") for line in CITIES.read_text().splitlines()]
    sites = tables.demand_sites([float(r[2]) for r in rows], [float(r[3]) for r in rows],
                                names=[f"{i}:{r[1]}" for i, r in enumerate(rows)])
    chosen = models(list(LARGE_RATES))
    workloads = tuple(Workload(m.name, LARGE_RATES[m.name], 2000.0 if m.task == "text-generation" else 200.0)
                      for m in chosen)
    scenario = Scenario(
        constellation=Constellation.walker(STARLINK_GEN1, "2026-02-24T00:00:00Z", label="starlink-gen1"),
        horizon=Horizon.from_utc("2026-02-24T00:00:00Z", epoch_s=3600.0, n_epochs=24),
        ground=GroundSegment.shipped("azure"), demand=Demand(sites, workloads, chosen),
        hosts=HostOptions(terminals_per_site=20),  # a city runs many user terminals: 20 carry its ~1 Gbps
        problem=ProblemOptions(placement="per_epoch", migration_cost_per_gb=1e4), chunk_steps=25)
    return placement_problem(scenario)


def capacity_free_bound(problem: PlacementProblem) -> float:
    """A lower bound: every request at its cheapest usable candidate (or unserved), all limits dropped.
    Valid because opening and migration costs are >= 0 and limits only remove options."""
    cheapest = problem.latency_ms().min(axis=2)
    if problem.unserved_penalty_ms is not None:
        cheapest = np.minimum(cheapest, problem.unserved_penalty_ms)
    return float((problem.requests() * cheapest).sum())


def run_solver(name: str, problem: PlacementProblem, options=None, seed: int = 0):
    """A registry strategy's evaluated objective, its wall time (s) and its result; exits on an infeasible
    solution."""
    start = time.perf_counter()
    result = solvers.solve(name, problem, options, seed=seed)
    seconds = time.perf_counter() - start
    report = evaluate(problem, result.solution)
    if not report.feasible:
        sys.exit(f"{name} on {problem.size}: infeasible solution: {report.violations[:3]}")
    return report.objective, seconds, result


EXACT = MilpOptions(warm_start="none")  # the MILP's own time to optimality, without a heuristic's start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lp-limit", type=float, default=1800.0, help="seconds for the large LP relaxation")
    parser.add_argument("--milp-limit", type=float, default=600.0, help="seconds per small/medium MILP")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--large-budget", type=float, default=10.0, help="seconds of local moves on the large instance")
    parser.add_argument("--results", default=str(RESULTS))
    args = parser.parse_args(argv)

    configs = {"gradient": "gradient", "gradient-fast": "gradient_fast"}  # label: registry strategy
    rows, gaps, speedups, warmed = [], {name: [] for name in configs}, [], set()
    for family, sizes in (("small", SMALL), ("medium", MEDIUM)):
        for size in sizes:
            for seed in range(args.seeds):
                problem = synthetic(size, seed)
                case = f"{family} {problem.size} seed {seed}"
                exact = solvers.solve("milp", problem, dataclasses.replace(EXACT, time_limit_s=args.milp_limit))
                if exact.status is not Status.OPTIMAL:
                    print(f"{case}: MILP not proven optimal ({exact.status.value}); skipped", flush=True)
                    continue
                milp_s = exact.build_seconds + exact.solve_seconds
                rows.append({"case": case, "impl": "milp-highs", "metric": "seconds", "value": milp_s, "unit": "s"})
                line = [f"{case}: MILP {milp_s:.1f} s"]
                for name, strategy in configs.items():
                    if (name, size) not in warmed:  # warm-up: compile once per shape (seeds share shapes)
                        run_solver(strategy, problem, seed=seed)
                        warmed.add((name, size))
                    objective, seconds, _ = run_solver(strategy, problem, seed=seed)
                    gap = 100 * (objective - exact.objective) / exact.objective
                    gaps[name].append(gap)
                    if family == "medium" and name == "gradient-fast":
                        speedups.append(milp_s / seconds)
                    rows += [{"case": case, "impl": name, "metric": "seconds", "value": seconds, "unit": "s"},
                             {"case": case, "impl": name, "metric": "gap_to_optimum_pct", "value": gap, "unit": "%"}]
                    line.append(f"{name} {gap:.3f}% in {seconds:.2f} s")
                for name in BASELINES:
                    b_objective, b_seconds, _ = run_solver(name, problem, seed=seed)
                    rows.append({"case": case, "impl": name, "metric": "gap_to_optimum_pct",
                                 "value": 100 * (b_objective - exact.objective) / exact.objective, "unit": "%"})
                print(", ".join(line), flush=True)

    # The targets are read on gradient-fast, the configuration for speed; gradient's own figures are in the
    # rows and the summary.
    fast = gaps["gradient-fast"]
    summary = {"median_gap_pct": statistics.median(fast) if fast else None, "max_gap_pct": max(fast) if fast else None,
               "medium_speedup_vs_milp": statistics.median(speedups) if speedups else None}
    for name, values in gaps.items():
        if values:
            summary[f"{name}_median_gap_pct"], summary[f"{name}_max_gap_pct"] = statistics.median(values), max(values)

    if not args.skip_large:
        start = time.perf_counter()
        problem = large_instance()
        case = f"large {problem.size}"
        rows.append({"case": case, "impl": "build", "metric": "seconds", "value": time.perf_counter() - start, "unit": "s"})
        # One run, compilation included. Too large for the augmented Lagrangian's restarts
        # (max_relaxed_shares), so this is prices + repair + local moves whatever the configuration.
        objective, seconds, result = run_solver("gradient", problem, GradientOptions(time_budget_s=args.large_budget))
        print(f"{case}: gradient {objective:.4g} in {seconds:.1f} s: {result.message}", flush=True)
        bounds = {"capacity-free": capacity_free_bound(problem), "lagrangian": result.dual_bound}
        lp = solvers.solve("milp", problem, MilpOptions(relax=True, time_limit_s=args.lp_limit))
        if np.isfinite(lp.dual_bound):
            bounds["lp-relaxation"] = lp.dual_bound
        rows.append({"case": case, "impl": "lp-relaxation", "metric": "status", "value": lp.status.value, "unit": ""})
        rows.append({"case": case, "impl": "lp-relaxation", "metric": "seconds",
                     "value": lp.build_seconds + lp.solve_seconds, "unit": "s"})
        best_bound = max(bounds.values())
        for name, value in bounds.items():
            rows.append({"case": case, "impl": name, "metric": "dual_bound", "value": value, "unit": "request-ms"})
        objectives = {"gradient": objective}
        rows.append({"case": case, "impl": "gradient", "metric": "seconds", "value": seconds, "unit": "s"})
        for name in BASELINES:
            objectives[name], b_seconds, _ = run_solver(name, problem)
            rows.append({"case": case, "impl": name, "metric": "seconds", "value": b_seconds, "unit": "s"})
        for name, value in objectives.items():
            rows.append({"case": case, "impl": name, "metric": "gap_to_bound_pct",
                         "value": 100 * (value - best_bound) / best_bound, "unit": "%"})
        summary.update({"large_seconds": seconds, "large_gap_to_bound_pct": 100 * (objective - best_bound) / best_bound})
    save_benchmark("optimizers", rows, summary, args.results)


if __name__ == "__main__":
    main()
