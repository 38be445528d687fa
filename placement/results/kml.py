"""A run as KML 2.2 (OGC 07-147r2), only elements of the OGC schema (no Google extensions), so that it validates
against ogckml22.xsd and opens in any KML client. Time is KML's TimeSpan; heights are metres, absolute.

The Document holds a Style per model and object kind, then Folders:
- "Satellites": one Folder per used satellite, a Placemark per track step valid until the next step
  (unnamed: the folder names the satellite, and a day of steps is large enough);
- "Demand sites" and "Gateways and cloud regions": fixed Placemarks;
- "Hosts": per epoch, a Placemark per host running models then (its position at the epoch's start, the
  models in its name and in ExtendedData), valid over the epoch;
- "Links": per epoch, a LineString from each demand's site to the host serving it, valid over the epoch (the
  nodes between them in ExtendedData's `path`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np

from placement.results import layers
from placement.results.reader import RunView

KML_NS = "http://www.opengis.net/kml/2.2"


def document(view: RunView, strategy: str, epoch: int | None = None) -> str:
    """The KML text of `strategy`'s placement (in `epoch`, or every epoch)."""
    placements, links = layers.chosen(view, strategy, epoch)
    colors = layers.model_colors(view)
    kml = ET.Element("kml", xmlns=KML_NS)
    doc = _sub(kml, "Document")
    _sub(doc, "name", f"{layers.EXPORT_SIGNATURE}: {view.label}, {strategy}")
    _sub(doc, "description", f"Where {strategy} runs each model, per placement epoch of {view.label} "
                             f"(from {view.utc(view.epoch_start_s[0])} to {view.utc(view.epoch_end_s[-1])}).")
    styles = {f"model-{i}": rgb for i, rgb in enumerate(colors.values())} | {
        "satellite": layers.SATELLITE_IDLE_RGB, "site": layers.SITE_RGB,
        **{kind: layers.KIND_RGB[kind] for kind in ("gateway", "cloud", "local")}}
    for name, rgb in styles.items():
        _style(doc, name, rgb)
    style_of = {model: f"#model-{i}" for i, model in enumerate(colors)}
    _satellites(_folder(doc, "Satellites"), view)
    sites = _folder(doc, "Demand sites")
    for name, lon, lat in zip(view.sites["name"], view.sites["lon_deg"], view.sites["lat_deg"]):
        _placemark(sites, str(name), "#site", _point(lon, lat, 0.0))
    ground = _folder(doc, "Gateways and cloud regions")
    for kind, name, lon, lat in zip(view.ground["kind"], view.ground["name"], view.ground["lon_deg"],
                                    view.ground["lat_deg"]):
        _placemark(ground, str(name), f"#{kind}", _point(lon, lat, 0.0))
    _hosts(_folder(doc, "Hosts"), view, placements, style_of)
    _links(_folder(doc, "Links"), view, links, placements, style_of)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(kml, encoding="unicode") + "\n"


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def _folder(parent: ET.Element, name: str) -> ET.Element:
    folder = _sub(parent, "Folder")
    _sub(folder, "name", name)
    return folder


def _color(rgb: tuple[int, int, int], alpha: int = 255) -> str:
    """KML's colour order: alpha, blue, green, red, in hex."""
    return f"{alpha:02x}{rgb[2]:02x}{rgb[1]:02x}{rgb[0]:02x}"


def _style(doc: ET.Element, name: str, rgb: tuple[int, int, int]) -> None:
    style = _sub(doc, "Style")
    style.set("id", name)
    icon = _sub(style, "IconStyle")
    _sub(icon, "color", _color(rgb))
    _sub(icon, "scale", "0.6")
    line = _sub(style, "LineStyle")
    _sub(line, "color", _color(rgb, 200))
    _sub(line, "width", "1.5")


def _coordinates(lon, lat, alt_m) -> str:
    return " ".join(f"{x:.5f},{y:.5f},{z:.1f}" for x, y, z in zip(np.atleast_1d(lon), np.atleast_1d(lat),
                                                                   np.atleast_1d(alt_m)))


def _point(lon, lat, alt_m) -> ET.Element:
    point = ET.Element("Point")
    _sub(point, "altitudeMode", "absolute" if alt_m > 0 else "clampToGround")
    _sub(point, "coordinates", _coordinates(lon, lat, alt_m))
    return point


def _placemark(parent: ET.Element, name: str | None, style: str, geometry: ET.Element,
               span: tuple[str, str] | None = None, data: dict | None = None) -> None:
    """A Placemark with its children in the order the schema's sequence asks: name, TimeSpan, styleUrl,
    ExtendedData, geometry."""
    mark = _sub(parent, "Placemark")
    if name is not None:
        _sub(mark, "name", name)
    if span is not None:
        when = _sub(mark, "TimeSpan")
        _sub(when, "begin", span[0])
        _sub(when, "end", span[1])
    _sub(mark, "styleUrl", style)
    if data:
        extended = _sub(mark, "ExtendedData")
        for key, value in data.items():
            entry = _sub(extended, "Data")
            entry.set("name", key)
            _sub(entry, "value", str(value))
    mark.append(geometry)


def _satellites(folder: ET.Element, view: RunView) -> None:
    times = [view.utc(t) for t in view.track_time_s]
    ends = times[1:] + times[-1:]
    for s, name in enumerate(view.satellites):
        own = _folder(folder, name)
        lon, lat, alt_m = view.track_lon_deg[s], view.track_lat_deg[s], view.track_alt_km[s] * 1e3
        for t in np.flatnonzero(np.isfinite(lon) & np.isfinite(lat) & np.isfinite(alt_m)):
            _placemark(own, None, "#satellite", _point(lon[t], lat[t], alt_m[t]), (times[t], ends[t]))


def _span(view: RunView, epoch: int) -> tuple[str, str]:
    return view.utc(view.epoch_start_s[epoch]), view.utc(view.epoch_end_s[epoch])


def _hosts(folder: ET.Element, view: RunView, placements: dict, style_of: dict) -> None:
    alt_m = layers.host_altitude_km(view, placements) * 1e3
    by_epoch: dict[int, ET.Element] = {}
    for (epoch, host), members in layers.hosts_of(placements).items():
        if epoch not in by_epoch:
            by_epoch[epoch] = _folder(folder, f"epoch {epoch}")
        i = members[0]
        models = [str(placements["model"][j]) for j in members]
        _placemark(by_epoch[epoch], f"{host}: {', '.join(models)}", style_of[models[0]],
                   _point(placements["lon_deg"][i], placements["lat_deg"][i], alt_m[i]), _span(view, epoch),
                   {"epoch": epoch, "host_kind": placements["host_kind"][i], "models": ", ".join(models),
                    "requests": ", ".join(f"{placements['requests'][j]:g}" for j in members)})


def _links(folder: ET.Element, view: RunView, links: dict, placements: dict, style_of: dict) -> None:
    alt_m = layers.host_altitude_km(view, placements) * 1e3
    by_epoch: dict[int, ET.Element] = {}
    for i, (s, h) in enumerate(zip(*layers.link_ends(view, links, placements))):
        epoch, host = int(links["epoch"][i]), str(links["host"][i])
        if epoch not in by_epoch:
            by_epoch[epoch] = _folder(folder, f"epoch {epoch}")
        line = ET.Element("LineString")
        _sub(line, "altitudeMode", "absolute")
        _sub(line, "coordinates", _coordinates([view.sites["lon_deg"][s], placements["lon_deg"][h]],
                                               [view.sites["lat_deg"][s], placements["lat_deg"][h]], [0.0, alt_m[h]]))
        _placemark(by_epoch[epoch], f"{links['demand'][i]} -> {host}", style_of[str(links["model"][i])], line,
                   _span(view, epoch), {"epoch": epoch, "model": links["model"][i],
                                        "requests": f"{links['requests'][i]:g}",
                                        "latency_ms": f"{links['latency_ms'][i]:.3f}", "path": links["path"][i]})
