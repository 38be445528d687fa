"""A run directory read once for the exports and the HTML report: where every satellite is at each time step,
which host runs which model in each placement epoch, which sites each copy serves and along which path, and
the ground segment.

This is the one place that knows how those facts are spelt in the run's files (`placement.results.tables`):
the writers in `czml`, `geojson`, `kml` and `report` read only `RunView`. The copies are placements.parquet's
(a copy that serves nothing included), placed where hosts.parquet has their host at the epoch's start; the
satellites' positions are tracks.parquet's, altitude included. The epochs' times come from the run's config
(`time.start`, `problem.epoch_s`) and its epoch count (metrics.json), not from the tables, which are empty
where no strategy found a solution.
"""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from placement.errors import InputError
from placement.network.ground import GroundNodes
from placement.results.analysis import Run, best_strategy, load_run

Columns = dict[str, np.ndarray]  # parallel columns [row]


@dataclasses.dataclass(frozen=True, eq=False)
class RunView:
    """One run directory, arranged for drawing. Times are seconds from `start_utc`."""

    run: Run
    start_utc: datetime.datetime
    epoch_start_s: np.ndarray  # [epoch]
    epoch_end_s: np.ndarray  # [epoch]
    satellites: tuple[str, ...]  # [sat]: every satellite some strategy uses (the tracks' satellites)
    track_time_s: np.ndarray  # [time]
    track_lat_deg: np.ndarray  # [sat, time] WGS84
    track_lon_deg: np.ndarray  # [sat, time]
    track_alt_km: np.ndarray  # [sat, time] above the WGS84 ellipsoid
    sites: Columns  # [site] name, country, lat_deg, lon_deg
    ground: Columns  # [node] name, kind ('gateway' or 'cloud'), country, lat_deg, lon_deg
    placements: Columns  # [row] strategy, epoch, host, host_kind, model, requests, lat_deg, lon_deg
    links: Columns  # [row] strategy, epoch, demand, site, host, host_kind, model, requests, latency_ms, path

    @property
    def label(self) -> str:
        return self.run.label

    @property
    def strategies(self) -> list[str]:
        return self.run.strategies

    @property
    def n_epochs(self) -> int:
        return len(self.epoch_start_s)

    def utc(self, seconds: float) -> str:
        """ISO 8601 UTC time `seconds` after the start, to the millisecond ('2026-02-24T00:10:00Z')."""
        instant = self.start_utc + datetime.timedelta(seconds=float(seconds))
        text = instant.strftime("%Y-%m-%dT%H:%M:%S")
        millis = instant.microsecond // 1000
        return text + (f".{millis:03d}Z" if millis else "Z")

    def strategy_or_best(self, strategy: str | None) -> str:
        """`strategy` checked against the run's, or the best feasible one when None."""
        if strategy is None:
            strategy = best_strategy(self.run) or (self.strategies[0] if self.strategies else None)
        if strategy not in self.strategies:
            raise InputError(f"no strategy {strategy!r} in this run", source=str(self.run.path), field="--strategy",
                             expected=f"one of {', '.join(self.strategies) or '(none)'}")
        return strategy

    def check_epoch(self, epoch: int | None) -> None:
        if epoch is not None and not 0 <= epoch < self.n_epochs:
            raise InputError(f"no epoch {epoch} in this run", source=str(self.run.path), field="--epoch",
                             expected=f"an epoch from 0 to {self.n_epochs - 1}")


def read_run(path: str | Path, label: str | None = None) -> RunView:
    """The run directory `path` (written by `placement run`) as a `RunView` labelled `label` (default: the
    directory's name); InputError names what is missing."""
    from placement.propagation.timegrid import parse_utc, to_datetime

    run = load_run(path, label)
    try:
        start, epoch_s = run.config["time"]["start"], float(run.config["problem"]["epoch_s"])
        n_epochs = int(run.metrics["problem"]["epochs"])
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(f"the run's records lack {error}", source=str(run.path),
                         expected="config.json with time.start and problem.epoch_s, metrics.json with "
                                  "problem.epochs, as `placement run` writes them") from None
    start_jd, start_fr = parse_utc(start, field="time.start", source=str(run.path / "config.json"))
    epoch_start_s = np.arange(n_epochs) * epoch_s
    satellites, time_s, (lat, lon, alt) = _tracks(run)
    return RunView(run=run, start_utc=to_datetime(start_jd, start_fr), epoch_start_s=epoch_start_s,
                   epoch_end_s=epoch_start_s + epoch_s, satellites=satellites, track_time_s=time_s,
                   track_lat_deg=lat, track_lon_deg=lon, track_alt_km=alt, sites=_sites(run),
                   ground=_ground(run), placements=_placements(run), links=_links(run))


def rows(columns: Columns, **match) -> Columns:
    """The rows of `columns` whose columns equal `match` (a None value matches every row)."""
    n = len(next(iter(columns.values())))
    keep = np.ones(n, bool)
    for name, value in match.items():
        if value is not None:
            keep &= columns[name] == value
    return {name: values[keep] for name, values in columns.items()}


def _tracks(run: Run) -> tuple[tuple[str, ...], np.ndarray, tuple[np.ndarray, ...]]:
    """Satellite names, the time steps (s) and [sat, time] latitude, longitude and altitude from the tracks
    table, whose rows are each satellite's time steps in order (tables.run_tables)."""
    tracks = run.tables["tracks"]
    names = tracks["satellite"].to_numpy(zero_copy_only=False).astype(str)
    satellites = tuple(dict.fromkeys(names))
    n_time = len(names) // max(len(satellites), 1)
    shape = (len(satellites), n_time)
    positions = tuple(np.asarray(tracks[c].to_numpy(), np.float64).reshape(shape)
                      for c in ("lat_deg", "lon_deg", "alt_km"))
    return satellites, tracks["time_min"].to_numpy()[:n_time] * 60.0, positions


def _sites(run: Run) -> Columns:
    d = run.tables["demands"]
    names = d["site"].to_numpy(zero_copy_only=False).astype(str)
    _, first = np.unique(names, return_index=True)
    first = np.sort(first)
    return {"name": names[first], "country": d["site_country"].to_numpy(zero_copy_only=False).astype(str)[first],
            "lat_deg": d["site_lat_deg"].to_numpy()[first], "lon_deg": d["site_lon_deg"].to_numpy()[first]}


def _ground(run: Run) -> Columns:
    """The gateways and cloud regions of the run's ground segment, used or not."""
    from placement.scenario import ground_segment

    segment = ground_segment(run.to_config())
    nodes: GroundNodes = segment.gateways.concatenate(segment.clouds)
    return {"name": np.array(nodes.name, str), "kind": np.array(nodes.kind, str),
            "country": np.array(nodes.country, str), "lat_deg": nodes.lat_deg, "lon_deg": nodes.lon_deg}


def _placements(run: Run) -> Columns:
    """One row per strategy, epoch, host and model with a copy (serving or not): the requests it serves, and
    the host's position at the epoch's start (hosts table, which has a row for every host with a copy)."""
    keys = ["strategy", "epoch", "host", "host_kind", "model"]
    copies = _strings(run.tables["placements"]).select(keys + ["requests"])
    where = _strings(run.tables["hosts"]).select(["strategy", "epoch", "host", "lat_deg", "lon_deg"])
    joined = copies.join(where, ["strategy", "epoch", "host"], join_type="left outer")
    return _numpy(joined.sort_by([(k, "ascending") for k in keys]))


def _links(run: Run) -> Columns:
    """One row per assignment (strategy, epoch, demand, site, host, model) with its `path`: the nodes from the
    site to the host at the epoch's first network step with one, joined by ' > ' ('' where no step has one)."""
    a = _strings(run.tables["assignments"]).select(["strategy", "epoch", "demand", "site", "host", "host_kind",
                                                    "model", "requests", "latency_ms"])
    joined = a.join(_first_paths(run), ["epoch", "site", "host"], join_type="left outer")
    joined = joined.set_column(joined.column_names.index("path"), "path", pc.fill_null(joined["path"], ""))
    return _numpy(joined.sort_by([(k, "ascending") for k in ("strategy", "epoch", "demand", "host")]))


def _first_paths(run: Run) -> pa.Table:
    """Per (epoch, site, host) in paths.parquet, its path at the first step that has one, as one string."""
    keys = ["epoch", "site", "host"]
    paths = _strings(run.tables["paths"])
    if "transit" in paths.column_names:  # one network's path where two transit rules' demands share a host
        first_rule = paths.group_by(keys).aggregate([("transit", "min")]).rename_columns(keys + ["transit"])
        paths = paths.join(first_rule, keys + ["transit"], join_type="inner")
    paths = paths.select(keys + ["step", "hop", "node"])
    first = paths.group_by(keys).aggregate([("step", "min")])
    first = first.rename_columns(["step" if name == "step_min" else name for name in first.column_names])
    hops = paths.join(first, keys + ["step"], join_type="inner")
    hops = hops.sort_by([(k, "ascending") for k in keys + ["hop"]])
    # Without threads a group's list keeps the rows' order, the hops' here.
    nodes = hops.group_by(keys, use_threads=False).aggregate([("node", "list")])
    return nodes.append_column("path", pc.binary_join(nodes["node_list"], " > ")).select(keys + ["path"])


def _strings(table: pa.Table) -> pa.Table:
    """`table` with its null-typed columns as strings: a run where no strategy found a solution writes its
    tables empty, and an empty column of names has no type (Arrow joins refuse it)."""
    return pa.table({name: column.cast(pa.string()) if pa.types.is_null(column.type) else column
                     for name, column in zip(table.column_names, table.columns)})


def _numpy(table: pa.Table) -> Columns:
    return {name: (column.to_numpy(zero_copy_only=False).astype(str) if pa.types.is_string(column.type)
                   or pa.types.is_large_string(column.type) else column.to_numpy())
            for name, column in zip(table.column_names, table.columns)}
