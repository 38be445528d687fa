"""What JAX's persistent compilation cache saves the second point of a sweep: the quick start run as sweep points
of one shape, each in a fresh process (as on Ray workers), against the same cache folder.

Three processes run `pipeline.run` on configs/quickstart.toml (every strategy, the gradient heuristic's
relaxations included): the first point with an empty cache folder, which it fills; the second point, in a new
process with the same folder; and the same point without a cache (`--compile-cache none`). Each records the
seconds XLA spent compiling (JAX's monitoring event /jax/core/compile/backend_compile_duration), the compile
time JAX reports saved by cache hits (/jax/compilation_cache/compile_time_saved_sec), the job's seconds and the
process's wall seconds. The figures are noisy on a shared machine: compare the compile seconds, which the cache
changes, rather than the wall time.

    python experiments/benchmarks/compile_cache.py

Writes experiments/results/compile_cache.json (format: shared BENCHMARKS.md); summary key
second_point_compile_saving_s (first point's compile seconds minus the second's).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from placement.results import save_benchmark

ROOT = Path(__file__).resolve().parents[2]
# One point in its own process: the cache as `placement sweep` sets it up, JAX's compile events summed.
POINT = """\
import json, sys, time
started = time.perf_counter()
import jax
from jax import monitoring
from placement import compile_cache, pipeline
from placement.config import load_config
from placement.scenario import resolve

seconds = {"compile": 0.0, "saved": 0.0}
EVENTS = {"/jax/core/compile/backend_compile_duration": "compile",
          "/jax/compilation_cache/compile_time_saved_sec": "saved"}

def listen(event, duration, **kwargs):
    if event in EVENTS:
        seconds[EVENTS[event]] += duration

monitoring.register_event_duration_secs_listener(listen)
compile_cache.use_cache(compile_cache.cache_dir(sys.argv[1]))
metrics = pipeline.run(resolve(load_config(sys.argv[2])), sys.argv[3], progress=lambda message: None)
print(json.dumps({**seconds, "job": metrics["job_seconds"], "wall": time.perf_counter() - started}))
"""


def run_point(cache: str, out: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", POINT, cache, str(ROOT / "configs" / "quickstart.toml"), str(out)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        cache = str(Path(scratch) / "jax-cache")
        cases = {"first point (empty cache)": run_point(cache, Path(scratch) / "first"),
                 "second point (cache filled)": run_point(cache, Path(scratch) / "second"),
                 "second point (no cache)": run_point("none", Path(scratch) / "uncached")}
    units = {"compile": "s", "saved": "s", "job": "s", "wall": "s"}
    names = {"compile": "xla_compile_seconds", "saved": "compile_seconds_saved_by_hits", "job": "job_seconds",
             "wall": "process_seconds"}
    rows = [{"case": case, "impl": "placement run (quick start)", "metric": names[key], "value": value,
             "unit": units[key]} for case, figures in cases.items() for key, value in figures.items()]
    first, second = cases["first point (empty cache)"], cases["second point (cache filled)"]
    save_benchmark("compile_cache", rows, {"second_point_compile_saving_s": first["compile"] - second["compile"],
                                           "second_point_compile_s": second["compile"],
                                           "uncached_compile_s": cases["second point (no cache)"]["compile"]},
                   ROOT / "experiments" / "results")


if __name__ == "__main__":
    main()
