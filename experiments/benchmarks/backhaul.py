"""How much of a remote AI cluster's traffic the constellation carries, at what latency, through which gateways,
and what one more gateway beside the cluster changes (issue 15).

configs/remote-datacenter-backhaul.toml (Starlink Gen1, the Lake Turkana cluster, 13 East African cities'
inference traffic and the cluster's 10 Gbps bulk flow to two Azure regions, every shared link bounded) is
solved by the MILP as it is ("as configured") and with one more gateway at Loiyangalani beside the cluster,
handing traffic to fiber at a point of presence in Nairobi ("gateway at the cluster"; the antennas and fiber
are assumptions: one antenna, as for every configured gateway, placement/problem/shared_links.py). Each
placement is scored by the evaluator; the bulk figures are placement/evaluation/bulk.py's.

    python experiments/benchmarks/backhaul.py [--duration-h 1.0]

Writes experiments/results/backhaul.json (format: shared BENCHMARKS.md); summary: offered and carried Gbps,
the carried chunks' mean latency, and the inference requests' mean latency, in each case.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from placement import pipeline, solvers
from placement.config import GatewayConfig, PopConfig, load_config
from placement.evaluation import evaluate
from placement.evaluation.bulk import bulk_demands, bulk_report
from placement.results import save_benchmark
from placement.scenario import resolve

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "remote-datacenter-backhaul.toml"
# The extra gateway: beside the cluster at Loiyangalani (kenya_towns.csv, GeoNames, as the config's cluster),
# reaching fiber at Nairobi (kenya_towns.csv), an assumption as in configs/kenya-hubs-gateway.toml.
NAIROBI_POP = PopConfig(name="NBO - Nairobi", lat_deg=-1.28333, lon_deg=36.81667, country="KE")
CLUSTER_GATEWAY = GatewayConfig(name="Loiyangalani, KE", lat_deg=2.74439, lon_deg=36.7146, country="KE",
                                pop="NBO - Nairobi")


def cases(duration_h: float) -> dict:
    config = load_config(CONFIG, ["solver.strategies=['milp']", "solver.certify=false",
                                  f"time.duration_h={duration_h}"])
    network = config.network
    extra = dataclasses.replace(network, extra_pops=network.extra_pops + [NAIROBI_POP],
                                extra_gateways=network.extra_gateways + [CLUSTER_GATEWAY])
    return {"as configured": config, "gateway at the cluster": dataclasses.replace(config, network=extra)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=str(ROOT / "experiments" / "results"))
    parser.add_argument("--duration-h", type=float, default=1.0, help="horizon, hours (the config's: 1)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows, summary = [], {}
    for case, config in cases(args.duration_h).items():
        case_started = time.perf_counter()
        scenario = resolve(config)
        problem = pipeline.placement_problem(scenario)
        built_s = time.perf_counter() - case_started
        result = solvers.solve("milp", problem, scenario.options("milp"), seed=scenario.seed)
        evaluation = evaluate(problem, result.solution)
        bulk = bulk_report(problem, result.solution, evaluation)
        inference = ~bulk_demands(problem)
        served = evaluation.demand_unserved_share[inference] < 1.0
        requests = problem.requests()[:, inference].sum(axis=0)
        inference_ms = float((evaluation.demand_mean_latency_ms[inference][served] * requests[served]).sum()
                             / requests[served].sum())
        figures = {"offered_gbps": ("Gbps", bulk["offered_gbps"]), "carried_gbps": ("Gbps", bulk["carried_gbps"]),
                   "carried_share": ("share", bulk["carried_share"]),
                   "steady_carried_gbps": ("Gbps", bulk["steady_carried_gbps"]),
                   "worst_step_utilization": ("share", bulk["crossed_links_worst_step_utilization_max"]),
                   "bulk_mean_latency_ms": ("ms", bulk["mean_latency_ms"]),
                   "inference_mean_latency_ms": ("ms", inference_ms),
                   "inference_unserved_share": ("share", float(
                       (evaluation.demand_unserved_share[inference] * requests).sum() / requests.sum())),
                   "feasible": ("", evaluation.feasible), "milp_status": ("", result.status.value),
                   "milp_gap": ("share", result.gap), "build_seconds": ("s", built_s),
                   "solve_seconds": ("s", result.solve_seconds)}
        rows += [{"case": case, "impl": "milp", "metric": m, "value": v, "unit": u} for m, (u, v) in figures.items()]
        rows += [{"case": case, "impl": "milp", "metric": f"destination_gbps {name}", "value": v, "unit": "Gbps"}
                 for name, v in bulk["destinations_gbps"].items()]
        rows += [{"case": case, "impl": "milp", "metric": f"gateway_gbps {name}", "value": v, "unit": "Gbps"}
                 for name, v in bulk["gateways_gbps"].items()]
        rows += [{"case": case, "impl": "milp", "metric": f"binding {link['kind']} {link['name']}",
                  "value": link["utilization"], "unit": "share"} for link in bulk["binding_links"]]
        summary[case] = {m: v for m, (_, v) in figures.items() if m.endswith(("gbps", "share", "ms", "utilization"))}
        print(f"{case}: {time.perf_counter() - case_started:.0f} s\n{json.dumps(bulk, indent=1)}", flush=True)
    summary["seconds"] = time.perf_counter() - started
    save_benchmark("backhaul", rows, summary, args.results)


if __name__ == "__main__":
    main()
