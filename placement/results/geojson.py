"""A run as a GeoJSON FeatureCollection (RFC 7946): WGS84 longitude, latitude and height in metres; lines cut at
the antimeridian (section 3.1.9). GeoJSON has no time axis, so every feature says its time in its properties
(ISO 8601 UTC). Features by `properties.kind`:

- `satellite`: a used satellite's track over the run, a MultiLineString; `times_utc` holds the time of each of
  its points, in order across the parts (a point on the antimeridian repeats its neighbour's time);
- `site`, `gateway`, `cloud`: Points (gateways and cloud regions of the run's ground segment, used or not);
- `host`: a host running models in an epoch (`models`, `requests`), a Point where it is at the epoch's start,
  with `epoch`, `epoch_start_utc`, `epoch_end_utc`;
- `link`: a line from a demand's site to the host serving it in an epoch (the host at the epoch's start),
  with `demand`, `model`, `requests`, `latency_ms`, `path` (the nodes between them, `RunView.links`) and the
  epoch's times.
"""

from __future__ import annotations

import numpy as np

from placement.results import layers
from placement.results.reader import RunView


def feature_collection(view: RunView, strategy: str, epoch: int | None = None) -> dict:
    """The GeoJSON of `strategy`'s placement (in `epoch`, or every epoch)."""
    placements, links = layers.chosen(view, strategy, epoch)
    features = [_track(view, s) for s in range(len(view.satellites))]
    features += [_point([lon, lat], {"kind": "site", "name": name, "country": country})
                 for name, country, lon, lat in zip(view.sites["name"], view.sites["country"],
                                                    view.sites["lon_deg"], view.sites["lat_deg"])]
    features += [_point([lon, lat], {"kind": kind, "name": name, "country": country})
                 for kind, name, country, lon, lat in zip(view.ground["kind"], view.ground["name"],
                                                          view.ground["country"], view.ground["lon_deg"],
                                                          view.ground["lat_deg"])]
    alt_m = layers.host_altitude_km(view, placements) * 1e3
    for (e, host), members in layers.hosts_of(placements).items():
        i = members[0]
        features.append(_point([placements["lon_deg"][i], placements["lat_deg"][i], alt_m[i]], {
            "kind": "host", "strategy": strategy, **_epoch(view, e), "host": host,
            "host_kind": str(placements["host_kind"][i]), "models": [str(placements["model"][j]) for j in members],
            "requests": [float(placements["requests"][j]) for j in members]}))
    for i, (site, host) in enumerate(zip(*layers.link_ends(view, links, placements))):
        lon = np.array([view.sites["lon_deg"][site], placements["lon_deg"][host]])
        lat = np.array([view.sites["lat_deg"][site], placements["lat_deg"][host]])
        features.append(_link(view, strategy, links, i, layers.antimeridian_parts(lon, lat, np.r_[0.0, alt_m[host]])))
    return {"type": "FeatureCollection", "generator": layers.EXPORT_SIGNATURE, "run": view.label, "strategy": strategy,
            "features": features}


def _epoch(view: RunView, epoch: int) -> dict:
    return {"epoch": int(epoch), "epoch_start_utc": view.utc(view.epoch_start_s[epoch]),
            "epoch_end_utc": view.utc(view.epoch_end_s[epoch])}


def _point(coordinates: list, properties: dict) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(c) for c in coordinates]},
            "properties": properties}


def _line(parts: list[tuple[np.ndarray, ...]]) -> dict:
    """A LineString, or a MultiLineString where the line crosses the antimeridian."""
    lines = [np.c_[part].tolist() for part in parts]
    if len(lines) == 1:
        return {"type": "LineString", "coordinates": lines[0]}
    return {"type": "MultiLineString", "coordinates": lines}


def _track(view: RunView, s: int) -> dict:
    parts = layers.antimeridian_parts(view.track_lon_deg[s], view.track_lat_deg[s], view.track_alt_km[s] * 1e3,
                                      view.track_time_s)
    times = [view.utc(t) for part in parts for t in np.round(part[3], 3)]
    geometry = _line([part[:3] for part in parts])
    if geometry["type"] == "LineString":  # one kind of geometry for every track
        geometry = {"type": "MultiLineString", "coordinates": [geometry["coordinates"]]}
    return {"type": "Feature", "geometry": geometry,
            "properties": {"kind": "satellite", "name": view.satellites[s], "times_utc": times}}


def _link(view: RunView, strategy: str, links: dict, i: int, parts: list) -> dict:
    return {"type": "Feature", "geometry": _line(parts),
            "properties": {"kind": "link", "strategy": strategy, **_epoch(view, int(links["epoch"][i])),
                           "demand": str(links["demand"][i]), "site": str(links["site"][i]),
                           "host": str(links["host"][i]), "host_kind": str(links["host_kind"][i]),
                           "model": str(links["model"][i]), "requests": float(links["requests"][i]),
                           "latency_ms": float(links["latency_ms"][i]), "path": str(links["path"][i])}}
