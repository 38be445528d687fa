"""Run configuration: TOML files validated against typed, documented dataclasses.

Every section is a frozen dataclass whose fields carry a type, a default where one makes sense
and a docstring-style `help`. `load_config(path)` reads a TOML file and validates it: an unknown
field, a wrong type or an out-of-range value raises `InputError` naming the file, the dotted
field path and what was expected. `--set key=value` overrides use the same path syntax.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Literal

from placement.errors import InputError


def _field(default=dataclasses.MISSING, *, help: str, check=None, expected: str | None = None):
    metadata = {"help": help, "check": check, "expected": expected}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _positive(x) -> bool:
    return x > 0


@dataclasses.dataclass(frozen=True)
class ConstellationConfig:
    builtin: str | None = _field(
        None, help="built-in Walker constellation: 'starlink-gen1' or 'kuiper' (or give `file`)")
    file: str | None = _field(
        None, help="TLE/3LE (.tle, .txt) or CelesTrak OMM (.json, .csv) file, relative to the config file")
    shells: list[int] = _field(
        [], help="1-based shell numbers of the built-in constellation to keep (empty: all)")
    epoch: str = _field("2026-02-24T00:00:00Z", help="epoch of generated Walker elements, ISO-8601 UTC")
    bstar: float = _field(0.0, help="drag term of generated elements, 1/earth radii")
    max_satellites: int | None = _field(
        None, check=_positive, expected="a positive integer",
        help="keep at most this many satellites, evenly spread over the catalog")
    skip_bad_records: bool = _field(
        False, help="skip (and count) malformed TLE/OMM records instead of stopping at the first")


@dataclasses.dataclass(frozen=True)
class TimeConfig:
    start: str = _field("2026-02-24T00:00:00Z", help="first instant, ISO-8601 UTC")
    step_s: float = _field(60.0, check=_positive, expected="a positive number of seconds",
                           help="spacing of the time grid, seconds")
    duration_h: float = _field(24.0, check=_positive, expected="a positive number of hours",
                               help="length of the horizon, hours (the grid includes its start)")


@dataclasses.dataclass(frozen=True)
class PropagationConfig:
    precision: Literal["float32", "float64"] = _field(
        "float32", help="float64 matches the sgp4 package to 1e-6 km; float32 is faster (error in README)")
    chunk_steps: int = _field(1440, check=_positive, expected="a positive integer",
                              help="time steps propagated per device call (streaming of long horizons)")


@dataclasses.dataclass(frozen=True)
class OutputConfig:
    velocity: bool = _field(True, help="save TEME velocities v_teme_km_s")
    geodetic: bool = _field(True, help="save WGS84 latitude, longitude (deg) and altitude (km)")
    sunlit: bool = _field(True, help="save the visible fraction of the solar disc per satellite and time")


@dataclasses.dataclass(frozen=True)
class Config:
    constellation: ConstellationConfig = _field(ConstellationConfig(), help="which satellites")
    time: TimeConfig = _field(TimeConfig(), help="the time grid")
    propagation: PropagationConfig = _field(PropagationConfig(), help="SGP4 settings")
    output: OutputConfig = _field(OutputConfig(), help="what the run directory holds")
    seed: int = _field(0, help="seed for every random choice of the run")
    source: str | None = _field(None, help="(set by the loader) the config file this came from")

    def __post_init__(self):
        c = self.constellation
        if (c.builtin is None) == (c.file is None):
            raise InputError("give exactly one of `builtin` or `file`", source=self.source,
                             field="constellation", expected="constellation.builtin or constellation.file")

    def resolve_path(self, relative: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        base = Path(self.source).parent if self.source else Path.cwd()
        return (base / relative).resolve()


def _type_name(kind) -> str:
    origin = typing.get_origin(kind)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(kind))
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_type_name(a) for a in typing.get_args(kind) if a is not type(None))
    if origin is list:
        return f"a list of {_type_name(typing.get_args(kind)[0])}"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(kind, str(kind))


def _coerce(value: Any, kind, path: str, source: str | None):
    """`value` as `kind`, or an InputError naming the field path."""
    origin = typing.get_origin(kind)
    fail = lambda: InputError(  # noqa: E731
        f"{value!r} has the wrong type", source=source, field=path, expected=_type_name(kind))
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise InputError(f"expected a table, got {value!r}", source=source, field=path, expected="a [table]")
        return _build(kind, value, path, source)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        if value is None and len(options) < len(typing.get_args(kind)):
            return None
        for option in options:
            try:
                return _coerce(value, option, path, source)
            except InputError:
                continue
        raise fail()
    if origin is Literal:
        if value not in typing.get_args(kind):
            raise InputError(f"{value!r} is not allowed", source=source, field=path, expected=_type_name(kind))
        return value
    if origin is list:
        if not isinstance(value, list):
            raise fail()
        (item,) = typing.get_args(kind)
        return [_coerce(v, item, f"{path}[{i}]", source) for i, v in enumerate(value)]
    if kind is bool:
        if not isinstance(value, bool):
            raise fail()
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail()
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail()
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise fail()
        return value
    raise TypeError(f"config field {path}: unsupported type {kind}")


def _build(cls, data: dict, prefix: str, source: str | None):
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "source"}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f"{prefix}.{unknown[0]}" if prefix else unknown[0]
        raise InputError("unknown field", source=source, field=where,
                         expected="one of " + ", ".join(sorted(fields)))
    values = {}
    for name, field in fields.items():
        path = f"{prefix}.{name}" if prefix else name
        if name not in data:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise InputError("missing required field", source=source, field=path, expected=_type_name(hints[name]))
            continue
        value = _coerce(data[name], hints[name], path, source)
        check = field.metadata.get("check")
        if check is not None and value is not None and not check(value):
            raise InputError(f"{value!r} is out of range", source=source, field=path,
                             expected=field.metadata.get("expected"))
        values[name] = value
    if cls is Config:
        values["source"] = source
    return cls(**values)


def parse_override(text: str) -> tuple[list[str], Any]:
    """'time.duration_h=2' -> (['time', 'duration_h'], 2), the value read as a TOML value
    (a bare word that is not valid TOML is taken as a string)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise InputError(f"override {text!r} is not key=value", field="--set", expected="dotted.key=value")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key.strip().split("."), value


def config_from_dict(data: dict, *, source: str | None = None, overrides: list[str] = ()) -> Config:
    data = _deep_copy(data)
    for text in overrides:
        keys, value = parse_override(text)
        node = data
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise InputError(f"override {text!r} goes through a non-table", field=".".join(keys),
                                 expected="a path of tables")
        node[keys[-1]] = value
    return _build(Config, data, "", source)


def load_config(path: str | Path, overrides: list[str] = ()) -> Config:
    """Read and validate a TOML config file (see the dataclasses above for every field)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise InputError(f"cannot read config: {e.strerror}", source=str(path), expected="a readable TOML file") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"not valid TOML: {e}", source=str(path), expected="TOML syntax") from None
    return config_from_dict(data, source=str(path), overrides=overrides)


def config_to_dict(config: Config) -> dict:
    """The resolved config as plain data (what a run directory records)."""
    data = dataclasses.asdict(config)
    data.pop("source")
    return data


def _deep_copy(data):
    if isinstance(data, dict):
        return {k: _deep_copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_deep_copy(v) for v in data]
    return data
