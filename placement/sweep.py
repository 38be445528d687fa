"""Sweeps: one config run at every point of a grid of field values, resumable, in-process or on Ray.

`sweep(config, ["problem.epoch_s=300,600", "network.fiber_route_factor=1.0,1.3"], overrides, out)` runs the
cartesian product of the grids (here four points). A point is the config with the sweep's own `--set`
overrides and then the point's `key=value` pairs, run by `pipeline.run` into its own complete run directory
`<out>/<point name>/`; the name is the pairs joined by ',', quotes dropped and anything else but letters,
digits and `._,=+-` replaced by '_' (`problem.epoch_s=300,network.fiber_route_factor=1.0`). `<out>/sweep.json`
records the config, the grid and each point's overrides, status ("pending", "done", "skipped" or "failed"),
error and seconds.

Why it is built this way:
- every point's config is resolved (`placement.scenario.resolve`: every reference checked, as `placement
  run` does) before anything runs, so a typo in the last value of a grid fails in a second rather than
  after hours of points;
- a run directory appears only when complete (pipeline.run renames it into place), so a point whose
  directory holds metrics.json is finished: an interrupted sweep resumes without redoing or losing any;
- a finished point is kept only if its recorded config.json is the config this sweep gives it, and a
  re-run into the same directory must use the same config, `--set` overrides and grid keys (it may add
  values), so results from different settings are never mixed under one sweep.json;
- a failing point is recorded and the others go on;
- a point runs in this process (`local`), or as a Ray task (`ray`) that receives its config and input files
  and returns its run directory's files, which this process writes (`placement.sweep_points`): no folder is
  shared with the cluster, and each task asks Ray for the CPUs, GPUs and memory of `PointOptions`;
- `<out>/sweep.parquet` is every point and strategy in one table, the grid's values as columns, for analysis.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import json
import math
import os
import re
from pathlib import Path
from typing import Callable, Iterator

from placement.compile_cache import cache_dir, use_cache
from placement.config import config_from_dict, config_to_dict, load_config, parse_override
from placement.errors import InputError
from placement.failures import impact as failure_impact
from placement.progress import LOG
from placement.ray_session import connected, import_ray
from placement.results import claim, format_table, json_text, write_json, write_marker, write_table
from placement.scenario import resolve
from placement.sweep_points import input_paths, pack, read_inputs, run_packed, run_point, store

EXECUTORS = ("local", "ray")
RECORD = "sweep.json"
TABLE = "sweep.parquet"
_UNSAFE = re.compile(r"[^A-Za-z0-9._,=+-]+")
_MAX_NAME = 150  # file names stop at 255 bytes; longer point names are cut and keep a hash of the whole


@dataclasses.dataclass(frozen=True, eq=False)
class Point:
    name: str
    overrides: tuple[str, ...]  # the sweep's --set, then this point's grid values
    run_dir: Path
    config: dict  # the resolved config as plain data (what its config.json holds once run)
    values: dict[str, str]  # this point's grid values, as written


@dataclasses.dataclass(frozen=True)
class PointOptions:
    """How each point runs: what its Ray task asks for (None: Ray's default, one CPU), how often Ray runs a
    failed task again, whether it draws plots and writes report.html, and where JAX keeps compiled programs
    (`placement.compile_cache`: resolved where the point runs)."""

    cpus: float | None = None
    gpus: float | None = None
    memory_gb: float | None = None
    retries: int | None = None
    draw_plots: bool = True
    write_report: bool = True
    compile_cache: str | None = None

    def check(self, executor: str) -> None:
        """Refuse a request Ray cannot take, or a Ray request with the local executor, before anything runs."""
        requests = {"--cpus": (self.cpus, "a number >= 0"), "--gpus": (self.gpus, "a number >= 0"),
                    "--memory-gb": (self.memory_gb, "a positive number of GB"),
                    "--retries": (self.retries, "an integer >= 0")}
        for flag, (value, expected) in requests.items():
            if value is None:
                continue
            if executor != "ray":
                raise InputError(f"{flag} asks Ray for each point's task, and the executor is {executor!r}",
                                 field=flag, expected="--executor ray")
            if not (math.isfinite(value) and (value > 0 if flag == "--memory-gb" else value >= 0)):
                raise InputError(f"{value!r} is out of range", field=flag, expected=expected)

    def ray_options(self) -> dict:
        """The Ray task options (memory in bytes; a failed task retried for an exception too)."""
        retries = self.retries or 0
        options = {"num_cpus": 1 if self.cpus is None else self.cpus, "max_retries": retries,
                   "retry_exceptions": retries > 0}
        if self.gpus is not None:
            options["num_gpus"] = self.gpus
        if self.memory_gb is not None:
            options["memory"] = int(self.memory_gb * 1e9)
        return options


def split_values(text: str) -> list[str]:
    """'1,2' -> ['1', '2']; a comma inside brackets, braces or quotes belongs to its value, so
    "['greedy','milp'],['milp']" is two values."""
    values, start, depth, quote, escaped = [], 0, 0, None, False
    for i, char in enumerate(text):
        if quote is not None:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            values.append(text[start:i].strip())
            start = i + 1
    values.append(text[start:].strip())
    return values if text.strip() else []


def parse_grid(text: str) -> tuple[str, list[str]]:
    """'problem.epoch_s=300,600' -> ('problem.epoch_s', ['300', '600']), each value as written (TOML)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    values = split_values(raw)
    if not sep or not key:
        raise InputError(f"grid {text!r} is not key=values", field="--grid", expected="dotted.key=v1,v2,...")
    if not values or not all(values):
        raise InputError(f"grid {text!r} has an empty value", field="--grid",
                         expected="dotted.key=v1,v2,... with a value between every two commas")
    return key, values


def point_name(pairs: tuple[tuple[str, str], ...]) -> str:
    """The directory name of a point: its key=value pairs joined by ',', made a safe file name."""
    text = ",".join(f"{key}={value}" for key, value in pairs)
    name = _UNSAFE.sub("_", text.replace('"', "").replace("'", ""))
    if len(name) > _MAX_NAME:
        name = name[:_MAX_NAME - 11] + "-" + hashlib.sha1(text.encode()).hexdigest()[:10]
    return name


def plan(config_path: str | Path, grid: list[str], overrides: list[str],
         out_dir: str | Path) -> tuple[dict, list[Point]]:
    """The grid as {key: values} and the sweep's points in grid order, every point's config validated:
    the first bad key or value raises the config's InputError naming the field."""
    axes: dict[str, list[str]] = {}
    for text in grid:
        key, values = parse_grid(text)
        if key in axes:
            raise InputError(f"{key!r} has two grids", field="--grid",
                             expected="each key once, its values joined by ','")
        axes[key] = values
    if not axes:
        raise InputError("no grid", field="--grid", expected="at least one --grid key=v1,v2,...")
    points, seen = [], {}
    for pairs in itertools.product(*[[(key, value) for value in values] for key, values in axes.items()]):
        name = point_name(pairs)
        text = ",".join(f"{key}={value}" for key, value in pairs)
        if name in seen:
            raise InputError(f"points {seen[name]!r} and {text!r} both get the directory name {name!r}", field="--grid",
                             expected="values that differ in more than quotes and punctuation")
        seen[name] = text
        point_overrides = tuple(overrides) + tuple(f"{key}={value}" for key, value in pairs)
        config = load_config(config_path, list(point_overrides))
        resolve(config)  # what `placement run` would reject is rejected here, before any point runs
        points.append(Point(name, point_overrides, Path(out_dir) / name, _plain(config_to_dict(config)),
                            dict(pairs)))
    return axes, points


def run_points(config_path: str | Path, points: list[Point], executor: str = "local", address: str | None = None,
               options: PointOptions = PointOptions()) -> Iterator[tuple[Point, dict]]:
    """Run every point with an executor; yields (point, its outcome: {"status": "done" | "failed", "seconds",
    "error"?}) as each finishes. The executor and options are checked (and Ray imported) at once; the points
    run as the iterator is consumed."""
    if address is not None and executor != "ray":
        raise InputError("a Ray address without the ray executor", field="--address", expected="--executor ray")
    options.check(executor)
    config_path = str(Path(config_path).resolve())  # what relative paths in the config start from
    if executor == "local":
        return _local_points(config_path, points, options)
    if executor == "ray":
        return _ray_points(import_ray("--executor"), config_path, points, address, options)
    raise InputError(f"unknown executor {executor!r}", field="--executor", expected="one of " + ", ".join(EXECUTORS))


def _local_points(config_path: str, points: list[Point], options: PointOptions) -> Iterator[tuple[Point, dict]]:
    use_cache(cache_dir(options.compile_cache))
    for point in points:
        config = config_from_dict(point.config, source=config_path)
        yield point, run_point(config, point.run_dir.resolve(), draw_plots=options.draw_plots,
                                  write_report=options.write_report)


def _ray_points(ray, config_path: str, points: list[Point], address: str | None,
                options: PointOptions = PointOptions()) -> Iterator[tuple[Point, dict]]:
    """Each point a Ray task (`placement.sweep_points`: it receives the config and input files and returns the
    run directory's files, written here), on the cluster at `address` (ray_session.connected)."""
    with connected(ray, address):
        # Without --retries a point whose task failed is reported failed, and the next sweep runs it again.
        task = ray.remote(**options.ray_options())(run_packed)
        shared, pending = {}, {}  # one copy of each set of input files in Ray's object store, for every point
        for point in points:
            paths = input_paths(point.config, Path(config_path))
            key = tuple(sorted(paths.items()))
            if key not in shared:
                shared[key] = ray.put(read_inputs(paths))
            job = pack(point.name, point.config, Path(config_path), draw_plots=options.draw_plots,
                       write_report=options.write_report, compile_cache=options.compile_cache)
            pending[task.remote(job, shared[key])] = point
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            point = pending.pop(ref)
            try:
                outcome = ray.get(ref)
                if outcome["status"] == "done":
                    store(outcome.pop("files"), point.run_dir, point.config, config_path)
            except ray.exceptions.RayError as error:  # the task raised, or its worker or node died
                cause = getattr(error, "cause", None) or error
                outcome = {"status": "failed", "seconds": None, "error": f"{type(cause).__name__}: {cause}"}
            except InputError as error:  # the point's directory could not be written as returned
                outcome = {"status": "failed", "seconds": outcome.get("seconds"), "error": str(error)}
            yield point, outcome


def sweep(config_path: str | Path, grid: list[str], overrides: list[str], out_dir: str | Path,
          executor: str = "local", address: str | None = None, options: PointOptions = PointOptions(),
          progress: Callable[[str], None] = LOG.info) -> dict:
    """Run `config_path` at every point of `grid` into `out_dir`, skipping finished points; returns the record
    it writes to sweep.json (and writes sweep.parquet). Raises InputError, before running anything, for a bad
    grid, config or option, or an `out_dir` that holds a different sweep."""
    config_path, out_dir = Path(config_path), Path(out_dir)
    axes, points = plan(config_path, grid, list(overrides), out_dir)
    record = {"config": str(config_path.resolve()), "overrides": list(overrides), "grid": axes, "executor": executor,
              "points": []}
    _check_previous(out_dir / RECORD, record)
    finished = {p.name for p in points if (p.run_dir / "metrics.json").exists()}
    for point in points:
        if point.name in finished:
            _check_finished(point)
    todo = [p for p in points if p.name not in finished]
    outcomes = run_points(config_path, todo, executor, address, options)
    with _sole_sweep(out_dir):
        entries = {p.name: {"name": p.name, "overrides": list(p.overrides), "values": p.values,
                            "run_dir": str(p.run_dir), "status": "skipped" if p.name in finished else "pending",
                            "seconds": None} for p in points}
        record["points"] = list(entries.values())
        _write_record(out_dir / RECORD, record)
        progress(f"sweep: {len(points)} points, {len(finished)} finished already, {len(todo)} to run ({executor})")
        # A killed run's staging folder is removed when its point runs again (placement.results.run_directory).
        for point, outcome in outcomes:
            entries[point.name].update(outcome)
            _write_record(out_dir / RECORD, record)
            progress(f"sweep: {point.name}: {outcome['status']}")
        _replace(out_dir / TABLE, lambda path: write_table(path, _columns(record, point_metrics(record))))
    return record


def point_metrics(record: dict) -> dict[str, dict]:
    """metrics.json of every finished point of a sweep record, by point name."""
    return {p["name"]: json.loads((Path(p["run_dir"]) / "metrics.json").read_text())
            for p in record["points"] if p["status"] in ("done", "skipped")}


# The figures of each strategy that sweep.parquet holds (metrics.json's names), and the summary's short names.
STRATEGY_FIGURES = ("status", "objective", "mean_latency_ms", "p95_latency_ms", "slo_attainment", "unserved_share",
                    "share_satellite", "share_gateway", "share_cloud", "share_local", "gap", "solve_seconds",
                    *failure_impact.FIGURE_NAMES)
_SUMMARY = {"point": "point", "sweep": "sweep", "strategy": "strategy", "status": "status",
            "mean_latency_ms": "mean_ms", "p95_latency_ms": "p95_ms", "unserved_share": "unserved",
            "solve_seconds": "solve_s"}


def rows(record: dict, metrics: dict[str, dict]) -> list[dict]:
    """One row per point and strategy (one row without a strategy for a point without metrics): the point,
    its sweep status, error and seconds, its grid values (each key a column: no config key is one of these
    names), the strategy and its figures."""
    out = []
    for p in record["points"]:
        point = {"point": p["name"], "sweep": p["status"], "error": p.get("error"), "point_seconds": p["seconds"],
                 **p["values"]}
        strategies = metrics.get(p["name"], {}).get("strategies", {})
        out += [{**point, "strategy": name, **{figure: m.get(figure) for figure in STRATEGY_FIGURES}}
                for name, m in strategies.items()] or [point]
    return out


def summary_table(record: dict, metrics: dict[str, dict]) -> str:
    """One line per point and strategy (one line for a point without metrics)."""
    table = [{short: row.get(name) for name, short in _SUMMARY.items()} for row in rows(record, metrics)]
    return format_table(table, list(_SUMMARY.values()))


def _columns(record: dict, metrics: dict[str, dict]) -> dict[str, list]:
    """sweep.parquet's columns: `rows` with each grid key a column named by the key, holding numbers where
    every value of the grid is a number (or true/false), else the values as written."""
    table = rows(record, metrics)
    columns = {name: [row.get(name) for row in table] for name in dict.fromkeys(n for row in table for n in row)}
    for key, values in record["grid"].items():
        parsed = {value: parse_override(f"v={value}")[1] for value in values}
        kinds = {type(v) for v in parsed.values()}
        if kinds <= {int, float} or kinds == {bool}:
            columns[key] = [parsed[value] for value in columns[key]]
    return columns


def _check_finished(point: Point) -> None:
    """A finished point is kept only if it ran with the config this sweep gives it."""
    path = point.run_dir / "config.json"
    try:
        recorded = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise InputError(f"cannot read the finished point's config: {error}", source=str(path),
                         expected="the config.json that placement run writes") from None
    difference = _first_difference(recorded, point.config)
    if difference is not None:
        raise InputError(f"the finished point ran with another value of {difference!r} than this sweep gives it",
                         source=str(path), field=difference,
                         expected="the same config; remove the point's directory to run it again, "
                                  "or choose another --out")


def _check_previous(path: Path, record: dict) -> None:
    """A sweep directory holds one sweep: same config, --set overrides and grid keys; values may be added."""
    if not path.exists():
        return
    try:
        previous = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise InputError(f"cannot read the sweep record: {error}", source=str(path),
                         expected="a sweep.json written by placement sweep") from None
    for key, label in (("config", "CONFIG"), ("overrides", "--set")):
        if previous.get(key) != record[key]:
            raise InputError(f"this directory holds a sweep with {label} {previous.get(key)!r}, not {record[key]!r}",
                             source=str(path), field=label,
                             expected="the same config and --set overrides as the sweep there; or another --out")
    old, new = previous.get("grid", {}), record["grid"]
    if list(old) != list(new) or any(not set(values) <= set(new[key]) for key, values in old.items()):
        raise InputError(f"this directory holds a sweep over {_grid_text(old)}, not {_grid_text(new)}",
                         source=str(path), field="--grid",
                         expected="the same grid keys in the same order, with the same or more values; "
                                  "or another --out")


def _grid_text(axes: dict) -> str:
    return " ".join(f"{key}={','.join(values)}" for key, values in axes.items())


def _first_difference(a, b, path: str = "") -> str | None:
    """The first dotted field path where two plain-data configs differ, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*b, *(k for k in a if k not in b)]:
            found = _first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else key)
            if found is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return next((found for i, (x, y) in enumerate(zip(a, b))
                     if (found := _first_difference(x, y, f"{path}[{i}]")) is not None), None)
    return None if a == b else (path or "config")


def _plain(data: dict) -> dict:
    """As it reads back from JSON (the form config.json has)."""
    return json.loads(json_text(data))


def _write_record(path: Path, record: dict) -> None:
    _replace(path, lambda temporary: write_json(temporary, record))


def _replace(path: Path, write: Callable[[Path], None]) -> None:
    """Write atomically: a reader (or a killed sweep) sees the previous file or the new one, never half."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(temporary)
    os.replace(temporary, path)


@contextlib.contextmanager
def _sole_sweep(out_dir: Path) -> Iterator[None]:
    """Claim the sweep directory (`placement.results.claim`: released by the OS if the process dies), and mark
    it as ours: two sweeps into one directory would run the same points and overwrite each other's record."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with claim(out_dir):
        out_dir.mkdir(exist_ok=True)
        write_marker(out_dir, "sweep")
        yield
