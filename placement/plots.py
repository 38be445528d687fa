"""Figures of runs: what `placement run` writes into <run>/plots/, and what the notebooks compare across runs.

Every function takes runs read back by `placement.results.load_run` (so a figure is a function of the files of
a run directory, and a notebook can redraw any of them) and returns a matplotlib `Figure`. Figures are built
with matplotlib's object API and saved through the Agg canvas: no pyplot, no display, no global backend state,
so they render headless, in a sweep's worker processes, and next to a notebook's own pyplot use.

- `latency_cdf`: the request-weighted latency distribution per strategy (and run): the share of all requests
  served within x ms; requests not served never arrive, so a curve ends below 1 by the unserved share.
- `world_map`: land around the sites and hosts, the ground tracks of the satellites used as hosts over the
  horizon, the hosts used (satellites where they are at the epochs they hold a copy, gateways, cloud regions)
  and the demand sites.
- `utilisation`: compute utilisation of the hosts used, per epoch and host kind (mean and peak), per strategy.
- `power`: per epoch, the share of the satellites used that are in eclipse, and their power use against
  their budget (sunlight or battery), per strategy.
- `metric_bars`, `share_bars`: comparison rows (`placement.results.comparison`) side by side.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from placement.problem.spec import HOST_KINDS
from placement.results import ECLIPSE_SUNLIT_FRACTION, DemandFilter, Run, served

DPI = 120
KIND_STYLE = {"satellite": {"marker": "^", "color": "tab:blue", "label": "satellites"},
              "gateway": {"marker": "s", "color": "tab:orange", "label": "gateways"},
              "cloud": {"marker": "D", "color": "tab:green", "label": "cloud regions"},
              "local": {"marker": "o", "color": "tab:purple", "label": "local hosts (at the sites)"}}
UNSERVED_COLOR = "0.65"
RUN_LINESTYLES = ("-", "--", ":", "-.")
MAP_MARGIN_DEG = 12.0  # around the sites and hosts a map shows
MAX_TRACKS = 200  # ground tracks a map draws at most, evenly among the satellites used


def save(figure: Figure, path: str | Path) -> Path:
    """Write `figure` as a PNG (through the Agg canvas)."""
    path = Path(path)
    figure.savefig(path, dpi=DPI, format="png")
    return path


def slug(label: str) -> str:
    """A run or point label as a file-name part."""
    return re.sub(r"[^A-Za-z0-9._=+-]+", "_", label).strip("_") or "run"


def run_plots(run: Run, out_dir: str | Path) -> list[Path]:
    """The figures of one run directory, as PNGs in `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [save(latency_cdf([run]), out_dir / "latency_cdf.png"), save(world_map(run), out_dir / "map.png"),
            save(utilisation(run), out_dir / "utilisation.png"), save(power(run), out_dir / "power.png")]


def _strategy_colors(runs: list[Run]) -> dict[str, str]:
    names = list(dict.fromkeys(name for run in runs for name in run.strategies))
    return {name: f"C{i % 10}" for i, name in enumerate(names)}


def latency_cdf(runs: list[Run], strategies: list[str] | None = None, demands: DemandFilter | None = None,
                title: str | None = None, mark_slos: bool = False) -> Figure:
    """Share of all requests of the selected demands served within each latency: one curve per run and strategy
    (colour: strategy; line style: run); `mark_slos` draws the demands' latency objectives."""
    figure = Figure(figsize=(7.5, 4.5), layout="constrained")
    ax = figure.add_subplot()
    colors = _strategy_colors(runs)
    slos = set()
    for i, run in enumerate(runs):
        for name in strategies or run.strategies:
            if name not in run.strategies:
                continue
            a, total = served(run, name, demands)
            if mark_slos:
                slos.update(a["slo_ms"])
            if total <= 0 or not a["requests"].sum() > 0:
                continue  # nothing served (no solution): no curve
            order = np.argsort(a["latency_ms"])
            x = a["latency_ms"][order]
            y = np.cumsum(a["requests"][order]) / total
            # Earlier strategies drawn wider, so that a later one with the same curve leaves them visible.
            ax.step(np.r_[x[0], x], np.r_[0.0, y], where="post", color=colors[name],
                    linewidth=max(1.0, 3.0 - 0.5 * list(colors).index(name)),
                    linestyle=RUN_LINESTYLES[i % len(RUN_LINESTYLES)],
                    label=name if len(runs) == 1 else f"{run.label}: {name}")
    for slo in sorted(slos):
        ax.axvline(slo, color="0.3", linestyle=":", linewidth=1)
        ax.annotate(f"SLO {slo:g} ms", (slo, 0.02), xytext=(3, 0), textcoords="offset points", fontsize=7,
                    rotation=90, va="bottom")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("latency per request (ms, log scale)")
    ax.set_ylabel("share of requests served within")
    ax.grid(True, which="both", alpha=0.3)
    if ax.lines:
        ax.legend(fontsize="small", loc="best")
    else:
        _note(ax, "no strategy served any request")
    ax.set_title(title or (f"{runs[0].label}: request-weighted latency" if len(runs) == 1 else
                           "request-weighted latency"))
    return figure


@functools.cache
def land_rings() -> list[np.ndarray]:
    """Land polygons, lon/lat degrees (placement/plots_data/README.md)."""
    with resources.files("placement").joinpath("plots_data/land_110m.npz").open("rb") as f:
        data = np.load(f)
        points, starts = data["lon_lat_cdeg"] / 100.0, data["ring_start"]
    return [points[a:b] for a, b in zip(starts[:-1], starts[1:])]


def _world_axes(ax, lon: np.ndarray, lat: np.ndarray) -> None:
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


def _broken_at_antimeridian(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[track, time] positions as one polyline, NaN between tracks and where a track wraps at +-180 deg."""
    jump = np.abs(np.diff(lon, axis=1)) > 180
    lon = np.where(np.c_[np.zeros((len(lon), 1), bool), jump], np.nan, lon)
    gap = np.full((len(lon), 1), np.nan)
    return np.c_[lon, gap].ravel(), np.c_[lat, gap].ravel()


def world_map(run: Run, strategy: str | None = None) -> Figure:
    """The hosts used by `strategy` (default: by any strategy), the ground tracks of the satellites among them
    and the demand sites, on a map around the sites and hosts (the tracks run on beyond it)."""
    figure = Figure(figsize=(11, 6), layout="constrained")
    ax = figure.add_subplot()
    hosts = run.table("hosts", strategy)
    demands = run.table("demands")
    _world_axes(ax, np.r_[hosts["lon_deg"], demands["site_lon_deg"]], np.r_[hosts["lat_deg"], demands["site_lat_deg"]])
    # Hash membership and dictionary codes in Arrow: a day of a catalog's tracks is millions of names, which
    # numpy would compare as Python strings
    used = pa.array(np.unique(hosts["host"][hosts["host_kind"] == "satellite"]).tolist(), pa.string())
    tracks = run.tables["tracks"]
    satellite = pc.cast(tracks["satellite"], pa.string())  # null-typed where no satellite was used
    on_used = pc.is_in(satellite, value_set=used)
    tracks = tracks.filter(on_used)
    codes = pc.dictionary_encode(satellite.filter(on_used)).combine_chunks()
    names, index = codes.dictionary.to_numpy(zero_copy_only=False), codes.indices.to_numpy()
    drawn = np.arange(names.size)
    if names.size > MAX_TRACKS:  # a day of a catalog: thousands of tracks are one smear, and too many points
        drawn = np.linspace(0, names.size - 1, MAX_TRACKS).astype(int)
    if names.size:
        n_time = len(index) // names.size  # every satellite has the same time steps
        order = np.argsort(index, kind="stable")
        lon, lat = (tracks[c].to_numpy()[order].reshape(names.size, n_time)[drawn] for c in ("lon_deg", "lat_deg"))
        x, y = _broken_at_antimeridian(lon, lat)
        shown = f"{drawn.size} of {names.size}" if drawn.size < names.size else f"{names.size}"
        ax.plot(x, y, color=KIND_STYLE["satellite"]["color"], alpha=0.35, linewidth=0.8,
                label=f"ground tracks ({shown} satellites)")
    for kind in HOST_KINDS:
        rows = hosts["host_kind"] == kind
        style = KIND_STYLE[kind]
        count = np.unique(hosts["host"][rows]).size
        ax.scatter(hosts["lon_deg"][rows], hosts["lat_deg"][rows], s=28, marker=style["marker"],
                   color=style["color"], edgecolor="black", linewidth=0.4, zorder=4,
                   label=f"{style['label']} used ({count})" + (", where they serve" if kind == "satellite" else ""))
    sites, first = np.unique(demands["site"], return_index=True)
    ax.scatter(demands["site_lon_deg"][first], demands["site_lat_deg"][first], s=90, marker="*", color="crimson",
               edgecolor="black", linewidth=0.4, zorder=3, label=f"demand sites ({sites.size})")
    if sites.size <= 12:
        for name, i in zip(sites, first):
            ax.annotate(name, (demands["site_lon_deg"][i], demands["site_lat_deg"][i]), xytext=(4, 4),
                        textcoords="offset points", fontsize=7)
    figure.legend(fontsize="small", loc="outside right upper")
    ax.set_title(f"{run.label}: hosts used by {strategy or 'any strategy'}")
    return figure


def _panels(n: int, figsize_per: tuple[float, float]):
    cols = min(n, 3)
    rows = -(-n // cols)
    figure = Figure(figsize=(figsize_per[0] * cols, figsize_per[1] * rows), layout="constrained")
    axes = figure.subplots(rows, cols, squeeze=False, sharex=True, sharey=True).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return figure, axes[:n]


def _per_epoch(hosts: dict, rows: np.ndarray, reduce) -> tuple[np.ndarray, np.ndarray]:
    """Epoch start (min) and `reduce(hosts-table rows of that epoch)` for every epoch with a row."""
    epochs, first = np.unique(hosts["epoch"][rows], return_index=True)
    values = np.array([reduce(rows & (hosts["epoch"] == e)) for e in epochs])
    return hosts["epoch_start_min"][rows][first], values


def _note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.4")


def utilisation(run: Run) -> Figure:
    """Compute utilisation (load / power-limited capacity) of the hosts used, per epoch and host kind: the mean
    over the hosts of the kind (solid) and the busiest one (dashed); one panel per strategy."""
    figure, axes = _panels(len(run.strategies), (4.6, 3.4))
    for ax, name in zip(axes, run.strategies):
        hosts = run.table("hosts", name)
        for kind in HOST_KINDS:
            rows = hosts["host_kind"] == kind
            if not rows.any():
                continue
            u = hosts["compute_utilization"]
            color = KIND_STYLE[kind]["color"]
            x, mean = _per_epoch(hosts, rows, lambda r: u[r].mean())
            _, peak = _per_epoch(hosts, rows, lambda r: u[r].max())
            ax.plot(x, mean, marker="o", color=color, label=f"{KIND_STYLE[kind]['label']}: mean")
            ax.plot(x, peak, linestyle="--", color=color, label=f"{KIND_STYLE[kind]['label']}: busiest")
        ax.set_title(name)
        ax.grid(True, alpha=0.3)
        if not ax.lines:
            _note(ax, "no hosts used")
    for ax in axes:
        ax.set_xlabel("epoch start (min)")
    axes[0].set_ylabel("compute utilisation")
    handles = {line.get_label(): line for ax in axes for line in ax.lines}
    if handles:
        figure.legend(handles.values(), handles.keys(), fontsize="small", loc="outside lower center", ncols=3)
    figure.suptitle(f"{run.label}: compute utilisation of the hosts used")
    return figure


def power(run: Run) -> Figure:
    """Per epoch and strategy: the share of the satellites used that are in eclipse, and their total power
    use (solid) against their total power budget (dashed)."""
    figure = Figure(figsize=(8, 6), layout="constrained")
    eclipse, watts = figure.subplots(2, 1, sharex=True)
    colors = _strategy_colors([run])
    for name in run.strategies:
        hosts = run.table("hosts", name)
        rows = hosts["host_kind"] == "satellite"
        if not rows.any():
            continue
        x, dark = _per_epoch(hosts, rows, lambda r: np.mean(hosts["sunlit_fraction"][r] < ECLIPSE_SUNLIT_FRACTION))
        _, used = _per_epoch(hosts, rows, lambda r: hosts["power_w"][r].sum())
        _, budget = _per_epoch(hosts, rows, lambda r: hosts["power_budget_w"][r].sum())
        eclipse.plot(x, dark, marker="o", color=colors[name], label=name)
        watts.plot(x, used, marker="o", color=colors[name], label=f"{name}: used")
        watts.plot(x, budget, linestyle="--", color=colors[name], label=f"{name}: budget")
    eclipse.set_ylim(-0.02, 1.02)
    eclipse.set_ylabel("share in eclipse")
    watts.set_ylabel("compute power (W), all satellites used")
    watts.set_xlabel("epoch start (min)")
    for ax in (eclipse, watts):
        ax.grid(True, alpha=0.3)
        if ax.lines:
            ax.legend(fontsize="small")
        else:
            _note(ax, "no satellite hosts in this run")
    figure.suptitle(f"{run.label}: satellites used as hosts: eclipse and power")
    return figure


def metric_bars(rows: list[dict], metrics: list[str], title: str) -> Figure:
    """Comparison rows as grouped bars: one panel per metric, a group per strategy, a bar per run."""
    runs = list(dict.fromkeys(row["run"] for row in rows))
    strategies = list(dict.fromkeys(row["strategy"] for row in rows))
    value = {(row["run"], row["strategy"]): row for row in rows}
    figure = Figure(figsize=(4.2 * len(metrics), 3.8), layout="constrained")
    width = 0.8 / max(len(runs), 1)
    for ax, metric in zip(np.atleast_1d(figure.subplots(1, len(metrics))), metrics):
        for i, label in enumerate(runs):
            heights = [value[(label, s)][metric] if (label, s) in value else np.nan for s in strategies]
            ax.bar(np.arange(len(strategies)) + (i - (len(runs) - 1) / 2) * width, heights, width,
                   color=f"C{i % 10}", label=label)
        ax.set_xticks(np.arange(len(strategies)), strategies, rotation=30, ha="right", fontsize="small")
        ax.set_title(metric)
        ax.grid(True, axis="y", alpha=0.3)
    figure.legend(*figure.axes[0].get_legend_handles_labels(), fontsize="small", loc="outside lower center",
                  ncols=min(len(runs), 4))
    figure.suptitle(title)
    return figure


def share_bars(rows: list[dict], title: str) -> Figure:
    """Where the requests went, per run and strategy: shares served on satellites, at gateways, in the cloud,
    and not served, stacked."""
    labels = [row["strategy"] if len({r["run"] for r in rows}) == 1 else f"{row['run']}: {row['strategy']}"
              for row in rows]
    figure = Figure(figsize=(8, 1.2 + 0.32 * len(rows)), layout="constrained")
    ax = figure.add_subplot()
    left = np.zeros(len(rows))
    parts = [(f"share_{k}", KIND_STYLE[k]["color"], KIND_STYLE[k]["label"]) for k in HOST_KINDS]
    for column, color, label in parts + [("unserved_share", UNSERVED_COLOR, "not served")]:
        width = np.array([row[column] for row in rows], float)
        ax.barh(np.arange(len(rows)), width, left=left, color=color, label=label)
        left += width
    ax.set_yticks(np.arange(len(rows)), labels, fontsize="small")
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of requests")
    figure.legend(fontsize="small", loc="outside lower center", ncols=4)
    ax.set_title(title)
    return figure
