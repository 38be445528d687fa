"""A run directory read once for the exports and the HTML report: where every satellite is at each time step,
which host runs which model in each placement epoch, which sites each copy serves, and the ground segment.

This is the one place that knows how those facts are spelt in the run's files (`placement.results.tables`):
the writers in `czml`, `geojson`, `kml` and `report` read only `RunView`. Placements are derived here from the
assignments (a copy that serves nothing has no row there and is not drawn); the UTC times of the epochs from
the run's config (`time.start`, `problem.epoch_s`) and its epoch count (metrics.json). Satellite altitudes are
the tracks' `alt_km` where a run wrote them, and otherwise come from propagating the run's element set again
on the tracks' time grid (the same SGP4 as the run), so no writer has to guess a height.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
from pathlib import Path

import numpy as np
import pyarrow as pa

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
    sites: Columns  # [site] name, country, lat_deg, lon_deg
    ground: Columns  # [node] name, kind ('gateway' or 'cloud'), country, lat_deg, lon_deg
    placements: Columns  # [row] strategy, epoch, host, host_kind, model, requests, demands, lat_deg, lon_deg
    links: Columns  # [row] strategy, epoch, demand, site, host, host_kind, model, requests, latency_ms

    @functools.cached_property
    def track_alt_km(self) -> np.ndarray:
        """[sat, time] height above the WGS84 ellipsoid (on first use: the report has no need of it)."""
        tracks = self.run.tables["tracks"]
        if "alt_km" in tracks.column_names:
            return np.asarray(tracks["alt_km"].to_numpy(), np.float64).reshape(self.track_lat_deg.shape)
        return _propagated_altitude_km(self.run, self.satellites, self.track_time_s)

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
    satellites, time_s, lat, lon = _tracks(run)
    return RunView(run=run, start_utc=to_datetime(start_jd, start_fr), epoch_start_s=epoch_start_s,
                   epoch_end_s=epoch_start_s + epoch_s, satellites=satellites, track_time_s=time_s,
                   track_lat_deg=lat, track_lon_deg=lon, sites=_sites(run),
                   ground=_ground(run), placements=_placements(run), links=_links(run))


def rows(columns: Columns, **match) -> Columns:
    """The rows of `columns` whose columns equal `match` (a None value matches every row)."""
    n = len(next(iter(columns.values())))
    keep = np.ones(n, bool)
    for name, value in match.items():
        if value is not None:
            keep &= columns[name] == value
    return {name: values[keep] for name, values in columns.items()}


def _tracks(run: Run) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]:
    """Satellite names, the time steps (s) and [sat, time] latitude and longitude from the tracks table, whose
    rows are each satellite's time steps in order (tables.run_tables)."""
    tracks = run.tables["tracks"]
    names = tracks["satellite"].to_numpy(zero_copy_only=False).astype(str)
    satellites = tuple(dict.fromkeys(names))
    n_time = len(names) // max(len(satellites), 1)
    shape = (len(satellites), n_time)
    lat, lon = (np.asarray(tracks[c].to_numpy(), np.float64).reshape(shape) for c in ("lat_deg", "lon_deg"))
    return satellites, tracks["time_min"].to_numpy()[:n_time] * 60.0, lat, lon


def _propagated_altitude_km(run: Run, satellites: tuple[str, ...], time_s: np.ndarray) -> np.ndarray:
    """[sat, time] altitude of `satellites` from the run's element set propagated again on the tracks' grid."""
    from placement.propagation.orbits import propagate_orbits
    from placement.propagation.timegrid import TimeGrid
    from placement.scenario import resolve_propagation

    if not satellites:
        return np.zeros((0, len(time_s)))
    elements = resolve_propagation(run.to_config()).constellation.elements
    index = {name: i for i, name in enumerate(elements.name)}
    missing = [name for name in satellites if name not in index]
    if missing:
        raise InputError(f"the tracks name satellites the run's constellation lacks ({', '.join(missing[:3])})",
                         source=str(run.path / "tracks.parquet"), expected="a run directory and its own config")
    step_s = float(time_s[1] - time_s[0]) if len(time_s) > 1 else 1.0
    grid = TimeGrid.from_utc(run.config["time"]["start"], step_s, len(time_s))
    orbits = propagate_orbits(elements.take([index[name] for name in satellites]), grid,
                              run.config.get("propagation", {}).get("precision", "float64"))
    return orbits.geodetic()[2]


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
    """One row per strategy, epoch, host and model it serves: the requests and demands it serves, and the
    host's position at the epoch's start (hosts table)."""
    a = _strings(run.tables["assignments"])
    keys = ["strategy", "epoch", "host", "host_kind", "model"]
    grouped = a.group_by(keys).aggregate([("requests", "sum"), ("demand", "count")])
    grouped = grouped.rename_columns(keys + ["requests", "demands"])
    where = _strings(run.tables["hosts"]).select(["strategy", "epoch", "host", "lat_deg", "lon_deg"])
    joined = grouped.join(where, ["strategy", "epoch", "host"]).sort_by([(k, "ascending") for k in keys])
    return _numpy(joined)


def _links(run: Run) -> Columns:
    """One row per assignment (strategy, epoch, demand, host, model) with the demand's site."""
    a = _strings(run.tables["assignments"]).select(["strategy", "epoch", "demand", "host", "host_kind", "model",
                                                    "requests", "latency_ms"])
    sites = _strings(run.tables["demands"]).select(["strategy", "demand", "site"])
    joined = a.join(sites, ["strategy", "demand"]).sort_by([("strategy", "ascending"), ("epoch", "ascending"),
                                                           ("demand", "ascending"), ("host", "ascending")])
    return _numpy(joined)


def _strings(table: pa.Table) -> pa.Table:
    """`table` with its null-typed columns as strings: a run where no strategy found a solution writes its
    tables empty, and an empty column of names has no type (Arrow joins refuse it)."""
    return pa.table({name: column.cast(pa.string()) if pa.types.is_null(column.type) else column
                     for name, column in zip(table.column_names, table.columns)})


def _numpy(table: pa.Table) -> Columns:
    return {name: (column.to_numpy(zero_copy_only=False).astype(str) if pa.types.is_string(column.type)
                   or pa.types.is_large_string(column.type) else column.to_numpy())
            for name, column in zip(table.column_names, table.columns)}
