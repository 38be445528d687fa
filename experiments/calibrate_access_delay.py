"""Calibrate the fixed delay of a radio hop so that modelled round trips match Starlink's published median.

Starlink reports a median peak-hour round trip of 25.7 ms from the user's router to the Internet across the
US in June 2025 (facts: "US median peak-hour latency (router->internet RTT)", starlink.com/updates/
network-update). Light over the path is about a third of that; the rest is access scheduling, framing and
processing, which the network model charges as a fixed delay per radio hop (network.tensors.RADIO_HOP_MS)
and per laser hop (LASER_HOP_MS, an assumption: on-board switching of tens of microseconds).

The fit: the US cities among the 1,000 largest (inside the United States' Natural Earth polygon), each
reaching its nearest Starlink point of presence (up to its access satellite, lasers, down to a gateway, fiber
to the PoP; the shipped gateway and PoP tables, Starlink Gen1, access by the highest satellite) every 30
minutes of a day. A round trip has four radio hops (up and down to the gateway, and back), so with the radio
delay at zero the median round trip m0 fixes it: RADIO_HOP_MS = (25.7 - m0) / 4; every path has the same
number of radio hops, so the delay moves every round trip by exactly that and the fitted median lands on
25.7 ms. Needs ../shared/reference for the country polygons; writes experiments/results/access_delay.json
(the cities used, m0, the fitted delay, and the median and quartiles the fitted model gives).

    python experiments/calibrate_access_delay.py
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import jax
import numpy as np

from placement.constellation.walker import STARLINK_GEN1, constellation
from placement.network import ground as tables
from placement.network.isl import grid_shells
from placement.network.tensors import LASER_HOP_MS, Ground, NetworkSpec, network_steps
from placement.propagation.orbits import propagate_orbits
from placement.propagation.timegrid import TimeGrid

ROOT = Path(__file__).resolve().parents[1]
CITIES = ROOT / "experiments" / "benchmarks" / "data" / "cities_top1000.csv"
REFERENCE = ROOT.parent / "shared" / "reference"
OUT = ROOT / "experiments" / "results" / "access_delay.json"
MEASURED_MEDIAN_RTT_MS = 25.7  # Starlink, US, June 2025 (module docstring)
RADIO_HOPS_PER_ROUND_TRIP = 4


def us_cities() -> tuple[list[str], np.ndarray, np.ndarray]:
    spec = importlib.util.spec_from_file_location("curate", ROOT / "experiments" / "curate_ground_tables.py")
    curate = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = curate
    spec.loader.exec_module(curate)
    countries = curate.load_countries(REFERENCE)
    rows = [line.split(",") for line in CITIES.read_text().splitlines()]
    us = [(r[1], float(r[2]), float(r[3])) for r in rows
          if curate.locate(float(r[2]), float(r[3]), countries)[0] == "US"]
    names, lat, lon = zip(*us)
    return list(names), np.array(lat), np.array(lon)


def pop_round_trips_ms(lat: np.ndarray, lon: np.ndarray, spec: NetworkSpec) -> np.ndarray:
    """[step, city] round trip to the nearest point of presence: the PoPs stand in for the cloud regions, so
    the nearest 'region' is the nearest PoP itself (no fiber beyond it)."""
    sites = tables.demand_sites(lat, lon)
    pops = tables.pops()
    ground = Ground.from_nodes(sites, tables.gateways(), pops, pops)
    grid = TimeGrid(2461095.5, 0.0, 1800.0, 48)  # 2026-02-25, every 30 minutes
    r_ecef_km = propagate_orbits(constellation(STARLINK_GEN1, 2461094.5, 0.0), grid, np.float64).r_ecef_km
    steps = [out for _, out in network_steps(r_ecef_km, grid_shells(STARLINK_GEN1), ground, spec, 48, 1800.0)]
    return 2.0 * np.concatenate([s.cloud_ms.min(axis=2) for s in steps])


def main() -> int:
    jax.config.update("jax_enable_x64", True)
    names, lat, lon = us_cities()
    light = pop_round_trips_ms(lat, lon, NetworkSpec(radio_hop_ms=0.0, laser_hop_ms=LASER_HOP_MS))
    m0 = float(np.median(light[np.isfinite(light)]))
    radio_hop_ms = (MEASURED_MEDIAN_RTT_MS - m0) / RADIO_HOPS_PER_ROUND_TRIP
    fitted = pop_round_trips_ms(lat, lon, NetworkSpec(radio_hop_ms=radio_hop_ms, laser_hop_ms=LASER_HOP_MS))
    q1, median, q3 = np.percentile(fitted[np.isfinite(fitted)], [25, 50, 75])
    record = {"cities": [{"name": n, "lat": a, "lon": b} for n, a, b in zip(names, lat, lon)],
              "measured_median_rtt_ms": MEASURED_MEDIAN_RTT_MS, "laser_hop_ms": LASER_HOP_MS,
              "median_rtt_without_radio_delay_ms": m0, "radio_hop_ms": radio_hop_ms,
              "fitted_rtt_ms": {"q1": q1, "median": median, "q3": q3},
              "unreachable_share": float(np.mean(~np.isfinite(fitted))),
              "command": "python experiments/calibrate_access_delay.py"}
    OUT.write_text(json.dumps(record, indent=2) + "\n")
    print(f"{len(names)} US cities; light-time median round trip {m0:.2f} ms; radio hop {radio_hop_ms:.3f} ms; "
          f"fitted round trips q1 {q1:.2f}, median {median:.2f}, q3 {q3:.2f} ms -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

