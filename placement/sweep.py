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
- points are passed to executors as plain data (config path, overrides, run directory), so the same
  `run_point` runs in this process (`local`) or as a Ray task on a cluster (`ray`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import json
import os
import re
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Callable, Iterator

from placement.config import config_to_dict, load_config
from placement.errors import InputError
from placement.results import claim, format_table, json_text, write_json, write_marker
from placement.scenario import resolve

EXECUTORS = ("local", "ray")
RECORD = "sweep.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9._,=+-]+")
_MAX_NAME = 150  # file names stop at 255 bytes; longer point names are cut and keep a hash of the whole


@dataclasses.dataclass(frozen=True, eq=False)
class Point:
    name: str
    overrides: tuple[str, ...]  # the sweep's --set, then this point's grid values
    run_dir: Path
    config: dict  # the resolved config as plain data (what its config.json holds once run)


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
        points.append(Point(name, point_overrides, Path(out_dir) / name, _plain(config_to_dict(config))))
    return axes, points


def run_point(config_path: str, overrides: list[str], run_dir: str) -> dict:
    """Run one point: {"status": "done" | "failed", "seconds", "error"?}. Plain data in and out, so it runs
    alike in this process and as a Ray task on another machine."""
    from placement import pipeline

    name = Path(run_dir).name
    started = time.perf_counter()
    try:
        pipeline.run(resolve(load_config(config_path, overrides)), run_dir,
                     progress=lambda message: print(f"{name}: {message}", file=sys.stderr, flush=True))
    except Exception as error:  # a failing point must not stop the others: it is reported in sweep.json
        if not isinstance(error, InputError):
            traceback.print_exc()
        return {"status": "failed", "seconds": time.perf_counter() - started,
                "error": str(error) if isinstance(error, InputError) else f"{type(error).__name__}: {error}"}
    return {"status": "done", "seconds": time.perf_counter() - started}


def run_points(config_path: str | Path, points: list[Point], executor: str = "local",
               address: str | None = None) -> Iterator[tuple[Point, dict]]:
    """Run every point with an executor; yields (point, run_point's outcome) as each finishes. The executor is
    checked (and Ray imported) at once; the points run as the iterator is consumed."""
    config_path = str(Path(config_path).resolve())  # a Ray worker may start in another folder
    if executor == "local":
        return ((p, run_point(config_path, list(p.overrides), str(p.run_dir.resolve()))) for p in points)
    if executor == "ray":
        return _ray_points(_import_ray(), config_path, points, address)
    raise InputError(f"unknown executor {executor!r}", field="--executor", expected="one of " + ", ".join(EXECUTORS))


def _import_ray():
    try:
        import ray
    except ImportError:
        raise InputError("the ray executor needs Ray: pip install 'placement[ray]' (in a checkout: "
                         "pip install -e '.[ray]')", field="--executor", expected="Ray installed, or local") from None
    return ray


def _ray_points(ray, config_path: str, points: list[Point], address: str | None) -> Iterator[tuple[Point, dict]]:
    """Each point a Ray task. Connects to `address` (default: a new local instance) unless this process is
    connected already; shuts down only what it started."""
    started_here = not ray.is_initialized()
    if started_here:
        with warnings.catch_warnings():
            # Ray starts its daemons with fork and exec, which JAX's warning about fork does not tell apart.
            warnings.filterwarnings("ignore", "os.fork", RuntimeWarning)
            # A new local instance listens on loopback only, without the dashboard: Ray runs whatever code is
            # submitted to it and has no authentication, so it must not be reachable from the network.
            if address is None:
                ray.init(_node_ip_address="127.0.0.1", include_dashboard=False)
            else:
                ray.init(address=address)
    try:
        # No retries: a point whose worker died is reported failed, and the next sweep runs it again.
        task = ray.remote(num_cpus=1, max_retries=0)(run_point)
        pending = {task.remote(config_path, list(p.overrides), str(p.run_dir.resolve())): p for p in points}
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            point = pending.pop(ref)
            try:
                outcome = ray.get(ref)
            except ray.exceptions.RayError as error:  # the worker or its node died
                outcome = {"status": "failed", "seconds": None, "error": f"{type(error).__name__}: {error}"}
            yield point, outcome
    finally:
        if started_here:
            ray.shutdown()


def sweep(config_path: str | Path, grid: list[str], overrides: list[str], out_dir: str | Path,
          executor: str = "local", address: str | None = None,
          progress: Callable[[str], None] = lambda message: print(message, file=sys.stderr, flush=True)) -> dict:
    """Run `config_path` at every point of `grid` into `out_dir`, skipping finished points; returns the record
    it writes to sweep.json. Raises InputError, before running anything,
    for a bad grid or config, or an `out_dir` that holds a different sweep."""
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
    outcomes = run_points(config_path, todo, executor, address)
    with _sole_sweep(out_dir):
        entries = {p.name: {"name": p.name, "overrides": list(p.overrides), "run_dir": str(p.run_dir),
                            "status": "skipped" if p.name in finished else "pending", "seconds": None} for p in points}
        record["points"] = list(entries.values())
        _write_record(out_dir / RECORD, record)
        progress(f"sweep: {len(points)} points, {len(finished)} finished already, {len(todo)} to run ({executor})")
        # A killed run's staging folder is removed when its point runs again (placement.results.run_directory).
        for point, outcome in outcomes:
            entries[point.name].update(outcome)
            _write_record(out_dir / RECORD, record)
            progress(f"sweep: {point.name}: {outcome['status']}")
    return record


def point_metrics(record: dict) -> dict[str, dict]:
    """metrics.json of every finished point of a sweep record, by point name."""
    return {p["name"]: json.loads((Path(p["run_dir"]) / "metrics.json").read_text())
            for p in record["points"] if p["status"] in ("done", "skipped")}


def summary_table(record: dict, metrics: dict[str, dict]) -> str:
    """One row per point and strategy (one row for a point without metrics)."""
    rows = []
    for p in record["points"]:
        strategies = metrics.get(p["name"], {}).get("strategies", {})
        rows += [{"point": p["name"], "sweep": p["status"], "strategy": name, "status": m["status"],
                  "mean_ms": m.get("mean_latency_ms"), "p95_ms": m.get("p95_latency_ms"),
                  "unserved": m.get("unserved_share"), "solve_s": m["solve_seconds"]}
                 for name, m in strategies.items()] or [{"point": p["name"], "sweep": p["status"]}]
    return format_table(rows, ["point", "sweep", "strategy", "status", "mean_ms", "p95_ms", "unserved", "solve_s"])


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
    """Write atomically: a reader (or a killed sweep) sees the previous record or the new one, never half."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write_json(temporary, record)
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
