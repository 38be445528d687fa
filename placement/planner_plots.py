"""Figures that answer a planner's 'where does each model run, and when' for one strategy of a run (by default
the best: `placement.results.best_strategy`), drawn from the run directory's tables like `placement.plots`.

- `model_map`: the hosts of one epoch (by default the busiest: the most requests served) and a line from each
  demand site to each host serving it, coloured by model and as wide as its share of the epoch's requests
  (straight lines on the map: the node-by-node routes are in paths.parquet).
- `copy_timeline`: host x time, a bar for every epoch a host holds a copy, coloured by model (hosts holding
  several models split their row).
- `power_headroom`: each satellite host's power budget less its use, per epoch it holds a copy.

`FIGURES` names them as `placement.plots.run_plots` writes them.
"""

from __future__ import annotations

import numpy as np
from matplotlib import dates
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from placement.figure_parts import KIND_STYLE, model_colors, note, utc_axis, world_axes
from placement.problem.spec import HOST_KINDS
from placement.results import Run, best_strategy

MAX_HOST_LABELS = 40  # host rows a timeline names; beyond that the names would overlap


def _strategy(run: Run, strategy: str | None) -> str | None:
    """`strategy`, else the run's best, else its first (a run where none is feasible still has figures)."""
    return strategy or best_strategy(run) or next(iter(run.strategies), None)


def busiest_epoch(assignments: dict) -> int | None:
    """The epoch in which the assignments serve the most requests (None: no assignment)."""
    if not assignments["epoch"].size:
        return None
    epochs, index = np.unique(assignments["epoch"], return_inverse=True)
    return int(epochs[np.argmax(np.bincount(index, weights=assignments["requests"]))])


def _when(start: np.datetime64, end: np.datetime64) -> str:
    return f"{str(start.astype('datetime64[m]')).replace('T', ' ')}-{str(end.astype('datetime64[m]'))[11:]} UTC"


def model_map(run: Run, strategy: str | None = None, epoch: int | None = None) -> Figure:
    """The sites and the hosts serving them in `epoch` (default: the busiest) under `strategy` (default: the
    best), a line from each site to each of its hosts per model."""
    strategy = _strategy(run, strategy)
    figure = Figure(figsize=(11, 6), layout="constrained")
    ax = figure.add_subplot()
    demands = run.table("demands", strategy)
    a = run.table("assignments", strategy)
    epoch = busiest_epoch(a) if epoch is None else epoch
    a = {c: v[a["epoch"] == epoch] for c, v in a.items()}
    hosts = run.table("hosts", strategy)
    hosts = {c: v[hosts["epoch"] == epoch] for c, v in hosts.items()}
    world_axes(ax, np.r_[hosts["lon_deg"], demands["site_lon_deg"]], np.r_[hosts["lat_deg"], demands["site_lat_deg"]])
    site_at = {s: (lo, la) for s, lo, la in zip(demands["site"], demands["site_lon_deg"], demands["site_lat_deg"])}
    host_at = {h: (lo, la) for h, lo, la in zip(hosts["host"], hosts["lon_deg"], hosts["lat_deg"])}
    colors = model_colors(run.table("demands")["model"])
    widest = a["requests"].max() if a["requests"].size else 1.0
    for model in np.unique(a["model"]):
        rows = np.flatnonzero(a["model"] == model)
        segments = [(site_at[a["site"][i]], host_at[a["host"][i]]) for i in rows]
        ax.add_collection(LineCollection(segments, colors=colors[model], alpha=0.7, zorder=2,
                                         linewidths=0.6 + 3.0 * a["requests"][rows] / widest,
                                         label=f"{model} ({a['requests'][rows].sum():.4g} requests)"))
    for kind in HOST_KINDS:
        rows = hosts["host_kind"] == kind
        if rows.any():
            ax.scatter(hosts["lon_deg"][rows], hosts["lat_deg"][rows], s=30, marker=KIND_STYLE[kind]["marker"],
                       color=KIND_STYLE[kind]["color"], edgecolor="black", linewidth=0.4, zorder=4,
                       label=f"{KIND_STYLE[kind]['label']} ({np.unique(hosts['host'][rows]).size})")
    sites, first = np.unique(demands["site"], return_index=True)
    ax.scatter(demands["site_lon_deg"][first], demands["site_lat_deg"][first], s=90, marker="*", color="crimson",
               edgecolor="black", linewidth=0.4, zorder=3, label=f"demand sites ({sites.size})")
    if epoch is None:
        note(ax, "no request served")
        ax.set_title(f"{run.label}: {strategy}: no request served")
    else:
        when = _when(a["epoch_start_utc"][0], a["epoch_end_utc"][0]) if a["epoch"].size else ""
        busiest = " (the busiest)" if epoch == busiest_epoch(run.table("assignments", strategy)) else ""
        ax.set_title(f"{run.label}: where {strategy} serves each model\nepoch {epoch}{busiest}, {when}")
    figure.legend(fontsize="small", loc="outside right upper")
    return figure


def copy_timeline(run: Run, strategy: str | None = None) -> Figure:
    """Every copy of `strategy` (default: the best) as a bar over its epoch on its host's row, coloured by
    model; hosts grouped by kind."""
    strategy = _strategy(run, strategy)
    p = run.table("placements", strategy)
    kind_order = np.array([HOST_KINDS.index(k) for k in p["host_kind"]], int)
    order = np.lexsort((p["model"], p["epoch"], p["host"], kind_order))
    p = {c: v[order] for c, v in p.items()}
    names = list(dict.fromkeys(p["host"]))  # kinds, then names, in order
    row = np.array([names.index(h) for h in p["host"]], int) if names else np.zeros(0, int)
    # several models on one host in one epoch share its row
    cell = row * (p["epoch"].max() + 1 if p["epoch"].size else 1) + p["epoch"]
    _, start_of, inverse, count = np.unique(cell, return_index=True, return_inverse=True, return_counts=True)
    share = 0.8 / count[inverse] if cell.size else np.zeros(0)
    offset = np.arange(cell.size) - start_of[inverse] if cell.size else np.zeros(0)
    figure = Figure(figsize=(10, min(2.2 + 0.16 * len(names), 14)), layout="constrained")
    ax = figure.add_subplot()
    colors = model_colors(run.table("demands")["model"])
    left, right = dates.date2num(p["epoch_start_utc"]), dates.date2num(p["epoch_end_utc"])
    ax.barh(row - 0.4 + (offset + 0.5) * share, right - left, left=left, height=share,
            color=[colors[m] for m in p["model"]], edgecolor="white", linewidth=0.3)
    ax.xaxis_date()
    utc_axis(ax)
    ax.set_ylim(max(len(names), 1) - 0.5, -0.5)
    if len(names) <= MAX_HOST_LABELS:
        ax.set_yticks(np.arange(len(names)), names, fontsize="x-small")
    else:
        ax.set_yticks([])
    ax.set_ylabel(f"hosts holding a copy ({len(names)}: " + ", ".join(
        f"{np.unique(p['host'][p['host_kind'] == k]).size} {k}" for k in HOST_KINDS
        if (p["host_kind"] == k).any()) + ")")
    ax.grid(True, axis="x", alpha=0.3)
    if names:
        figure.legend(handles=[Patch(color=colors[m], label=m) for m in np.unique(p["model"])], fontsize="small",
                      loc="outside right upper")
    else:
        note(ax, "no copies placed")
    ax.set_title(f"{run.label}: copies placed by {strategy}, per epoch")
    return figure


def power_headroom(run: Run, strategy: str | None = None) -> Figure:
    """Each satellite host of `strategy` (default: the best): its power budget in an epoch (sunlight or
    battery) less the power its copies draw, a segment over every epoch it holds a copy."""
    strategy = _strategy(run, strategy)
    hosts = run.table("hosts", strategy)
    rows = hosts["host_kind"] == "satellite"
    figure = Figure(figsize=(9, 4.5), layout="constrained")
    ax = figure.add_subplot()
    headroom = hosts["power_budget_w"][rows] - hosts["power_w"][rows]
    left, right = dates.date2num(hosts["epoch_start_utc"][rows]), dates.date2num(hosts["epoch_end_utc"][rows])
    satellites = np.unique(hosts["host"][rows], return_inverse=True)[1]
    ax.add_collection(LineCollection(np.stack([np.c_[left, headroom], np.c_[right, headroom]], axis=1),
                                     colors=[f"C{i % 10}" for i in satellites], linewidths=2, alpha=0.8))
    ax.axhline(0.0, color="black", linewidth=0.8)
    if rows.any():
        ax.set_xlim(left.min(), right.max())
        ax.set_ylim(min(0.0, headroom.min()) - 1.0, headroom.max() * 1.08 + 1.0)
    else:
        note(ax, "no satellite hosts")
    ax.xaxis_date()
    utc_axis(ax)
    ax.set_ylabel("power headroom (W): budget - use")
    ax.grid(True, alpha=0.3)
    ax.set_title(f"{run.label}: power headroom of the {satellites.max() + 1 if rows.any() else 0} satellite hosts "
                 f"of {strategy}, per epoch")
    return figure


FIGURES = {"map_models": model_map, "copy_timeline": copy_timeline, "power_headroom": power_headroom}
