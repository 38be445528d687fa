"""A run as CZML, the time-dynamic scene format of CesiumJS (https://github.com/AnalyticalGraphicsInc/czml-writer/
wiki/CZML-Structure): a document packet with the run's clock, then one packet per object.

- `satellite/NAME`: every satellite some strategy uses, its WGS84 position sampled at the tracks' steps
  (Lagrange interpolation between them), over the tracks' time span;
- `site/NAME`, `gateway/NAME`, `cloud/NAME` (and `local/NAME` for a host at a site): fixed positions;
- `copy/EPOCH/HOST`: a host running models in an epoch, available over that epoch only, at the host's position
  (a satellite's moves with it), labelled with its models, coloured by the first;
- `link/EPOCH/DEMAND/HOST`: a line from a demand's site to a host serving it, available over that epoch,
  coloured by the model, with the nodes between them in `properties.path` (`RunView.links`).

Heights are metres above the WGS84 ellipsoid, as CZML's `cartographicDegrees` asks.
"""

from __future__ import annotations

import numpy as np

from placement.results import layers
from placement.results.reader import RunView

CLOCK_MULTIPLIER = 60.0  # one minute of the run per second of viewing


def packets(view: RunView, strategy: str, epoch: int | None = None) -> list[dict]:
    """The CZML packets of `strategy`'s placement (in `epoch`, or every epoch)."""
    placements, links = layers.chosen(view, strategy, epoch)
    colors = layers.model_colors(view)
    span = f"{view.utc(view.track_time_s[0] if len(view.track_time_s) else 0.0)}/" \
           f"{view.utc(view.track_time_s[-1] if len(view.track_time_s) else view.epoch_end_s[-1])}"
    out = [{"id": "document", "name": f"{layers.EXPORT_SIGNATURE}: {view.label}, {strategy}", "version": "1.0",
            "clock": {"interval": span, "currentTime": span.split("/")[0], "multiplier": CLOCK_MULTIPLIER,
                      "range": "LOOP_STOP", "step": "SYSTEM_CLOCK_MULTIPLIER"}}]
    out += _satellites(view, span)
    out += [_fixed("site", name, lon, lat, layers.SITE_RGB, 8, label=True)
            for name, lon, lat in zip(view.sites["name"], view.sites["lon_deg"], view.sites["lat_deg"])]
    out += [_fixed(kind, name, lon, lat, layers.KIND_RGB[kind], 5)
            for kind, name, lon, lat in zip(view.ground["kind"], view.ground["name"], view.ground["lon_deg"],
                                            view.ground["lat_deg"])]
    local = placements["host_kind"] == "local"
    out += [_fixed("local", name, lon, lat, layers.KIND_RGB["local"], 6)
            for name, lon, lat in dict.fromkeys(zip(placements["host"][local], placements["lon_deg"][local],
                                                    placements["lat_deg"][local]))]
    for (e, host), members in layers.hosts_of(placements).items():
        out.append(_copy(view, placements, e, host, members, colors))
    for i in range(len(links["host"])):
        out.append(_link(view, links, i, colors))
    return out


def _interval(view: RunView, epoch: int) -> str:
    return f"{view.utc(view.epoch_start_s[epoch])}/{view.utc(view.epoch_end_s[epoch])}"


def _rgba(rgb: tuple[int, int, int], alpha: int = 255) -> dict:
    return {"rgba": [*rgb, alpha]}


def _satellites(view: RunView, span: str) -> list[dict]:
    out = []
    for s, name in enumerate(view.satellites):
        samples = np.c_[view.track_time_s, view.track_lon_deg[s], view.track_lat_deg[s], view.track_alt_km[s] * 1e3]
        samples = samples[np.isfinite(samples).all(axis=1)]  # SGP4 failures: no position there
        out.append({"id": layers.object_id("satellite", name), "name": name, "availability": span,
                    "position": {"epoch": view.utc(0.0), "interpolationAlgorithm": "LAGRANGE",
                                 "interpolationDegree": 5, "cartographicDegrees": samples.ravel().tolist()},
                    "point": {"pixelSize": 4, "color": _rgba(layers.SATELLITE_IDLE_RGB, 200)}})
    return out


def _fixed(kind: str, name: str, lon: float, lat: float, rgb: tuple[int, int, int], size: float,
           label: bool = False) -> dict:
    packet = {"id": layers.object_id(kind, name), "name": name, "properties": {"kind": kind},
              "position": {"cartographicDegrees": [float(lon), float(lat), 0.0]},
              "point": {"pixelSize": size, "color": _rgba(rgb), "outlineWidth": 1,
                        "outlineColor": _rgba((0, 0, 0))}}
    if label:
        packet["label"] = {"text": name, "font": "11pt sans-serif", "pixelOffset": {"cartesian2": [8, -8]},
                           "fillColor": _rgba(rgb)}
    return packet


def _host_position(kind: str, name: str, lon: float, lat: float) -> dict:
    """A satellite's position follows its packet's; a ground host stays where it is."""
    if kind == "satellite":
        return {"reference": f"{layers.object_id('satellite', name)}#position"}
    return {"cartographicDegrees": [float(lon), float(lat), 0.0]}


def _copy(view: RunView, placements: dict, epoch: int, host: str, members: list[int], colors: dict) -> dict:
    first = members[0]
    kind = str(placements["host_kind"][first])
    models = [str(placements["model"][i]) for i in members]
    return {"id": f"copy/{epoch}/{host}", "name": f"{host}: {', '.join(models)}",
            "availability": _interval(view, epoch),
            "properties": {"epoch": epoch, "host": host, "host_kind": kind, "models": models,
                           "requests": [float(placements["requests"][i]) for i in members]},
            "position": _host_position(kind, host, placements["lon_deg"][first], placements["lat_deg"][first]),
            "point": {"pixelSize": 9, "color": _rgba(colors[models[0]]), "outlineWidth": 1,
                      "outlineColor": _rgba((255, 255, 255))},
            "label": {"text": ", ".join(models), "font": "10pt sans-serif", "pixelOffset": {"cartesian2": [10, 0]},
                      "fillColor": _rgba(colors[models[0]])}}


def _link(view: RunView, links: dict, i: int, colors: dict) -> dict:
    epoch, host, kind = int(links["epoch"][i]), str(links["host"][i]), str(links["host_kind"][i])
    model = str(links["model"][i])
    ends = [f"{layers.object_id('site', str(links['site'][i]))}#position",
            f"copy/{epoch}/{host}#position"]
    return {"id": f"link/{epoch}/{links['demand'][i]}/{host}", "name": f"{links['demand'][i]} -> {host}",
            "availability": _interval(view, epoch),
            "properties": {"epoch": epoch, "demand": str(links["demand"][i]), "host": host, "host_kind": kind,
                           "model": model, "requests": float(links["requests"][i]),
                           "latency_ms": float(links["latency_ms"][i]), "path": str(links["path"][i])},
            "polyline": {"positions": {"references": ends}, "width": 1.5, "arcType": "NONE",
                         "material": {"solidColor": {"color": _rgba(colors[model], 200)}}}}
