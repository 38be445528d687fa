"""Derive the land outlines that `placement.plots` draws under its world maps.

Run from anywhere (rerunnable; it overwrites the output):

    python experiments/curate_land.py [--reference DIR] [--out FILE]

Input: Natural Earth 1:110m admin-0 country polygons (public domain), from
../shared/reference/naturalearth_110m/, read by the shapefile reader of curate_ground_tables.py.

Output: placement/plots_data/land_110m.npz (about 30 kB), every polygon ring of every country:
  lon_lat_cdeg  int16 [point, 2]  longitude and latitude in hundredths of a degree (0.01 deg is
                                  about 1 km, far below the 1:110m scale's own accuracy)
  ring_start    int32 [ring + 1]  where each ring starts in lon_lat_cdeg (the last entry: its length)
Maps fill the rings in one colour, edges included, so the borders between countries vanish and
only the coasts show.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from curate_ground_tables import DEFAULT_REFERENCE, ROOT, SHAPEFILE, read_shp_polygons

DEFAULT_OUT = ROOT / "placement" / "plots_data" / "land_110m.npz"


def land_rings(reference: Path) -> list[np.ndarray]:
    """Every ring of every country, [n, 2] lon/lat degrees."""
    return [ring for record in read_shp_polygons((reference / SHAPEFILE).with_suffix(".shp")) for ring in record]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)
    rings = land_rings(args.reference)
    points = np.concatenate(rings)
    if np.abs(points[:, 0]).max() > 180 + 1e-6 or np.abs(points[:, 1]).max() > 90 + 1e-6:  # float noise at +-180
        raise ValueError(f"{args.reference / SHAPEFILE}.shp: coordinates outside lon/lat degrees")
    starts = np.concatenate([[0], np.cumsum([len(r) for r in rings])]).astype(np.int32)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, lon_lat_cdeg=np.round(points * 100).astype(np.int16), ring_start=starts)
    print(f"{len(rings)} rings, {len(points)} points -> {args.out} ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
