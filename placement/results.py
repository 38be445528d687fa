"""Run directories: written atomically, with what is needed to reproduce them, and read back for analysis.

A run is written into a hidden sibling folder and renamed into place only when complete, so
an interrupted run leaves no half-written directory, and an existing directory is never
touched unless the caller asks to replace it (and then only once the new one is complete).

A `placement run` directory holds config.json (the resolved config: `config_from_dict` re-runs it),
environment.json (package versions, git revision, seed, machine), metrics.json (per strategy) and four
Parquet tables with typed columns and units in the column names (`RUN_TABLES`). `load_run` reads one
back; `load_runs` also reads a sweep directory (one run directory per point, labelled by the point's
name). `comparison` and `differences` compute what the notebooks in experiments/notebooks/ compare
across runs, from the tables, so any subset of demands can be summarised the same way as the whole.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import placement
from placement.config import Config, config_from_dict
from placement.errors import InputError
from placement.problem.spec import HOST_KINDS

# The tables of a run directory (<name>.parquet): what one row is.
RUN_TABLES = {
    "demands": "one strategy's result for one demand (a model asked for at a site)",
    "hosts": "one host holding at least one model copy in one epoch, under one strategy",
    "assignments": "the requests of one demand that one host serves in one epoch, under one strategy",
    "tracks": "one satellite that some strategy uses as a host, at one time step of the horizon",
}
# The per-strategy figures `comparison` reports: request-weighted latency (served requests), shares of all
# requests, how many satellites served them, and the share of the in-orbit requests served in eclipse.
SUMMARY_METRICS = ("mean_latency_ms", "p95_latency_ms", "slo_attainment", "unserved_share", "share_satellite",
                   "share_gateway", "share_cloud", "satellites_used", "eclipse_share_in_orbit")
ECLIPSE_SUNLIT_FRACTION = 0.5  # below this visible share of the solar disc a satellite counts as in eclipse


@contextlib.contextmanager
def run_directory(out_dir: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a fresh folder to write the run into; on success it becomes `out_dir`."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise InputError("the run directory already exists (choose another --out, or --overwrite)",
                         source=str(out_dir), field="--out", expected="a path that does not exist yet")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.partial-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    retired = None
    if out_dir.exists():
        retired = out_dir.parent / f".{out_dir.name}.replaced-{uuid.uuid4().hex[:8]}"
        os.replace(out_dir, retired)
    os.replace(staging, out_dir)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)


def git_revision() -> str | None:
    """The source checkout's commit (with '-dirty' for local changes), or None outside git."""
    root = Path(placement.__file__).resolve().parent.parent
    try:
        rev = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return rev + ("-dirty" if dirty else "")


def environment() -> dict:
    """Package versions, device and machine: what a result depends on besides its config."""
    import jax

    devices = jax.devices()
    return {
        "placement": placement.__version__,
        "git_revision": git_revision(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "numpy": np.__version__,
        **{name: _version(name) for name in ("jaxlib", "ortools", "optax", "sgp4", "pyarrow", "matplotlib")},
        "backend": jax.default_backend(),
        "device": devices[0].device_kind if devices else None,
        "machine": {"platform": platform.platform(), "cpu": _cpu_model(), "cores": os.cpu_count()},
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
    }


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def machine_tag() -> str | None:
    """Short accelerator name for result file names ('h100'), or None on CPU."""
    import jax

    if jax.default_backend() == "cpu":
        return None
    kind = jax.devices()[0].device_kind.lower()
    for known in ("h200", "h100", "a100", "l4", "v100"):
        if known in kind:
            return known
    return kind.replace(" ", "-")


def save_benchmark(name: str, rows: list[dict], summary: dict, results_dir: str | Path) -> Path:
    """Write experiments/results/<name>[.<device>].json in the format of shared/BENCHMARKS.md
    and print the rows as a table."""
    import jax

    env = environment()
    tag = machine_tag()
    record = {
        "benchmark": name,
        "command": env["command"],
        "machine": {"cpu": env["machine"]["cpu"], "cores": env["machine"]["cores"],
                    "memory_gb": round(_memory_bytes() / 2**30, 1),
                    "gpu": None if tag is None else jax.devices()[0].device_kind},
        "date": env["date"],
        "versions": {"placement": env["placement"], "git_revision": env["git_revision"], "jax": env["jax"],
                     "numpy": env["numpy"]},
        "rows": rows,
        "summary": summary,
    }
    path = Path(results_dir) / (f"{name}.json" if tag is None else f"{name}.{tag}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, record)
    print(format_table(rows))
    print(json.dumps(summary, indent=2))
    print(f"saved {path}")
    return path


def format_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """Rows as aligned text columns (default: the benchmark format's case, impl, metric, value, unit)."""
    columns = columns or ["case", "impl", "metric", "value", "unit"]
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0


def write_table(path: Path, columns: dict) -> None:
    """One Parquet file from named columns (numpy arrays keep their dtype; lists of str become strings)."""
    pq.write_table(pa.table(columns), path)


@dataclasses.dataclass(frozen=True, eq=False)
class Run:
    """One run directory read back: its JSON records and its tables (`RUN_TABLES`) as pyarrow tables."""

    path: Path
    label: str  # the directory's name, or the sweep point's name
    config: dict
    environment: dict
    metrics: dict
    tables: dict[str, pa.Table]

    @property
    def strategies(self) -> list[str]:
        return list(self.metrics["strategies"])

    def table(self, name: str, strategy: str | None = None) -> dict[str, np.ndarray]:
        """A table's columns as numpy arrays, only the rows of `strategy` if given."""
        table = self.tables[name]
        if strategy is not None:
            table = table.filter(pc.equal(table["strategy"], strategy))
        return {column: table[column].to_numpy(zero_copy_only=False) for column in table.column_names}

    def to_config(self) -> Config:
        """The run's resolved config, to run again (paths in it resolve from the original config file's folder)."""
        return config_from_dict(self.config, source=self.environment.get("config_source"))


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror}", source=str(path),
                         expected="a run directory written by `placement run`") from None
    except json.JSONDecodeError as error:
        raise InputError(f"not valid JSON: {error}", source=str(path), expected="a JSON file") from None


def load_run(path: str | Path, label: str | None = None) -> Run:
    """Read a run directory written by `placement run`."""
    path = Path(path)
    if not (path / "metrics.json").is_file():
        raise InputError("no metrics.json: not a run directory", source=str(path),
                         expected="a directory written by `placement run`")
    tables = {}
    for name in RUN_TABLES:
        file = path / f"{name}.parquet"
        try:
            tables[name] = pq.read_table(file)
        except (OSError, pa.ArrowException) as error:
            raise InputError(f"cannot read the {name} table: {error}", source=str(file),
                             expected="a Parquet file written by `placement run` (older runs wrote CSV: run "
                                      "them again)") from None
    return Run(path, label or path.resolve().name, _read_json(path / "config.json"),
               _read_json(path / "environment.json"), _read_json(path / "metrics.json"), tables)


def load_runs(path: str | Path) -> list[Run]:
    """The runs under `path`: itself if it is a run directory, else every finished point of a sweep directory
    (sub-directories holding metrics.json, in the order of sweep.json when it is there), labelled by point."""
    path = Path(path)
    if (path / "metrics.json").is_file():
        return [load_run(path)]
    points = sorted(p.name for p in path.iterdir() if (p / "metrics.json").is_file()
                    and not p.name.startswith(".")) if path.is_dir() else []  # not a run being written
    if not points:
        raise InputError("neither a run directory nor a sweep directory with a finished point", source=str(path),
                         expected="a directory holding metrics.json, or sub-directories that do")
    if (path / "sweep.json").is_file():
        order = [Path(p["run_dir"]).name for p in _read_json(path / "sweep.json").get("points", [])]
        points.sort(key=lambda name: order.index(name) if name in order else len(order))
    return [load_run(path / name, label=name) for name in points]


def runs_from_environment(scenario: str) -> list[Run]:
    """The runs a notebook compares: $PLACEMENT_RUNS (run or sweep directories separated by os.pathsep), else
    every runs/<scenario>* that holds runs (runs/<scenario>, variants such as runs/<scenario>-gateway, sweeps
    runs/<scenario>-sweep), in name order, so the base config's run comes first. Labels are made unique
    ('name (2)'), so the same run given twice compares with itself."""
    given = os.environ.get("PLACEMENT_RUNS")
    paths = ([p for p in given.split(os.pathsep) if p] if given else
             [p for p in sorted(Path("runs").glob(f"{scenario}*"))
              if (p / "metrics.json").is_file() or any(p.glob("*/metrics.json"))])
    if not paths:
        raise InputError("no runs to compare", field="PLACEMENT_RUNS",
                         expected=f"run or sweep directories separated by {os.pathsep!r} "
                                  f"(default: runs/{scenario}*, e.g. from `placement run configs/{scenario}.toml`)")
    runs, seen = [], {}
    for run in (run for p in paths for run in load_runs(p)):
        seen[run.label] = seen.get(run.label, 0) + 1
        count = seen[run.label]
        runs.append(run if count == 1 else dataclasses.replace(run, label=f"{run.label} ({count})"))
    return runs


def figures_dir(scenario: str) -> Path:
    """Where a notebook writes: $PLACEMENT_FIGURES, else runs/figures/<scenario>/ (created)."""
    path = Path(os.environ.get("PLACEMENT_FIGURES") or Path("runs") / "figures" / scenario)
    path.mkdir(parents=True, exist_ok=True)
    return path


DemandFilter = Callable[[dict], np.ndarray]  # demands-table columns -> bool mask of the demands to keep


def sites_in(countries) -> DemandFilter:
    """The demands at sites in these countries (ISO 3166-1 alpha-2 codes)."""
    return lambda d: np.isin(d["site_country"], list(countries))


def sites_in_runs(runs: list[Run], countries, place: str) -> DemandFilter | None:
    """`sites_in(countries)` if it keeps a demand of some run, else None (every demand), saying so: a
    notebook then still runs on runs of another scenario, such as the quickstart in the tests."""
    demands = sites_in(countries)
    if any(_selected(run.table("demands"), demands).any() for run in runs):
        return demands
    print(f"no {place} sites in these runs: all demands are compared")
    return None


def _selected(d: dict, demands: DemandFilter | None) -> np.ndarray:
    return np.ones(len(d["demand"]), bool) if demands is None else np.asarray(demands(d), bool)


def _within(demands: DemandFilter | None, column: str, value) -> DemandFilter:
    return lambda d: _selected(d, demands) & (d[column] == value)


def served(run: Run, strategy: str, demands: DemandFilter | None = None) -> tuple[dict[str, np.ndarray], float]:
    """The assignments of the selected demands (all by default) and all their requests, served or not: the
    request-weighted latency distribution, where each row's weight is its `requests`."""
    d = run.table("demands", strategy)
    keep = _selected(d, demands)
    a = run.table("assignments", strategy)
    rows = np.isin(a["demand"], d["demand"][keep])
    return {column: values[rows] for column, values in a.items()}, float(d["requests"][keep].sum())


def latency_quantile(latency_ms: np.ndarray, requests: np.ndarray, q: float) -> float:
    """The smallest latency with at least q of the served requests at or below it (the evaluator's p95)."""
    order = np.argsort(latency_ms)
    cumulative = np.cumsum(requests[order])
    if cumulative.size == 0 or cumulative[-1] <= 0:
        return float("nan")
    return float(latency_ms[order][np.searchsorted(cumulative, q * cumulative[-1])])


def summarize(run: Run, strategy: str, demands: DemandFilter | None = None) -> dict:
    """`SUMMARY_METRICS` of one strategy over the selected demands (all by default), from the tables."""
    a, total = served(run, strategy, demands)
    w, latency = a["requests"], a["latency_ms"]
    n = w.sum()
    share = lambda part: float(part / total) if total > 0 else 0.0  # noqa: E731
    in_orbit = a["host_kind"] == "satellite"
    return {"mean_latency_ms": float((latency * w).sum() / n) if n > 0 else float("nan"),
            "p95_latency_ms": latency_quantile(latency, w, 0.95),
            "slo_attainment": share(w[latency <= a["slo_ms"]].sum()) if total > 0 else 1.0,
            "unserved_share": 1.0 - share(n) if total > 0 else 0.0,
            **{f"share_{kind}": share(w[a["host_kind"] == kind].sum()) for kind in HOST_KINDS},
            "satellites_used": int(np.unique(a["host"][in_orbit]).size),
            "eclipse_share_in_orbit": float(w[in_orbit & (a["sunlit_fraction"] < ECLIPSE_SUNLIT_FRACTION)].sum()
                                            / w[in_orbit].sum()) if w[in_orbit].sum() > 0 else float("nan")}


def comparison(runs: list[Run], demands: DemandFilter | None = None, by: str | None = None) -> list[dict]:
    """One row per run and strategy (and value of the demands-table column `by`, e.g. "model" or "site"): its
    status and `SUMMARY_METRICS` over the selected demands."""
    rows = []
    for run in runs:
        for name in run.strategies:
            if by is None:
                groups = {None: demands}
            else:
                d = run.table("demands", name)
                values = dict.fromkeys(d[by][_selected(d, demands)])
                groups = {value: _within(demands, by, value) for value in values}
            for value, selection in groups.items():
                rows.append({"run": run.label, "strategy": name, **({} if by is None else {by: str(value)}),
                             "status": run.metrics["strategies"][name]["status"],
                             **summarize(run, name, selection)})
    return rows


def _against_first(rows: list[dict], by: str | None) -> Iterator[tuple[dict, dict, dict]]:
    """(row of the first run, row of another run, the strategy and `by` group they share) for every row of
    `comparison` outside the first run that the first run has a counterpart of."""
    if not rows:
        return
    first = rows[0]["run"]
    keys = ["strategy"] + ([by] if by else [])
    base = {tuple(row[c] for c in keys): row for row in rows if row["run"] == first}
    for row in rows:
        key = tuple(row[c] for c in keys)
        if row["run"] != first and key in base:
            yield base[key], row, dict(zip(keys, key))


def differences(rows: list[dict], metrics: tuple[str, ...] = SUMMARY_METRICS, by: str | None = None) -> list[dict]:
    """Every other run against the first one of `comparison` rows (made with `by`), per strategy (and group)
    both have: run minus first."""
    return [{"run": row["run"], "versus": base["run"], **shared, **{f"delta_{m}": row[m] - base[m] for m in metrics}}
            for base, row, shared in _against_first(rows, by)]


def host_summary(run: Run, strategy: str, demands: DemandFilter | None = None, top: int = 10) -> list[dict]:
    """The hosts serving the selected demands, most requests first: requests and their share of the demands'
    requests (served or not), the epochs they serve in, and each host's peak compute and link utilisation over
    the horizon (all its load)."""
    a, total = served(run, strategy, demands)
    hosts = run.table("hosts", strategy)
    names, index = np.unique(a["host"], return_inverse=True)
    requests = np.bincount(index, weights=a["requests"], minlength=names.size)
    rows = []
    for i in np.argsort(-requests)[:top]:
        mine = hosts["host"] == names[i]
        rows.append({"run": run.label, "strategy": strategy, "host": str(names[i]),
                     "host_kind": str(a["host_kind"][index == i][0]),
                     "requests": float(requests[i]), "share": float(requests[i] / total) if total > 0 else 0.0,
                     "epochs": int(np.unique(a["epoch"][index == i]).size),
                     "peak_compute_utilization": float(hosts["compute_utilization"][mine].max()),
                     "peak_link_utilization": float(hosts["link_utilization"][mine].max())})
    return rows


def served_by(run: Run, strategy: str, column: str, demands: DemandFilter | None = None) -> list[dict]:
    """Requests of the selected demands served per value of an assignments column ("host_kind",
    "host_jurisdiction", "host"), most first, with their share of the demands' requests (served or not)."""
    a, total = served(run, strategy, demands)
    values, index = np.unique(a[column], return_inverse=True)
    requests = np.bincount(index, weights=a["requests"], minlength=values.size)
    return [{"run": run.label, "strategy": strategy, column: str(values[i]), "requests": float(requests[i]),
             "share": float(requests[i] / total) if total > 0 else 0.0} for i in np.argsort(-requests)]


def pick(rows: list[dict], **match) -> dict | None:
    """The first row whose columns equal `match` (None: no such row)."""
    return next((row for row in rows if all(row.get(k) == v for k, v in match.items())), None)


def describe_differences(rows: list[dict], metrics: tuple[str, ...] = ("mean_latency_ms", "p95_latency_ms"),
                         strategies: list[str] | None = None, by: str | None = None) -> str:
    """`comparison` rows (made with `by`) as sentences: for each other run against the first, per strategy (of
    `strategies`, default all), each metric from -> to (change)."""
    lines = [f"- {row['run']} against {base['run']}, {', '.join(shared.values())}: "
             + ", ".join(f"{m} {_cell(base[m])} -> {_cell(row[m])} ({row[m] - base[m]:+.4g})" for m in metrics)
             for base, row, shared in _against_first(rows, by) if strategies is None or row["strategy"] in strategies]
    return "\n".join(lines) or "One run: nothing to compare it with."


def best_strategy(run: Run) -> str | None:
    """The strategy with the lowest evaluated objective among the feasible ones (None: none is)."""
    feasible = {name: m["objective"] for name, m in run.metrics["strategies"].items() if m.get("feasible")}
    return min(feasible, key=feasible.get) if feasible else None


def key_strategies(runs: list[Run], also: tuple[str, ...] = ()) -> list[str]:
    """The best strategy of each run, then `also`: those that some run has, each once."""
    names = [best_strategy(run) for run in runs] + list(also)
    return [name for name in dict.fromkeys(names) if any(name in run.strategies for run in runs)]


def markdown_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """Rows as a Markdown table (numbers to 4 significant digits)."""
    if not rows:
        return "(none)"
    columns = columns or list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def write_report(out_dir: str | Path, title: str, text: str, sections: dict[str, list[dict]]) -> Path:
    """summary.md (the title, `text`, then each section as a table) and one <section>.csv per non-empty section;
    returns the Markdown file."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    parts = [f"# {title}", text.strip()]
    for name, rows in sections.items():
        parts += [f"## {name}", markdown_table(rows)]
        if rows:
            with open(out_dir / f"{name}.csv", "w", newline="") as f:
                out = csv.DictWriter(f, fieldnames=list(rows[0]))
                out.writeheader()
                out.writerows(rows)
    path = out_dir / "summary.md"
    path.write_text("\n\n".join(parts) + "\n")
    return path
