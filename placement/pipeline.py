"""Jobs that run a config end to end and write a run directory.

`propagate(config, out_dir)`: constellation -> SGP4 over the time grid, streamed in chunks ->
Earth-fixed geodetic positions and sunlight -> arrays on disk (.npy, [sat, time, ...]) plus a
summary. Arrays are written chunk by chunk into memory-mapped files, so a horizon larger than
memory (10,000 satellites for a week) needs only one chunk in memory at a time.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from placement.config import Config, config_to_dict
from placement.constellation import Elements
from placement.constellation import walker
from placement.constellation.tle import read_elements, write_tle
from placement.errors import InputError
from placement.propagation.frames import earth_rotation, ecef_to_geodetic, teme_to_ecef
from placement.propagation.sgp4 import Propagator
from placement.propagation.sun import shadow_fraction, sun_position_km
from placement.propagation.timegrid import TimeGrid, parse_utc
from placement.results import environment, run_directory, write_json

Progress = Callable[[str], None]


def _stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_constellation(config: Config) -> tuple[Elements, int]:
    """The configured satellites and how many malformed records were skipped."""
    c = config.constellation
    rejected = 0
    if c.builtin is not None:
        shells = walker.builtin(c.builtin)
        if c.shells:
            bad = [s for s in c.shells if not 1 <= s <= len(shells)]
            if bad:
                raise InputError(f"shell {bad[0]} does not exist", source=config.source, field="constellation.shells",
                                 expected=f"shell numbers 1..{len(shells)} of {c.builtin}")
            shells = tuple(shells[s - 1] for s in c.shells)
        epoch_jd, epoch_fr = parse_utc(c.epoch, field="constellation.epoch", source=config.source)
        elements = walker.constellation(shells, epoch_jd, epoch_fr, bstar=c.bstar)
    else:
        read = read_elements(config.resolve_path(c.file), skip_bad=c.skip_bad_records)
        elements, rejected = read.elements, len(read.rejected)
    if c.max_satellites is not None and c.max_satellites < len(elements):
        keep = np.unique(np.linspace(0, len(elements) - 1, c.max_satellites).round().astype(int))
        elements = elements.take(keep)
    return elements, rejected


def time_grid(config: Config) -> TimeGrid:
    t = config.time
    start_jd, start_fr = parse_utc(t.start, field="time.start", source=config.source)
    n_steps = int(round(t.duration_h * 3600.0 / t.step_s)) + 1
    return TimeGrid(start_jd, start_fr, t.step_s, n_steps)


@jax.jit
def _earth_fixed_and_sunlight(r_teme_km, cos_gmst, sin_gmst, sun_km):
    """Geodetic latitude/longitude (deg), altitude (km) and visible solar-disc fraction [sat, time]."""
    lat_rad, lon_rad, alt_km = ecef_to_geodetic(teme_to_ecef(r_teme_km, cos_gmst, sin_gmst))
    # The Sun is given in the mean equator of date, which is within about an arcminute of TEME.
    return jnp.rad2deg(lat_rad), jnp.rad2deg(lon_rad), alt_km, shadow_fraction(r_teme_km, sun_km)


def propagate(config: Config, out_dir: str | Path, *, overwrite: bool = False,
              progress: Progress = _stderr_progress) -> dict:
    """Run the propagation job of `config` into `out_dir`; returns the summary it writes."""
    elements, rejected = load_constellation(config)
    grid = time_grid(config)
    dtype = np.dtype(config.propagation.precision)
    n_sat, n_time = len(elements), grid.n_steps
    progress(f"propagate: {n_sat} satellites x {n_time} steps of {grid.step_s:g} s, {dtype.name}")

    with run_directory(out_dir, overwrite=overwrite) as staging:
        arrays = {"r_teme_km": ((n_sat, n_time, 3), dtype), "error": ((n_sat, n_time), np.int8)}
        if config.output.velocity:
            arrays["v_teme_km_s"] = ((n_sat, n_time, 3), dtype)
        if config.output.geodetic:
            arrays.update({k: ((n_sat, n_time), dtype) for k in ("lat_deg", "lon_deg", "alt_km")})
        if config.output.sunlit:
            arrays["sunlit_fraction"] = ((n_sat, n_time), dtype)
        out = {name: np.lib.format.open_memmap(staging / f"{name}.npy", mode="w+", dtype=d, shape=s)
               for name, (s, d) in arrays.items()}

        started = time.perf_counter()
        propagator = Propagator.create(elements, dtype)
        propagation_s = 0.0
        first = 0
        chunks = propagator.chunks(grid, config.propagation.chunk_steps)
        while True:
            chunk_started = time.perf_counter()
            item = next(chunks, None)
            if item is None:
                break
            sub, ephemeris = jax.block_until_ready(item)
            propagation_s += time.perf_counter() - chunk_started
            window = slice(first, first + sub.n_steps)
            out["r_teme_km"][:, window] = np.asarray(ephemeris.r_km)
            out["error"][:, window] = np.asarray(ephemeris.error)
            if "v_teme_km_s" in out:
                out["v_teme_km_s"][:, window] = np.asarray(ephemeris.v_km_s)
            if config.output.geodetic or config.output.sunlit:
                jd, fr = sub.jd_fr()
                cos_gmst, sin_gmst = earth_rotation(jd, fr)
                derived = _earth_fixed_and_sunlight(ephemeris.r_km, cos_gmst, sin_gmst, sun_position_km(jd, fr))
                for name, value in zip(("lat_deg", "lon_deg", "alt_km", "sunlit_fraction"), derived):
                    if name in out:
                        out[name][:, window] = np.asarray(value)
            first += sub.n_steps
            progress(f"propagate: {first}/{n_time} steps")
        for array in out.values():
            array.flush()
        total_s = time.perf_counter() - started

        jd, fr = grid.jd_fr()
        np.savez(staging / "time.npz", jd=jd, fr=fr, minutes=grid.minutes())
        write_tle(staging / "satellites.tle", elements)
        error = out["error"]
        summary = {
            "satellites": n_sat,
            "time_steps": n_time,
            "step_s": grid.step_s,
            "precision": dtype.name,
            "rejected_records": rejected,
            "deep_space_satellites": int(propagator.deep_space.sum()),
            "error_counts": {int(code): int(count) for code, count in zip(*np.unique(error, return_counts=True))},
            "propagation_seconds": propagation_s,  # including the one JIT compilation
            "propagations_per_second": n_sat * n_time / propagation_s if propagation_s > 0 else None,
            "job_seconds": total_s,
        }
        if "alt_km" in out:
            valid = error[:] == 0
            alt = out["alt_km"][:][valid]
            summary["altitude_km"] = {"min": float(alt.min()), "mean": float(alt.mean()), "max": float(alt.max())}
        if "sunlit_fraction" in out:
            summary["eclipse_fraction"] = float(np.mean(out["sunlit_fraction"][:][error[:] == 0] < 0.5))
        write_json(staging / "config.json", config_to_dict(config))
        write_json(staging / "environment.json", environment())
        write_json(staging / "summary.json", summary)
        del out  # close the memory maps before the directory is renamed into place
    return summary

