"""What every figure module shares (`placement.plots`, `placement.planner_plots`): saving through the Agg
canvas, the colours and markers of host kinds and models, the land map, clock-time axes and notes."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

import numpy as np
from matplotlib import dates
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

DPI = 120
KIND_STYLE = {"satellite": {"marker": "^", "color": "tab:blue", "label": "satellites"},
              "gateway": {"marker": "s", "color": "tab:orange", "label": "gateways"},
              "cloud": {"marker": "D", "color": "tab:green", "label": "cloud regions"},
              "local": {"marker": "o", "color": "tab:purple", "label": "local hosts (at the sites)"}}
MAP_MARGIN_DEG = 12.0  # around the sites and hosts a map shows


def save(figure: Figure, path: str | Path) -> Path:
    """Write `figure` as a PNG (through the Agg canvas)."""
    path = Path(path)
    figure.savefig(path, dpi=DPI, format="png")
    return path


def model_colors(models) -> dict[str, str]:
    """One colour per model name, the same in every figure of a run (models in sorted order)."""
    return {name: f"C{i % 10}" for i, name in enumerate(sorted(set(models)))}


@functools.cache
def land_rings() -> list[np.ndarray]:
    """Land polygons, lon/lat degrees (placement/plots_data/README.md)."""
    with resources.files("placement").joinpath("plots_data/land_110m.npz").open("rb") as f:
        data = np.load(f)
        points, starts = data["lon_lat_cdeg"] / 100.0, data["ring_start"]
    return [points[a:b] for a, b in zip(starts[:-1], starts[1:])]


def world_axes(ax, lon: np.ndarray, lat: np.ndarray) -> None:
    """Land on an equirectangular map around the points (lon, lat), with a margin of MAP_MARGIN_DEG."""
    # Countries filled with their edges in the land colour: the borders between them vanish, the coasts stay.
    ax.add_collection(PolyCollection(land_rings(), facecolor="0.9", edgecolor="0.9", linewidth=0.4, zorder=0))
    ax.set_facecolor("#f3f7fb")
    lon, lat = lon[np.isfinite(lon)], lat[np.isfinite(lat)]
    if lon.size:
        ax.set_xlim(max(lon.min() - MAP_MARGIN_DEG, -180), min(lon.max() + MAP_MARGIN_DEG, 180))
        ax.set_ylim(max(lat.min() - MAP_MARGIN_DEG, -90), min(lat.max() + MAP_MARGIN_DEG, 90))
    else:
        ax.set_xlim(-180, 180)
        ax.set_ylim(-90, 90)
    ax.set_aspect("equal")
    ax.set_xlabel("longitude (deg)")
    ax.set_ylabel("latitude (deg)")
    ax.grid(True, alpha=0.3)


def utc_axis(ax) -> None:
    """Clock time on the x axis: the tables' datetime64 columns are UTC, which matplotlib draws them in by
    default (rcParams timezone); the concise format labels the date once and the hours and minutes after."""
    locator = dates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))
    ax.set_xlabel("time (UTC)")


def note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.4")
