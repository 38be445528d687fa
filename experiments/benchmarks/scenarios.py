"""Every shipped scenario at full size: wall time, peak memory and the headline answer.

Each scenario is one `placement run` of a config in configs/ (with the `--set` a config's header names for
its second answer: sovereignty without jurisdictions, Kuiper instead of Starlink, a local tier, a battery
that never runs out), run as its own process into a scratch directory, so its peak resident memory is its
own (os.wait4). From the run's metrics.json it records the best strategy (lowest objective among the
feasible ones) with its mean and p95 latency, mean wait for an accelerator, SLO attainment, the shares
served in orbit, at gateways, in the cloud and at the site (a local tier), the accelerator energy per
request and the satellite-epochs that end with an empty battery (where the battery binds); the cloud-only
baseline's mean latency; and the SLO reach (the most any placement could serve within SLO).

    python experiments/benchmarks/scenarios.py [--only north-sea-rigs ...]

Writes experiments/results/scenarios.json (format: shared BENCHMARKS.md); summary keys max_wall_seconds
and max_peak_memory_gb (issue: every scenario within 15 minutes on this CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from placement.results import save_benchmark

ROOT = Path(__file__).resolve().parents[2]
# (scenario, config, --set overrides): every config whose header asks a question, and its second answer
# (jurisdictions lifted or extended to the paths, the other stack or filing, a local tier, the battery
# limit lifted)
SCENARIOS = [
    ("quickstart", "quickstart", []),
    ("kenya-hubs", "kenya-hubs", []),
    ("kenya-hubs-gateway", "kenya-hubs-gateway", []),
    ("kenya-hubs-catalog", "kenya-hubs-catalog", []),
    ("north-sea-rigs", "north-sea-rigs", []),
    ("north-sea-rigs-local", "north-sea-rigs", ["hosts.local_profile=local-orin-nano"]),
    ("brazil-agri-drones", "brazil-agri-drones", []),
    ("brazil-agri-drones-local", "brazil-agri-drones", ["hosts.local_profile=local-orin-nano"]),
    ("d2c-dead-zones", "d2c-dead-zones", []),
    ("d2c-dead-zones-phone", "d2c-dead-zones", ["hosts.local_profile=local-phone-8-elite",
                                                "hosts.local_devices_per_unit=300"]),
    ("remote-datacenter-backhaul", "remote-datacenter-backhaul", []),
    ("sovereignty", "sovereignty", []),
    ("sovereignty-open", "sovereignty", ["problem.enforce_jurisdictions=false"]),
    ("sovereignty-landing", "sovereignty", ["problem.transit=landing"]),
    ("sovereignty-overflight", "sovereignty", ["problem.transit=overflight"]),
    ("sovereignty-iris2", "sovereignty-iris2", []),
    ("sovereignty-iris2-open", "sovereignty-iris2", ["problem.enforce_jurisdictions=false"]),
    ("starlink-vs-kuiper", "starlink-vs-kuiper", []),
    ("starlink-vs-kuiper-aws-kuiper", "starlink-vs-kuiper", ["system=aws-kuiper"]),
    ("starlink-vs-kuiper-filings", "starlink-vs-kuiper-filings", []),
    ("starlink-vs-kuiper-filings-kuiper", "starlink-vs-kuiper-filings", ["constellation.builtin=kuiper"]),
    ("starlink-catalog", "starlink-catalog", []),
    ("evening-peak-eclipse", "evening-peak-eclipse", []),
    ("evening-peak-eclipse-no-battery-limit", "evening-peak-eclipse", ["hosts.satellite_battery_wh=1000"]),
]
HEADLINE = (("mean_latency_ms", "ms"), ("p95_latency_ms", "ms"), ("mean_waiting_ms", "ms"),
            ("slo_attainment", "share"), ("unserved_share", "share"), ("share_satellite", "share"),
            ("share_gateway", "share"), ("share_cloud", "share"), ("share_local", "share"),
            ("energy_j_per_request", "J"), ("battery_empty_host_epochs", "host-epochs"))


def run_scenario(config: str, overrides: list[str], out: Path) -> tuple[float, float, int]:
    """Run one config in its own process: (wall seconds, peak resident GB, exit status)."""
    command = [sys.executable, "-m", "placement.cli", "run", str(ROOT / "configs" / f"{config}.toml"),
               "--out", str(out)] + [a for o in overrides for a in ("--set", o)]
    start = time.perf_counter()
    with open(out.parent / f"{out.name}.log", "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 2**20, os.waitstatus_to_exitcode(status)


def headline_rows(case: str, metrics: dict) -> list[dict]:
    """The best feasible strategy's answer, the cloud-only baseline's mean and the SLO reach."""
    strategies = metrics["strategies"]
    feasible = {n: m for n, m in strategies.items() if m.get("feasible") and m.get("objective") is not None}
    best = min(feasible, key=lambda n: feasible[n]["objective"])
    rows = [{"case": case, "impl": best, "metric": key, "value": feasible[best].get(key), "unit": unit}
            for key, unit in HEADLINE]
    if "cloud_only" in strategies:
        rows.append({"case": case, "impl": "cloud_only", "metric": "mean_latency_ms",
                     "value": strategies["cloud_only"].get("mean_latency_ms"), "unit": "ms"})
    reach = (metrics.get("slo_reach") or {}).get("attainable_share")
    rows.append({"case": case, "impl": "any placement", "metric": "slo_reach", "value": reach, "unit": "share"})
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="scenario names (default: all)")
    parser.add_argument("--results", default=str(ROOT / "experiments" / "results"))
    args = parser.parse_args(argv)
    chosen = [s for s in SCENARIOS if not args.only or s[0] in args.only]
    if args.only and len(chosen) != len(args.only):
        parser.error(f"--only: known scenarios are {', '.join(s[0] for s in SCENARIOS)}")

    # With --only, the other scenarios' rows of the results file are kept (each row's case names it)
    path = Path(args.results) / "scenarios.json"
    names = {case for case, _, _ in chosen}
    kept = [r for r in json.loads(path.read_text())["rows"] if r["case"] not in names] if args.only and path.exists() else []
    rows, failed = list(kept), []
    walls = [r["value"] for r in kept if r["metric"] == "wall_seconds"]
    peaks = [r["value"] for r in kept if r["metric"] == "peak_memory_gb"]
    with tempfile.TemporaryDirectory() as scratch:
        for case, config, overrides in chosen:
            out = Path(scratch) / case
            wall_s, peak_gb, code = run_scenario(config, overrides, out)
            print(f"{case}: exit {code}, {wall_s:.0f} s, {peak_gb:.2f} GB", flush=True)
            walls.append(wall_s)
            peaks.append(peak_gb)
            rows += [{"case": case, "impl": "placement run", "metric": "wall_seconds", "value": wall_s, "unit": "s"},
                     {"case": case, "impl": "placement run", "metric": "peak_memory_gb", "value": peak_gb,
                      "unit": "GB"},
                     {"case": case, "impl": "placement run", "metric": "exit_status", "value": code, "unit": ""}]
            if code != 0:
                print((out.parent / f"{out.name}.log").read_text()[-3000:], file=sys.stderr)
                failed.append(case)
            else:
                rows += headline_rows(case, json.loads((out / "metrics.json").read_text()))
            # Saved after every scenario, so a long run that is stopped keeps what it measured
            save_benchmark("scenarios", rows, {"max_wall_seconds": max(walls), "max_peak_memory_gb": max(peaks),
                                               "failed_scenarios": len(failed)}, args.results)
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
