"""Derive the country grid that `placement.network.transit` looks sub-satellite points up in.

Run from anywhere (rerunnable; it overwrites the output):

    python experiments/curate_borders.py [--reference DIR] [--out FILE]

Input: Natural Earth 1:110m admin-0 country polygons (public domain), from
../shared/reference/naturalearth_110m/, read (with their ISO alpha-2 codes) by curate_ground_tables.py.

Output: placement/network/data/countries_110m.npz, a grid of CELL_DEG cells over the globe:
  code     str   [country + 1]  ISO 3166-1 alpha-2 codes; code[0] = "" (no country: sea, Antarctica's
                                 ice shelves and anything else outside every polygon)
  country  uint8 [lat, lon]     index into `code` of the polygon holding each cell's centre; row i
                                 covers latitudes -90 + i * CELL_DEG upwards, column j longitudes
                                 -180 + j * CELL_DEG eastwards
A cell is a country's when its centre is inside that country's rings by the even-odd rule (so holes
work), row by row: the rings' crossings of the row's latitude, sorted, bound the inside spans.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from curate_ground_tables import DEFAULT_REFERENCE, ROOT, load_countries

DEFAULT_OUT = ROOT / "placement" / "network" / "data" / "countries_110m.npz"
# 0.25 deg is about 28 km at the equator: finer than the 1:110m polygons' own accuracy near coasts,
# and far below the ~1,000 km a Starlink satellite covers in one 2-minute step.
CELL_DEG = 0.25


def inside_rows(rings, lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    """[lat, lon] bool: cell centres inside `rings` (tuples of lon and lat arrays) by the even-odd rule."""
    starts, ends = [], []
    for xs, ys in rings:
        starts.append(np.stack([xs, ys], axis=1))
        ends.append(np.stack([np.roll(xs, -1), np.roll(ys, -1)], axis=1))
    a, b = np.concatenate(starts), np.concatenate(ends)
    out = np.zeros((lat_deg.size, lon_deg.size), bool)
    for i, y in enumerate(lat_deg):
        straddle = (a[:, 1] > y) != (b[:, 1] > y)
        if not straddle.any():
            continue
        p, q = a[straddle], b[straddle]
        x = np.sort(p[:, 0] + (y - p[:, 1]) * (q[:, 0] - p[:, 0]) / (q[:, 1] - p[:, 1]))
        out[i] = np.searchsorted(x, lon_deg) % 2 == 1  # an odd number of crossings to the west: inside
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)
    countries = load_countries(args.reference)
    codes = [""] + sorted({c.iso2 for c in countries})
    if len(codes) > 255:
        raise ValueError(f"{len(codes)} codes do not fit in uint8")
    lat = -90.0 + CELL_DEG * (np.arange(round(180 / CELL_DEG)) + 0.5)
    lon = -180.0 + CELL_DEG * (np.arange(round(360 / CELL_DEG)) + 0.5)
    grid = np.zeros((lat.size, lon.size), np.uint8)
    for c in countries:
        xmin, ymin, xmax, ymax = c.bbox
        rows, cols = (lat >= ymin) & (lat <= ymax), (lon >= xmin) & (lon <= xmax)
        block = inside_rows(c.rings, lat[rows], lon[cols])
        sub = grid[np.ix_(rows, cols)]
        sub[block] = codes.index(c.iso2)
        grid[np.ix_(rows, cols)] = sub
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, code=np.array(codes), country=grid)
    print(f"{len(codes) - 1} countries, {int((grid > 0).sum())} of {grid.size} cells on land -> {args.out} "
          f"({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
