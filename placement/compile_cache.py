"""JAX's persistent compilation cache: programs compiled once per array shape, kept on disk for later processes.

Every `placement run` compiles the same JAX programs for the same shapes: SGP4, the network's kernels and the
gradient heuristic's relaxations (11 s of the quick start on 2 cores). Within one process JAX keeps
them in memory; `use_cache(folder)` makes it also write them to `folder` (jax_compilation_cache_dir) and read
them from there, so the next run, a re-run and every sweep point in another process (a Ray worker) load
instead of compiling: a second quick-start point compiles in 1.8 s instead of 11 s (README, "The `placement`
command").

The folder is `--compile-cache DIR` on the command line; without it `$PLACEMENT_COMPILE_CACHE`, else
`placement/jax` in the user's cache folder (`$XDG_CACHE_HOME`, default `~/.cache`), resolved on the machine
that compiles (a Ray worker uses its own). `none` turns it off. JAX loads compiled code from the folder and
runs it, so the folder must be writable by no one you do not trust (JAX's warning in
`jax.experimental.compilation_cache.compilation_cache.set_cache_dir`).
"""

from __future__ import annotations

import os
from pathlib import Path

from placement.errors import InputError

ENVIRONMENT = "PLACEMENT_COMPILE_CACHE"
OFF = "none"
# JAX's default keeps only programs that took at least 1 s to compile; the quick start compiles dozens of
# smaller ones. Measured (experiments/benchmarks/compile_cache.py, 2 shared cores): a second quick-start point
# spends 1.8 s in XLA compilation with 0.1 s, 2.9 s with the default 1 s, against 11-14 s without the cache.
MIN_COMPILE_S = 0.1


def cache_dir(option: str | None) -> Path | None:
    """The cache folder `option` names (None: the default above), or None where the cache is off."""
    if option is None:
        option = os.environ.get(ENVIRONMENT) or str(_user_cache() / "placement" / "jax")
    if option.strip().lower() == OFF:
        return None
    return Path(option).expanduser()


def use_cache(folder: Path | None) -> None:
    """Make JAX in this process write compiled programs to `folder` and read them from there (None: leave JAX
    as it is). Call before the first compilation that should be kept."""
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot create the compilation cache folder: {error.strerror}", source=str(folder),
                         field="--compile-cache", expected=f"a folder this user may write, or {OFF!r}") from None
    import jax

    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_S)


def _user_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
