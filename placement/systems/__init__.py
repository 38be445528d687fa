"""Operators' systems: a constellation with its own ground segment, cloud regions, link budgets, hardware and
state of registry, packaged as a config layer with the source of every figure.

A system is a TOML file in `placement/systems/data/` written in the config's own sections (`[constellation]`,
`[network]`, `[hosts]`), plus an `[about]` table (title, date of the data, sources, assumptions) that no run
reads. A config that says `system = "aws-kuiper"` gets the system's values beneath its own: anything the config
sets itself wins, and errors in a system's value name the system's file (placement/config.py merges the layer;
the resolution in placement/scenario.py is the config's). `--set system=...` and `--grid system=a,b` pick
systems like any other value, so two stacks compare in one sweep.

A path in a system (`constellation.file`) is relative to the system's file, so a packaged catalog travels with
the package.
"""

from __future__ import annotations

import importlib.resources
import tomllib
from pathlib import Path

from placement.errors import InputError

__all__ = ["about", "layers", "names", "read"]

_DATA = importlib.resources.files(__package__) / "data"
# Path fields a system may set (placement.config's fields marked path=True that a system can carry).
_PATH_FIELDS = (("constellation", "file"),)


def names() -> tuple[str, ...]:
    """The packaged systems, by name (the file name without .toml), sorted."""
    return tuple(sorted(p.name.removesuffix(".toml") for p in _DATA.iterdir() if p.name.endswith(".toml")))


def _path(name: str) -> Path:
    return Path(str(_DATA / f"{name}.toml"))


def read(name: str) -> dict:
    """The whole system file `name` as plain data, `[about]` included."""
    if name not in names():
        raise InputError(f"unknown system {name!r}", field="system", expected="one of " + ", ".join(names()))
    with _path(name).open("rb") as f:
        return tomllib.load(f)


def layers(name: str) -> list[tuple[dict, str]]:
    """The config values of system `name` and of the systems it `extends` (a system's variant, e.g. a partial
    deployment, names its base), base first: each file's values without `[about]`, paths made absolute, with
    the file they come from, for errors to name."""
    chain: list[tuple[dict, str]] = []
    while name is not None:
        if any(file.endswith(f"/{name}.toml") for _, file in chain):
            raise InputError(f"system {name!r} extends itself", source=chain[-1][1], field="extends",
                             expected="a chain of systems that ends")
        data = read(name)
        data.pop("about", None)
        path = _path(name)
        for keys in _PATH_FIELDS:
            table = data.get(keys[0])
            if isinstance(table, dict) and isinstance(table.get(keys[1]), str):
                table[keys[1]] = str((path.parent / table[keys[1]]).resolve())
        base = data.pop("extends", None)
        chain.append((data, f"placement/systems/data/{name}.toml"))
        name = base
    return chain[::-1]


def about(name: str) -> dict:
    """The `[about]` table of system `name`: title, as_of, sources, assumptions."""
    return read(name).get("about", {})
