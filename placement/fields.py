"""Typed, documented fields for the frozen dataclasses that a config can set, and their reading from TOML.

Config sections (`placement.config`) and solver options (`placement.solvers.options`) declare their fields
with `option(default, help=..., check=..., expected=...)`, so one declaration carries the type (the
annotation), the default, the documentation and the range check. `build` coerces plain data (a TOML table)
to the annotated types and runs each `check`, and `Origins` remembers which file wrote each value, so an
error names the file and the dotted field path; the same dataclasses are the library's options, so a default
is written once.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import types
import typing
from typing import Any, Callable, Literal

from placement.errors import InputError

# An instant, ISO-8601 (UTC unless it says otherwise): written as a string, or as a TOML date-time or date
# (`start = 2026-02-24T00:00:00Z`, also through --set), which is read back as its ISO text.
UtcTime = typing.NewType("UtcTime", str)


def option(default: Any = dataclasses.MISSING, *, help: str, check: Callable[[Any], bool] | None = None,
           expected: str | None = None, path: bool = False):
    """A dataclass field with its documentation (`help`), a range `check` with the text naming what it
    accepts (`expected`), and `path=True` for a file path relative to the config file that sets it."""
    metadata = {"help": help, "check": check, "expected": expected, "path": path}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    if dataclasses.is_dataclass(default) and not isinstance(default, type):
        return dataclasses.field(default_factory=lambda: default, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def check_fields(instance) -> None:
    """Run every field's `check` on a dataclass instance built in code (the config reader runs them on what it
    reads): a bad value raises InputError naming the class and the field."""
    for f in dataclasses.fields(instance):
        check = f.metadata.get("check")
        value = getattr(instance, f.name)
        if check is not None and value is not None and not check(value):
            raise InputError(f"{value!r} is out of range", source=type(instance).__name__, field=f.name,
                             expected=f.metadata.get("expected"))


# Checks shared by many fields, with the words that say what they accept.
def positive(x) -> bool:
    return math.isfinite(x) and x > 0


def non_negative(x) -> bool:
    return math.isfinite(x) and x >= 0


def fraction(x) -> bool:
    return 0.0 <= x <= 1.0


COUNTRY_CODE = "an ISO 3166-1 alpha-2 code such as 'KE', or ''"


def is_country_code(code: str) -> bool:
    return code == "" or (len(code) == 2 and code.isascii() and code.isalpha() and code.isupper())


def latitude_option():
    return option(help="geodetic latitude, deg", check=lambda x: -90 <= x <= 90, expected="a latitude in [-90, 90]")


def longitude_option():
    return option(help="longitude, deg", check=lambda x: -180 <= x <= 180, expected="a longitude in [-180, 180]")


POSITIVE = "a finite number > 0"
NON_NEGATIVE = "a finite number >= 0"
POSITIVE_INTEGER = "an integer >= 1"
NON_NEGATIVE_INTEGER = "an integer >= 0"
FRACTION = "a number in [0, 1]"


def type_name(kind) -> str:
    origin = typing.get_origin(kind)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(kind))
    if origin in (types.UnionType, typing.Union):
        return " or ".join(type_name(a) for a in typing.get_args(kind) if a is not type(None))
    if origin is list:
        return f"a list of {type_name(typing.get_args(kind)[0])}"
    if origin is tuple:
        args = typing.get_args(kind)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {type_name(args[0])}"
        return f"a list of {len(args)}: " + ", ".join(type_name(a) for a in args)
    if dataclasses.is_dataclass(kind):
        return "a [table]"
    if kind is UtcTime:
        return "an ISO-8601 time, e.g. 2026-02-24T00:00:00Z"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(kind, str(kind))


class Origins:
    """The file each value of a merged config came from, by dotted field path ('workloads[0].model').

    A path not listed takes the file of its nearest listed ancestor (an array of tables is listed as a
    whole: it comes from one file), and the config's own file when none is listed."""

    def __init__(self, default: str | None, files: dict[str, str | None]):
        self.default = default
        self.files = files

    def of(self, path: str) -> str | None:
        while path:
            if path in self.files:
                return self.files[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return self.default

    def assign(self, path: str, file: str | None) -> None:
        """`path` and everything under it now come from `file`."""
        for listed in [p for p in self.files if p.startswith((path + ".", path + "["))]:
            del self.files[listed]
        self.files[path] = file


def coerce(value: Any, kind, path: str, origins: Origins, base=None):
    """`value` as `kind`, or an InputError naming the file it came from and the field path. A table given for
    a dataclass field updates `base`, the field's default, so a preset keeps the values the table leaves out."""
    origin = typing.get_origin(kind)
    fail = lambda: InputError(  # noqa: E731
        f"{value!r} has the wrong type", source=origins.of(path), field=path, expected=type_name(kind))
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise InputError(f"expected a table, got {value!r}", source=origins.of(path), field=path,
                             expected="a [table]")
        return build(kind, value, path, origins, base)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        if value is None and len(options) < len(typing.get_args(kind)):
            return None
        tables = [option for option in options if dataclasses.is_dataclass(option)]
        if isinstance(value, dict) and len(tables) == 1:  # an optional table: its own errors name its fields
            return coerce(value, tables[0], path, origins, base)
        for option in options:
            try:
                return coerce(value, option, path, origins)
            except InputError:
                continue
        raise fail()
    if origin is Literal:
        if value not in typing.get_args(kind):
            raise InputError(f"{value!r} is not allowed", source=origins.of(path), field=path,
                             expected=type_name(kind))
        return value
    if origin is list:
        if not isinstance(value, list):
            raise fail()
        (item,) = typing.get_args(kind)
        return [coerce(v, item, f"{path}[{i}]", origins) for i, v in enumerate(value)]
    if origin is tuple:
        args = typing.get_args(kind)
        items = [args[0]] * len(value) if len(args) == 2 and args[1] is Ellipsis else list(args)
        if not isinstance(value, list) or len(value) != len(items):
            raise fail()
        return tuple(coerce(v, item, f"{path}[{i}]", origins) for i, (v, item) in enumerate(zip(value, items)))
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
        if not math.isfinite(value):
            raise InputError(f"{value!r} is not a finite number", source=origins.of(path), field=path,
                             expected=type_name(kind) + " (finite)")
        return float(value)
    if kind is UtcTime and isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if kind in (str, UtcTime):
        if not isinstance(value, str):
            raise fail()
        return value
    raise TypeError(f"config field {path}: unsupported type {kind}")


def build(cls, data: dict, prefix: str, origins: Origins, base=None, loader_fields: dict | None = None):
    """An instance of dataclass `cls` from a table of plain data (a TOML table), every value coerced to its
    field's annotation and checked; a table given for a nested dataclass updates `base`. `loader_fields` are
    set by the loader, not read (a config's source file)."""
    hints = typing.get_type_hints(cls)
    loader_fields = loader_fields or {}
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in loader_fields}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f"{prefix}.{unknown[0]}" if prefix else unknown[0]
        raise InputError("unknown field", source=origins.of(where), field=where,
                         expected="one of " + ", ".join(sorted(fields)))
    values = {}
    for name, field in fields.items():
        path = f"{prefix}.{name}" if prefix else name
        if name not in data:
            if base is None and field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise InputError("missing required field", source=origins.of(path), field=path,
                                 expected=type_name(hints[name]))
            continue
        default = getattr(base, name) if base is not None else (
            field.default_factory() if field.default_factory is not dataclasses.MISSING else field.default)
        value = coerce(data[name], hints[name], path, origins,
                        default if dataclasses.is_dataclass(default) else None)
        check = field.metadata.get("check")
        if check is not None and value is not None and not check(value):
            raise InputError(f"{value!r} is out of range", source=origins.of(path), field=path,
                             expected=field.metadata.get("expected"))
        values[name] = value
    values.update(loader_fields)
    try:
        return dataclasses.replace(base, **values) if base is not None else cls(**values)
    except InputError as error:  # a check across fields (__post_init__): it concerns this table
        if error.source in (None, cls.__name__):
            raise InputError(error.detail, source=origins.of(prefix), field=f"{prefix}.{error.field}"
                             if prefix and error.field else (prefix or error.field), expected=error.expected) from None
        raise
