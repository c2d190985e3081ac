"""Big arrays as query parameters, fast: one PostgreSQL array literal instead of a Python list.

psycopg adapts a list element by element in Python, which for the 15,000-element arrays of a
bulk resolution costs more than the query. The literal is built with a few C-level string
operations and still travels as a parameter (``%s::text[]``): no SQL is ever built from data.
"""

from __future__ import annotations

from collections.abc import Iterable


def _quote(value: str | None) -> str:
    if value is None:
        return "NULL"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def text_array(values: Iterable[str | None]) -> str:
    """A ``text[]`` (or ``uuid[]``) literal; None becomes NULL."""
    values = list(values)
    if not values:
        return "{}"
    if None not in values:
        plain = "".join(values)  # type: ignore[arg-type]
        if '"' not in plain and "\\" not in plain:
            return '{"' + '","'.join(values) + '"}'  # type: ignore[arg-type]
    return "{" + ",".join(map(_quote, values)) + "}"


def int_array(values: Iterable[int | None]) -> str:
    """An ``int[]`` literal; None becomes NULL."""
    values = list(values)
    if None not in values:
        return "{" + ",".join(map(str, values)) + "}"
    return "{" + ",".join("NULL" if v is None else str(int(v)) for v in values) + "}"


def bool_array(values: Iterable[bool]) -> str:
    """A ``bool[]`` literal."""
    return "{" + ",".join("t" if v else "f" for v in values) + "}"
