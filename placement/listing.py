"""`placement list KIND`: what the package ships for a config to name, each row with where its figures come from.

Models and host profiles are the catalog's (`placement/problem/data/models.csv`, `hosts.csv`), constellations the
built-in Walker shells (`placement.constellation.walker`, each with its filing), systems the operators' stacks
(`placement/systems/data/*.toml`, each with its sources), gateways, points of presence and
cloud regions the ground tables (`placement/network/data/*.csv`). Every row ends with its `source` column, as
its table states it. Rows are plain data, written as an aligned table, CSV or JSON.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Callable

from placement.errors import InputError

FORMATS = ("table", "csv", "json")


# The tables are read, and what reads them imported, when a kind is listed: the command line takes the names
# below for its choices without loading numpy.
def _models() -> list[dict]:
    from placement.problem.catalog import models

    columns = ("name", "task", "params", "flops_per_inference", "memory_bytes", "request_bytes", "response_bytes",
               "accuracy", "accuracy_metric", "precision", "source")
    return [{c: getattr(m, c) for c in columns} for m in models()]


def _profiles() -> list[dict]:
    from placement.problem.catalog import host_profiles

    columns = ("profile", "kind", "accelerator", "accelerators", "service_flops_s", "peak_flops_s", "memory_bytes",
               "power_w", "flops_per_joule", "source")
    return [{c: getattr(h, c) for c in columns} for h in host_profiles().values()]


def _constellations() -> list[dict]:
    from placement.constellation.walker import BUILTIN

    return [{"constellation": name, "shell": s.name, "altitude_km": s.altitude_km,
             "inclination_deg": s.inclination_deg, "planes": s.planes, "sats_per_plane": s.sats_per_plane,
             "satellites": s.total_sats, "phasing": s.phasing, "raan0_deg": s.raan0_deg,
             "raan_spread_deg": s.raan_spread_deg, "source": s.source}
            for name, shells in BUILTIN.items() for s in shells]


def _systems() -> list[dict]:
    from placement import systems

    rows = []
    for name in systems.names():
        about = systems.about(name)
        values = {}
        for part, _ in systems.layers(name):  # base first: a variant's values win
            for section, table in part.items():
                values.update({f"{section}.{k}": v for k, v in table.items()} if isinstance(table, dict) else {})
        constellation = values.get("constellation.builtin") or Path(values.get("constellation.file", "")).name
        rows.append({"system": name, "title": about.get("title", ""), "as_of": about.get("as_of", ""),
                     "constellation": constellation, "satellites": values.get("constellation.satellites"),
                     "ground": values.get("network.ground_tables", ""), "cloud": values.get("network.cloud_provider", ""),
                     "registry": values.get("hosts.satellite_jurisdiction", ""),
                     "source": "; ".join(about.get("sources", []))})
    return rows


def _ground(filename: str, columns: dict[str, Callable[[str], object]]) -> Callable[[], list[dict]]:
    """Rows of a shipped ground table: `columns` maps each column kept to how its text is read."""
    def rows() -> list[dict]:
        from placement.network.ground import load_table

        return [{c: read(row[c]) for c, read in columns.items()} for row in load_table(filename)]
    return rows


_PLACE = {"lat_deg": float, "lon_deg": float, "country": str}
KINDS: dict[str, tuple[str, Callable[[], list[dict]]]] = {
    "models": ("the catalog's models (workloads[].model)", _models),
    "profiles": ("host hardware profiles (hosts.*_profile)", _profiles),
    "constellations": ("built-in Walker shells (constellation.builtin, constellation.shells)", _constellations),
    "systems": ("operators' systems (system): constellation, ground, cloud, links, registry; assumptions in "
                "placement/systems/data/*.toml", _systems),
    "gateways": ("Starlink gateway sites", _ground("gateways.csv", {"name": str, **_PLACE, "antennas": int,
                                                                    "bands": str, "source": str})),
    "pops": ("Starlink points of presence (network.extra_gateways[].pop)",
             _ground("pops.csv", {"name": str, **_PLACE, "source": str})),
    "regions": ("cloud regions (network.cloud_provider)",
                _ground("cloud_regions.csv", {"provider": str, "name": str, **_PLACE, "source": str})),
}


def rows(kind: str) -> list[dict]:
    """The rows of one kind (a key of KINDS)."""
    if kind not in KINDS:
        raise InputError(f"unknown kind {kind!r}", field="KIND", expected="one of " + ", ".join(KINDS))
    return KINDS[kind][1]()


def render(table: list[dict], fmt: str) -> str:
    """Rows as an aligned table, CSV (a header, then one line per row) or a JSON array of objects."""
    columns = list(table[0]) if table else []
    if fmt == "table":
        from placement.results import format_table


        return format_table(table, columns)
    if fmt == "csv":
        text = io.StringIO()
        writer = csv.DictWriter(text, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows({c: "" if row[c] is None else row[c] for c in columns} for row in table)
        return text.getvalue().rstrip("\n")
    if fmt == "json":
        return json.dumps(table, indent=2)
    raise InputError(f"unknown format {fmt!r}", field="--format", expected="one of " + ", ".join(FORMATS))

