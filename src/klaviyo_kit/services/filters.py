r"""Klaviyo's filter syntax, compiled from typed values with correct quoting.

Klaviyo filters look like ``equals(email,"ada@example.com")`` and combine with ``and(...)``.
Strings are double-quoted with ``\\`` and ``"`` escaped by a backslash, so an email such as
``o"brien@example.com`` cannot break out of its quotes; datetimes are unquoted ISO 8601;
booleans are ``true``/``false``; lists are ``["a","b"]``.

Example:
    ```python
    equals("email", 'o"brien@example.com')     # equals(email,"o\\"brien@example.com")
    and_(equals("email", "a@b.co"), greater_than("updated", since))
    ```
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Final

__all__ = [
    "FilterValue",
    "and_",
    "any_",
    "contains",
    "equals",
    "greater_than",
    "less_than",
    "quote",
]

FilterValue = str | int | float | bool | datetime | date
_FIELD: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def quote(value: object) -> str:
    r"""Render one filter argument in Klaviyo's syntax.

    Args:
        value: A string, number, boolean, datetime, date or list of strings/numbers.

    Returns:
        The literal, e.g. ``"a\\"b"``, ``42``, ``true``, ``2026-01-01T00:00:00+00:00``.

    Raises:
        TypeError: For unsupported values.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return aware.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ",".join(quote(v) for v in value) + "]"
    msg = f"cannot use {type(value).__name__} in a Klaviyo filter"
    raise TypeError(msg)


def _field(name: str) -> str:
    if _FIELD.match(name) is None:
        msg = f"not a Klaviyo filter field name: {name!r}"
        raise ValueError(msg)
    return name


def equals(field: str, value: FilterValue) -> str:
    """Return ``equals(field,value)``."""
    return f"equals({_field(field)},{quote(value)})"


def contains(field: str, value: FilterValue) -> str:
    """Return ``contains(field,value)`` (e.g. a campaign's ``name``)."""
    return f"contains({_field(field)},{quote(value)})"


def any_(field: str, values: list[str] | list[int]) -> str:
    """Return ``any(field,[v1,v2,…])``."""
    return f"any({_field(field)},{quote(values)})"


def greater_than(field: str, value: FilterValue) -> str:
    """Return ``greater-than(field,value)``."""
    return f"greater-than({_field(field)},{quote(value)})"


def less_than(field: str, value: FilterValue) -> str:
    """Return ``less-than(field,value)``."""
    return f"less-than({_field(field)},{quote(value)})"


def and_(*conditions: str) -> str:
    """Combine conditions: one passes through, several become ``and(a,b,…)``."""
    parts = [c for c in conditions if c]
    if not parts:
        msg = "and_() needs at least one condition"
        raise ValueError(msg)
    return parts[0] if len(parts) == 1 else "and(" + ",".join(parts) + ")"
