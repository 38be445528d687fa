"""`report.html`: one self-contained page per run, for a browser with no network. A world map with an epoch slider
(where each model runs under a chosen strategy, which sites each copy serves, the satellites' ground tracks
over the epoch), the request-weighted latency distribution per strategy, compute utilisation and satellite
power over the epochs, and the comparison table.

The page is templates/report.html (its drawing code is plain JavaScript written for it: SVG, no library)
with the run's figures inlined as JSON; nothing is fetched when it is viewed. `placement run` writes it into
the run directory (unless --no-report); `placement report RUN` writes it again from the run's files.
"""

from __future__ import annotations

import html
from importlib import resources
from pathlib import Path

import numpy as np

from placement.figure_parts import MAP_MARGIN_DEG, land_rings
from placement.problem.spec import HOST_KINDS
from placement.results import layers
from placement.results.analysis import ECLIPSE_SUNLIT_FRACTION, served, summary_rows
from placement.results.reader import RunView, read_run, rows
from placement.results.rundir import check_file_replaceable, json_text, write_owned_file

SIGNATURE = '<meta name="generator" content="placement report">'  # write_owned_file's mark of our files
MAX_CDF_POINTS = 400  # per strategy: enough for a smooth step curve, few enough to keep the page small
LAND_STEP_DEG = 0.1  # land outline resolution in the page (Natural Earth 1:110m is about this coarse)


def write_html_report(run_dir: str | Path, out: str | Path | None = None, overwrite: bool = False,
                      label: str | None = None) -> Path:
    """Write the report of the run directory `run_dir` (titled `label`, default its name) to `out` (default
    RUN/report.html)."""
    view = read_run(run_dir, label)
    path = Path(out) if out is not None else Path(run_dir) / "report.html"
    check_file_replaceable(path, SIGNATURE, overwrite=overwrite)
    return write_owned_file(path, report_html(view), SIGNATURE, overwrite=overwrite)


def report_html(view: RunView) -> str:
    """The page's text: the template with the run's data and title filled in."""
    template = resources.files("placement.results").joinpath("templates/report.html").read_text()
    data = json_text(report_data(view), indent=None)
    # Inside <script>, "</" would end the element early; JSON may write it as "<\/".
    return (template.replace("{{SIGNATURE}}", SIGNATURE).replace("{{TITLE}}", html.escape(view.label))
            .replace("{{DATA}}", data.replace("</", "<\\/")))


def report_data(view: RunView) -> dict:
    """Everything the page draws, as JSON-ready values (NaN where a figure does not exist)."""
    colors = layers.model_colors(view)
    return {
        "label": view.label,
        "epochs": [{"start": view.utc(a), "end": view.utc(b)} for a, b in zip(view.epoch_start_s, view.epoch_end_s)],
        "epoch_step": layers.epoch_step(view, np.arange(view.n_epochs)).tolist() + [len(view.track_time_s) - 1],
        "bounds": _bounds(view),
        "land": _land(),
        "sites": {"name": view.sites["name"].tolist(), "lon": _round(view.sites["lon_deg"]),
                  "lat": _round(view.sites["lat_deg"])},
        "ground": {"kind": view.ground["kind"].tolist(), "name": view.ground["name"].tolist(),
                   "lon": _round(view.ground["lon_deg"]), "lat": _round(view.ground["lat_deg"])},
        "tracks": {"name": list(view.satellites), "lon": _round(view.track_lon_deg, 2),
                   "lat": _round(view.track_lat_deg, 2)},
        "models": {model: "#%02x%02x%02x" % rgb for model, rgb in colors.items()},
        "kinds": {kind: "#%02x%02x%02x" % layers.KIND_RGB[kind] for kind in HOST_KINDS},
        "strategies": [_strategy(view, name, list(colors)) for name in view.strategies],
        "summary": summary_rows(view.run.metrics),
    }


def _round(values: np.ndarray, decimals: int = 3) -> list:
    return np.round(np.asarray(values, np.float64), decimals).tolist()


def _bounds(view: RunView) -> list[float]:
    """[west, south, east, north] around the sites and every host used, as placement.plots' map."""
    lon = np.r_[view.sites["lon_deg"], view.placements["lon_deg"]]
    lat = np.r_[view.sites["lat_deg"], view.placements["lat_deg"]]
    lon, lat = lon[np.isfinite(lon)], lat[np.isfinite(lat)]
    if lon.size == 0:
        return [-180.0, -90.0, 180.0, 90.0]
    return [max(lon.min() - MAP_MARGIN_DEG, -180.0), max(lat.min() - MAP_MARGIN_DEG, -90.0),
            min(lon.max() + MAP_MARGIN_DEG, 180.0), min(lat.max() + MAP_MARGIN_DEG, 90.0)]


def _land() -> list[list[float]]:
    """Each land ring as flat [lon, lat, lon, lat, ...], rounded to LAND_STEP_DEG with repeated points dropped."""
    out = []
    for ring in land_rings():
        points = np.round(ring / LAND_STEP_DEG) * LAND_STEP_DEG
        keep = np.r_[True, np.any(np.diff(points, axis=0) != 0, axis=1)]
        if keep.sum() >= 3:
            out.append(np.round(points[keep], 1).ravel().tolist())
    return out


def _strategy(view: RunView, name: str, models: list[str]) -> dict:
    """One strategy's map layers per epoch, latency distribution, utilisation and power."""
    placements, links = layers.chosen(view, name, None)
    hosts: list[list[dict]] = [[] for _ in range(view.n_epochs)]
    position: dict[tuple[int, str], int] = {}  # (epoch, host) -> index in hosts[epoch]
    for (epoch, host), members in layers.hosts_of(placements).items():
        i = members[0]
        position[epoch, host] = len(hosts[epoch])
        hosts[epoch].append({"host": host, "kind": str(placements["host_kind"][i]),
                             "lon": round(float(placements["lon_deg"][i]), 3),
                             "lat": round(float(placements["lat_deg"][i]), 3),
                             "models": [models.index(str(placements["model"][j])) for j in members],
                             "requests": [float(placements["requests"][j]) for j in members]})
    site_of, _ = layers.link_ends(view, links, placements)
    served_links: list[list[dict]] = [[] for _ in range(view.n_epochs)]
    for i, site in enumerate(site_of):
        epoch = int(links["epoch"][i])
        served_links[epoch].append({"site": int(site), "host": position[epoch, str(links["host"][i])],
                                    "model": models.index(str(links["model"][i])),
                                    "requests": float(links["requests"][i]),
                                    "latency_ms": round(float(links["latency_ms"][i]), 3),
                                    "path": str(links["path"][i])})
    return {"name": name, "status": view.run.metrics["strategies"][name]["status"], "hosts": hosts,
            "links": served_links, "cdf": _cdf(view, name), **_over_epochs(view, name)}


def _cdf(view: RunView, name: str) -> dict:
    """Share of all requests served within each latency (as placement.plots.latency_cdf), thinned to at most
    MAX_CDF_POINTS steps evenly in the share."""
    a, total = served(view.run, name)
    order = np.argsort(a["latency_ms"])
    x = a["latency_ms"][order]
    y = np.cumsum(a["requests"][order]) / total if total > 0 else np.zeros(len(x))
    if len(x) > MAX_CDF_POINTS:
        keep = np.unique(np.r_[np.searchsorted(y, np.linspace(0, y[-1], MAX_CDF_POINTS)), len(x) - 1])
        x, y = x[keep], y[keep]
    return {"latency_ms": _round(x), "share": _round(y, 5)}


def _over_epochs(view: RunView, name: str) -> dict:
    """Per epoch: mean and peak compute utilisation per host kind of the hosts used, and for the satellites
    used, their power use and budget (W) and the share of them in eclipse (as placement.plots)."""
    h = view.run.table("hosts", name)
    utilisation = {}
    for kind in HOST_KINDS:
        per_epoch = [rows(h, host_kind=kind, epoch=e)["compute_utilization"] for e in range(view.n_epochs)]
        if any(len(u) for u in per_epoch):
            utilisation[kind] = {"mean": [float(u.mean()) if len(u) else np.nan for u in per_epoch],
                                 "peak": [float(u.max()) if len(u) else np.nan for u in per_epoch]}
    satellites = [rows(h, host_kind="satellite", epoch=e) for e in range(view.n_epochs)]
    return {"utilisation": utilisation,
            "power_w": [float(s["power_w"].sum()) if len(s["host"]) else np.nan for s in satellites],
            "power_budget_w": [float(s["power_budget_w"].sum()) if len(s["host"]) else np.nan for s in satellites],
            "eclipse_share": [float(np.mean(s["sunlit_fraction"] < ECLIPSE_SUNLIT_FRACTION)) if len(s["host"])
                              else np.nan for s in satellites]}
