"""A sweep point: run in the driver's process (`run_point`), or on a machine that shares no folder with the
driver (a Ray worker of a cluster).

For the second, the driver `pack`s a point as plain data: its resolved config (what its config.json will
hold) and how to run it; apart from it (one copy for all the points that read them) travel the bytes of every
file that config reads (`read_inputs`: the element set, the site table, the laser list). No path of the
driver's travels. On the worker, `run_packed` writes
the inputs into a private temporary folder, points the config's file fields at them, runs the point there
(`pipeline.run`) and returns the run directory's files as bytes; the folder is removed. The driver `store`s
them into the point's directory through `placement.results.run_directory` (claimed, assembled in a staging
folder, marked as ours, renamed into place when complete), with the config.json it resolved itself (the
worker's names its temporary inputs) and, in environment.json, its own config file as `config_source`, so the
point reads back and runs again as a run on the driver's machine would.

A bad config raises InputError on every machine alike, so it is returned as a failed point; any other error
is raised, so that Ray may run the task again (`--retries`).
"""

from __future__ import annotations

import copy
import json
import tempfile
import time
from pathlib import Path

from placement.compile_cache import cache_dir, use_cache
from placement.config import config_from_dict, input_files
from placement.errors import InputError
from placement.progress import LOG, log_to_stderr
from placement.results import MARKER, run_directory, write_json

INPUTS = "inputs"


def pack(name: str, config: dict, config_path: Path, *, draw_plots: bool, write_report: bool,
         compile_cache: str | None) -> dict:
    """A point as plain data for `run_packed`: `config` is its resolved config (config_to_dict) as read from
    `config_path`; its input files travel apart (`read_inputs`), so that points reading the same files share
    one copy."""
    return {"name": name, "config": config, "config_name": config_path.name, "draw_plots": draw_plots,
            "write_report": write_report, "compile_cache": compile_cache, "log_level": LOG.getEffectiveLevel()}


def input_paths(config: dict, config_path: Path) -> dict[str, Path]:
    """The files a resolved config reads, by dotted field, relative paths taken from `config_path`'s folder."""
    return input_files(config_from_dict(config, source=str(config_path)))


def read_inputs(paths: dict[str, Path]) -> dict[str, tuple[str, bytes]]:
    """Each input file's name and bytes, by the field that names it."""
    return {field: (path.name, path.read_bytes()) for field, path in paths.items()}


def run_packed(job: dict, inputs: dict[str, tuple[str, bytes]]) -> dict:
    """Run a packed point here, its input files given by `read_inputs`: {"status", "seconds", "error"?,
    "files"?: {path in the run directory: bytes}}. Raises what is not bad input (for Ray's retries)."""
    with log_to_stderr(job["log_level"]), tempfile.TemporaryDirectory(prefix="placement-point-") as folder:
        use_cache(cache_dir(job["compile_cache"]))
        data = copy.deepcopy(job["config"])
        for i, (field, (filename, content)) in enumerate(inputs.items()):
            path = Path(folder) / INPUTS / f"{i}-{filename}"  # numbered: two fields may read files of one name
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(content)
            *tables, key = field.split(".")
            node = data
            for table in tables:
                node = node[table]
            node[key] = str(path)
        run_dir = Path(folder) / "runs" / job["name"]  # the point's name: the plots are labelled with it
        outcome = run_point(config_from_dict(data, source=str(Path(folder) / job["config_name"])), run_dir,
                            draw_plots=job["draw_plots"], write_report=job["write_report"], reraise=True)
        if outcome["status"] == "done":
            outcome["files"] = {str(path.relative_to(run_dir)): path.read_bytes()
                                for path in sorted(run_dir.rglob("*")) if path.is_file() and path.name != MARKER}
        return outcome


def store(files: dict[str, bytes], run_dir: Path, config: dict, config_source: str) -> None:
    """Write a point's files, returned by `run_packed`, as the run directory `run_dir` (see the module
    docstring for config.json and environment.json)."""
    with run_directory(run_dir) as staging:
        for name, content in files.items():
            path = staging / name
            if staging.resolve() not in path.resolve().parents:
                raise InputError(f"a returned file lies outside the run directory: {name!r}", source=str(run_dir),
                                 expected="the files of one run directory")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        write_json(staging / "config.json", config)
        environment = json.loads(files["environment.json"])
        write_json(staging / "environment.json", {**environment, "config_source": config_source})


def run_point(config, run_dir: Path, *, draw_plots: bool = True, write_report: bool = True,
              reraise: bool = False) -> dict:
    """Run one point of a resolved `Config` into `run_dir`: {"status": "done" | "failed", "seconds", "error"?}.
    A failure is returned (a failing point must not stop the others), except one that is not bad input when
    `reraise`."""
    from placement import pipeline
    from placement.scenario import resolve

    name = run_dir.name
    started = time.perf_counter()
    try:
        pipeline.run(resolve(config), run_dir, draw_plots=draw_plots, report=write_report,
                     progress=lambda message: LOG.info(f"{name}: {message}"))
    except InputError as error:
        return {"status": "failed", "seconds": time.perf_counter() - started, "error": str(error)}
    except Exception as error:
        if reraise:
            raise
        LOG.debug(f"{name}: the point failed", exc_info=True)  # the traceback with -v
        return {"status": "failed", "seconds": time.perf_counter() - started,
                "error": f"{type(error).__name__}: {error}"}
    return {"status": "done", "seconds": time.perf_counter() - started}

