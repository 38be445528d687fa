"""Run directories read back for analysis: what the notebooks in experiments/notebooks/ compare across runs.

`load_run` reads one `placement run` directory (config.json, environment.json, metrics.json and the Parquet
tables of `RUN_TABLES`); `load_runs` also reads a sweep directory (one run directory per point, labelled by
the point's name). `comparison` and `differences` compute their figures from the tables, so any subset of
demands can be summarised the same way as the whole.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from placement.config import Config, config_from_dict
from placement.errors import InputError
from placement.problem.spec import HOST_KINDS
from placement.results.rundir import cell

# The tables of a run directory (<name>.parquet): what one row is.
RUN_TABLES = {
    "demands": "one strategy's result for one demand (a model asked for at a site)",
    "hosts": "one host holding at least one model copy in one epoch, under one strategy",
    "assignments": "the requests of one demand that one host serves in one epoch, under one strategy",
    "placements": "one model's copy on one host in one epoch, under one strategy, with the requests it serves",
    "tracks": "one satellite that some strategy uses as a host, at one time step of the horizon",
    "paths": "one node of the path from a site to a host serving it, at one network step",
}
# The per-strategy figures `comparison` reports: request-weighted latency (served requests), shares of all
# requests, how many satellites served them, and the share of the in-orbit requests served in eclipse.
SUMMARY_METRICS = ("mean_latency_ms", "p95_latency_ms", "slo_attainment", "unserved_share", "share_satellite",
                   "share_gateway", "share_cloud", "share_local", "satellites_used", "eclipse_share_in_orbit")
ECLIPSE_SUNLIT_FRACTION = 0.5  # below this visible share of the solar disc a satellite counts as in eclipse


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
             + ", ".join(f"{m} {cell(base[m])} -> {cell(row[m])} ({row[m] - base[m]:+.4g})" for m in metrics)
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


def summary_rows(metrics: dict) -> list[dict]:
    """The comparison `placement run` prints (and report.html shows): a row per strategy of metrics.json."""
    return [{"strategy": name, "status": m["status"], "mean_ms": m.get("mean_latency_ms"),
             "wait_ms": m.get("mean_waiting_ms"), "p95_ms": m.get("p95_latency_ms"), "slo": m.get("slo_attainment"),
             "unserved": m.get("unserved_share"), "in_orbit": m.get("share_satellite"),
             "gateway": m.get("share_gateway"), "cloud": m.get("share_cloud"), "local": m.get("share_local"),
             "gap": m["gap"], "solve_s": m["solve_seconds"]}
            for name, m in metrics["strategies"].items()]


def markdown_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """Rows as a Markdown table (numbers to 4 significant digits)."""
    if not rows:
        return "(none)"
    columns = columns or list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
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
