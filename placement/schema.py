"""A JSON Schema of the config, for editors: `placement schema > placement.schema.json`.

Generated from the same declarations the config reader checks against (`placement.config.Config`, its sections
and the solver options, each field declared with `placement.fields.option`): the annotation gives the type, the
field's default (a preset's, under `[solver.<name>]`) the default, `help` and `expected` the description, and
the shared range checks of `placement.fields` (positive, non_negative, fraction) their bounds. A range written
as its own function is in the description only. Unknown keys are refused at every level, as the reader does.
A check across fields (exactly one of `constellation.builtin` and `file`) is left to `placement validate`: a
config that `extends` another may set neither.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal

from placement.config import LOADER_FIELDS, Config
from placement.fields import UtcTime, fraction, non_negative, positive

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_SCALARS = {bool: "boolean", int: "integer", float: "number", str: "string", UtcTime: "string"}
_BOUNDS = {positive: {"exclusiveMinimum": 0}, non_negative: {"minimum": 0}, fraction: {"minimum": 0, "maximum": 1}}


def config_schema() -> dict:
    """The schema of a config file: `Config` with `extends` beside its sections."""
    schema = _object(Config, skip=LOADER_FIELDS)
    schema["properties"] = {"extends": {"type": "string", "description": "a config this one builds on, relative "
                                                                         "to this file (placement/config.py)"},
                            **schema["properties"]}
    return {"$schema": DIALECT, "title": "placement config (TOML)", **schema}


def _object(cls, instance: Any = None, *, skip: tuple[str, ...] = ()) -> dict:
    """An object of `cls`'s fields, with the defaults `instance` holds (None: the fields' own defaults)."""
    hints = typing.get_type_hints(cls)
    properties, required = {}, []
    for field in dataclasses.fields(cls):
        if field.name in skip:
            continue
        default = _default(field) if instance is None else getattr(instance, field.name)
        properties[field.name] = _field(field, hints[field.name], default)
        if default is dataclasses.MISSING:
            required.append(field.name)
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "("):  # a written docstring, not the generated
        schema["description"] = " ".join(cls.__doc__.split())
    if required:
        schema["required"] = required
    return schema


def _default(field: dataclasses.Field):
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def _field(field: dataclasses.Field, kind, default) -> dict:
    schema = _type(kind, default)
    words = [field.metadata.get("help")] + ([f"expected {field.metadata['expected']}"]
                                            if field.metadata.get("expected") else [])
    schema["description"] = "; ".join(w for w in words if w)
    schema.update(_BOUNDS.get(field.metadata.get("check"), {}))
    if default is not dataclasses.MISSING and not dataclasses.is_dataclass(default):
        schema["default"] = _plain(default)
    return schema


def _type(kind, default=dataclasses.MISSING) -> dict:
    """The schema of one annotation; a dataclass's defaults come from `default`, its value here."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if dataclasses.is_dataclass(kind):
        return _object(kind, default if dataclasses.is_dataclass(default) else None)
    if origin in (types.UnionType, typing.Union):
        options = [_type(a) for a in args if a is not type(None)]
        if type(None) in args:
            options.append({"type": "null"})  # TOML has no null; a run's config.json writes one
        return options[0] if len(options) == 1 else {"anyOf": options}
    if origin is Literal:
        return {"enum": list(args)}
    if origin is list:
        return {"type": "array", "items": _type(args[0])}
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": _type(args[0])}
        return {"type": "array", "prefixItems": [_type(a) for a in args], "minItems": len(args),
                "maxItems": len(args)}
    if kind in _SCALARS:
        return {"type": _SCALARS[kind]}
    raise TypeError(f"no JSON Schema for the config type {kind}")


def _plain(value):
    """A default as JSON holds it (tuples as arrays)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
