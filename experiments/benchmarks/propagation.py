"""Propagation throughput and accuracy: the sgp4 package's SatrecArray vs SGP4 in JAX.

Case: Starlink Gen1 (4,408 satellites, generated from the FCC filing) x 1,440 steps of 60 s.
In one run: propagations per second of SatrecArray (Vallado's C++, the reference), JAX float64
and JAX float32 (median of several runs after a warm-up; compile time reported apart), the
error of each JAX mode against SatrecArray, and a streamed week of 10,000 satellites at 60 s
through the full propagate job (peak memory of that process).

    python experiments/benchmarks/propagation.py [--repeats 5] [--skip-week]

Writes experiments/results/propagation.json (propagation.<gpu>.json on a GPU).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from sgp4.api import SatrecArray

from placement.constellation.walker import STARLINK_GEN1, constellation
from placement.propagation.sgp4 import Propagator, to_satrecs
from placement.propagation.timegrid import TimeGrid
from placement.results import save_benchmark

RESULTS = Path(__file__).resolve().parents[1] / "results"
EPOCH_JD, EPOCH_FR = 2461094.5, 0.0  # 2026-02-24 00:00 UTC


def median_seconds(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def week_of_10k_satellites(results_dir: Path) -> dict:
    """Run the propagate job on 10,000 satellites x 1 week at 60 s in a child process; its peak RSS."""
    script = textwrap.dedent(f"""
        import json, resource, sys, time
        from placement.config import config_from_dict
        from placement.constellation.walker import KUIPER, STARLINK_GEN1, WalkerShell, constellation
        from placement.constellation.tle import write_tle
        from placement import pipeline
        gen2a = WalkerShell("gen2-a", 525.0, 53.0, 28, 120, source="FCC Dec 2022 partial grant")
        elements = constellation(STARLINK_GEN1 + KUIPER + (gen2a,), {EPOCH_JD}, {EPOCH_FR}, bstar=3e-5)
        elements = elements.take(range(10000))
        write_tle("{results_dir}/sats.tle", elements)
        config = config_from_dict({{
            "constellation": {{"file": "{results_dir}/sats.tle"}},
            "time": {{"start": "2026-02-24T00:00:00Z", "step_s": 60.0, "duration_h": 168.0}},
            "propagation": {{"precision": "float32", "chunk_steps": 1440}},
        }})
        started = time.perf_counter()
        summary = pipeline.propagate(config, "{results_dir}/run", progress=lambda m: None)
        summary["wall_seconds"] = time.perf_counter() - started
        summary["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(json.dumps(summary))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-week", action="store_true", help="skip the 10,000-satellite week")
    args = parser.parse_args()

    elements = constellation(STARLINK_GEN1, EPOCH_JD, EPOCH_FR, bstar=3.0e-5)
    grid = TimeGrid(EPOCH_JD, EPOCH_FR, 60.0, 1440)
    n_props = len(elements) * grid.n_steps
    case = f"starlink-gen1 {len(elements)}x{grid.n_steps}"
    jd, fr = grid.jd_fr()
    rows, summary = [], {}

    satrec_array = SatrecArray(to_satrecs(elements))
    _, r_ref, v_ref = satrec_array.sgp4(jd, fr)  # warm-up, and the reference positions
    reference_s = median_seconds(lambda: satrec_array.sgp4(jd, fr), args.repeats)
    rows.append({"case": case, "impl": "satrecarray", "metric": "props_per_s", "value": n_props / reference_s, "unit": "1/s"})
    rows.append({"case": case, "impl": "satrecarray", "metric": "run_s", "value": reference_s, "unit": "s"})

    for dtype, impl in ((jnp.float64, "jax-f64"), (jnp.float32, "jax-f32")):
        propagator = Propagator.create(elements, dtype)
        started = time.perf_counter()
        ephemeris = jax.block_until_ready(propagator.grid(grid))
        first_s = time.perf_counter() - started
        run_s = median_seconds(lambda: jax.block_until_ready(propagator.grid(grid)), args.repeats)
        error_km = np.linalg.norm(np.asarray(ephemeris.r_km, np.float64) - r_ref, axis=-1)
        rows += [
            {"case": case, "impl": impl, "metric": "props_per_s", "value": n_props / run_s, "unit": "1/s"},
            {"case": case, "impl": impl, "metric": "run_s", "value": run_s, "unit": "s"},
            {"case": case, "impl": impl, "metric": "compile_s", "value": max(first_s - run_s, 0.0), "unit": "s"},
            {"case": case, "impl": impl, "metric": "max_error_km", "value": float(error_km.max()), "unit": "km"},
            {"case": case, "impl": impl, "metric": "p99_error_km", "value": float(np.percentile(error_km, 99)), "unit": "km"},
        ]
        tag = impl.split("-")[1]
        summary[f"{tag}_vs_satrecarray"] = reference_s / run_s
        if tag == "f64":
            summary["f64_max_error_km"] = float(error_km.max())
        else:
            summary["f32_max_error_m"] = float(error_km.max() * 1000.0)
            summary["f32_p99_error_m"] = float(np.percentile(error_km, 99) * 1000.0)

    if not args.skip_week:
        with tempfile.TemporaryDirectory() as tmp:
            week = week_of_10k_satellites(Path(tmp))
        week_case = f"10000 sats x {week['time_steps']} steps (1 week, 60 s), streamed"
        rows += [
            {"case": week_case, "impl": "jax-f32 job", "metric": "peak_rss_gb", "value": week["peak_rss_gb"], "unit": "GB"},
            {"case": week_case, "impl": "jax-f32 job", "metric": "wall_s", "value": week["wall_seconds"], "unit": "s"},
            {"case": week_case, "impl": "jax-f32 job", "metric": "props_per_s",
             "value": week["propagations_per_second"], "unit": "1/s"},
        ]
        summary["week_10k_peak_rss_gb"] = week["peak_rss_gb"]

    summary["backend"] = jax.default_backend()
    save_benchmark("propagation", rows, summary, RESULTS)


if __name__ == "__main__":
    main()
