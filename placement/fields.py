"""Typed, documented fields for the frozen dataclasses that a config can set.

Config sections (`placement.config`) and solver options (`placement.solvers.options`) declare their fields
with `option(default, help=..., check=..., expected=...)`, so one declaration carries the type (the
annotation), the default, the documentation and the range check. The config reader coerces TOML values to
the annotated type and runs `check`, naming the file and field when it fails; the same dataclasses are the
library's options, so a default is written once.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable


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
    from placement.errors import InputError

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


POSITIVE = "a finite number > 0"
NON_NEGATIVE = "a finite number >= 0"
POSITIVE_INTEGER = "an integer >= 1"
NON_NEGATIVE_INTEGER = "an integer >= 0"
FRACTION = "a number in [0, 1]"
