"""Errors raised at the boundary (files, configs, problem construction).

Inside jitted code errors are integer codes plus NaN rows; these exceptions are for
input that a person wrote or downloaded, so each one names where the problem is and
what was expected.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input: names the source (file or config), the line or field, and what was expected."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        field: str | None = None,
        expected: str | None = None,
    ):
        self.source = source
        self.line = line
        self.field = field
        self.expected = expected
        self.detail = message
        where = []
        if source is not None:
            where.append(str(source))
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field {field!r}")
        text = (": ".join([", ".join(where), message]) if where else message)
        if expected is not None:
            text += f" (expected {expected})"
        super().__init__(text)
