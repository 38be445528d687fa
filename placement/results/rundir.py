"""Run directories and result files: written atomically, only valid JSON, with what reproduces them.

A run is written into a hidden sibling folder and renamed into place only when complete, so an interrupted
run leaves no half-written directory. Every directory this tool writes (run, propagate, sweep) holds a marker
file, `.placement-run`, naming its kind and the version that wrote it: `--overwrite` replaces only a directory
that holds one, so nothing the tool did not write is ever deleted. The output is claimed before anything is
computed, by a lock file beside it (`.NAME.lock`, locked with flock and naming the holder's process): a second
job into the same place is refused at once, and a job killed outright leaves a lock the system has already
released, so the next job takes it over and removes the killed job's staging folders. `run_directory` refuses
an existing directory on entry, before the caller computes anything. JSON files hold null where a figure is
not finite (a gap without a bound, an unlimited capacity). Benchmarks save their tables here too
(`save_benchmark`, in the format of ../shared/BENCHMARKS.md).
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.metadata
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import placement
from placement.errors import InputError

try:
    import fcntl
except ImportError:  # not on Windows: there outputs go without the lock
    fcntl = None

MARKER = ".placement-run"  # {"kind": one of KINDS, "placement": version}, in every directory this tool writes
KINDS = ("run", "propagate", "sweep")


@contextlib.contextmanager
def run_directory(out_dir: str | Path, *, kind: str = "run", overwrite: bool = False) -> Iterator[Path]:
    """Yield a fresh folder to write the run into; on success it becomes `out_dir`. The output is claimed
    (`claim`) and an existing `out_dir` refused, or with `overwrite` checked to be one of ours, before the
    caller computes anything; the existing directory is replaced only once the new one is complete."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with claim(out_dir):
        _remove_stale(out_dir)
        if out_dir.exists() or out_dir.is_symlink():
            _check_replaceable(out_dir, overwrite)
        staging = out_dir.parent / f".{out_dir.name}.partial-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
        try:
            write_marker(staging, kind)  # first, so that a killed job's staging folder is known as ours
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


def write_marker(directory: Path, kind: str) -> None:
    """Mark `directory` as written by this tool (what `--overwrite` and the stale-folder cleanup look for)."""
    write_json(directory / MARKER, {"kind": kind, "placement": placement.__version__})


def marker_kind(directory: Path) -> str | None:
    """The kind a directory's marker names, or None where there is no readable marker of ours."""
    try:
        kind = json.loads((directory / MARKER).read_text()).get("kind")
    except (OSError, ValueError, AttributeError):
        return None
    return kind if kind in KINDS else None


@contextlib.contextmanager
def claim(out_dir: Path) -> Iterator[None]:
    """Hold the output `out_dir` for this process: an flock on `.NAME.lock` beside it, released (and the file
    removed) on exit, and by the system if the process dies. Raises InputError at once while another job
    holds it."""
    if fcntl is None:
        yield
        return
    lock_path = out_dir.parent / f".{out_dir.name}.lock"
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 256).decode(errors="replace").strip() or "another placement job"
            os.close(fd)
            raise InputError(f"{holder} is writing it now (its lock: {lock_path})", source=str(out_dir),
                             field="--out", expected="one job at a time per output; wait for that job, or "
                                                     "choose another --out") from None
        try:
            current = os.stat(lock_path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            current = False
        if current:
            break
        # The holder released and removed the file between our open and lock: claim the path afresh.
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"placement (process {os.getpid()} on {socket.gethostname()})".encode())
        yield
    finally:
        os.unlink(lock_path)  # before the lock goes: a job waiting on this file then sees it is gone
        os.close(fd)


def _remove_stale(out_dir: Path) -> None:
    """Remove the staging and retired folders of `out_dir` that a killed job of ours left. Called while
    holding the claim, so no live job owns them; a folder without our marker is left alone."""
    for pattern in (f".{out_dir.name}.partial-*", f".{out_dir.name}.replaced-*"):
        for stale in out_dir.parent.glob(pattern):
            if stale.is_dir() and not stale.is_symlink() and marker_kind(stale) is not None:
                shutil.rmtree(stale, ignore_errors=True)


def _check_replaceable(out_dir: Path, overwrite: bool) -> None:
    """Refuse an existing `out_dir` unless `overwrite` and it is a directory this tool wrote."""
    if not overwrite:
        raise InputError("the run directory already exists (choose another --out, or --overwrite)",
                         source=str(out_dir), field="--out", expected="a path that does not exist yet")
    if out_dir.is_symlink() or not out_dir.is_dir() or marker_kind(out_dir) is None:
        raise InputError(f"--overwrite replaces only a directory written by placement, and this one holds no "
                         f"{MARKER} marker; nothing was deleted", source=str(out_dir), field="--out",
                         expected="a run, propagate or sweep directory of placement, or a path that does not "
                                  "exist yet (remove other files yourself)")


def write_owned_file(path: str | Path, text: str, signature: str, *, overwrite: bool = False) -> Path:
    """Write `text` (which holds `signature` within its first 4 kB) to `path`, atomically (a hidden sibling
    renamed into place), after `check_file_replaceable`."""
    path = Path(path)
    check_file_replaceable(path, signature, overwrite=overwrite)
    staging = path.parent / f".{path.name}.partial-{uuid.uuid4().hex[:8]}"
    try:
        staging.write_text(text)
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)
    return path


def check_file_replaceable(path: Path, signature: str, *, overwrite: bool = False) -> None:
    """Refuse to write `path` where its folder is missing, or where a file exists, unless `overwrite` and it
    holds `signature` in its first 4 kB, i.e. this tool wrote it (a single file has no room for a marker
    file). Called before the work, so a refused output costs nothing."""
    if path.exists() or path.is_symlink():
        if not overwrite:
            raise InputError("the file already exists (choose another --out, or --overwrite)", source=str(path),
                             field="--out", expected="a path that does not exist yet")
        if path.is_symlink() or not path.is_file() or signature not in _head(path):
            raise InputError("--overwrite replaces only a file placement wrote, and this one is not; nothing was "
                             "replaced", source=str(path), field="--out",
                             expected=f"a file written by placement (holding {signature!r} at its start), or a "
                                      "path that does not exist yet")
    if not path.parent.is_dir():
        raise InputError("its folder does not exist", source=str(path), field="--out",
                         expected="a file in an existing folder")


def _head(path: Path) -> str:
    with open(path, "rb") as f:
        return f.read(4096).decode(errors="replace")


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
    """`data` as JSON (`json_text`)."""
    path.write_text(json_text(data) + "\n")


def json_text(data, *, indent: int | None = 2) -> str:
    """`data` as standard JSON, the one form every JSON the tool writes or prints takes: NaN and infinities,
    which JSON cannot hold (Python's json would write NaN and Infinity), become null. `indent` None: compact,
    without spaces (the exports and the data inlined in report.html, where size counts)."""
    separators = (",", ":") if indent is None else None
    return json.dumps(_finite(data), indent=indent, separators=separators, sort_keys=False, allow_nan=False,
                      default=_json_default)


def _finite(value):
    """`value` with every non-finite float (numpy scalars and arrays included) replaced by None."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, np.ndarray):
        return _finite(value.tolist())
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.generic):
        return value.item()
    return value


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
    print(json_text(summary))
    print(f"saved {path}")
    return path


def format_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """Rows as aligned text columns (default: the benchmark format's case, impl, metric, value, unit)."""
    columns = columns or ["case", "impl", "metric", "value", "unit"]
    cells = [[cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def cell(value) -> str:
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
    """One Parquet file from named columns (numpy arrays keep their dtype; lists of str become strings;
    datetime64 columns, which the tables hold in UTC, become timestamps marked UTC)."""
    pq.write_table(pa.table({name: _utc_marked(values) for name, values in columns.items()}), path)


def _utc_marked(values):
    if isinstance(values, np.ndarray) and np.issubdtype(values.dtype, np.datetime64):
        return pa.array(values.astype("datetime64[us]"), pa.timestamp("us", tz="UTC"))
    return values
