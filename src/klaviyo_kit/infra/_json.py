"""The JSON value type shared by the cache, the queue and the audit log."""

from __future__ import annotations

import json
from typing import TypeAlias

JSONValue: TypeAlias = str | int | float | bool | list["JSONValue"] | dict[str, "JSONValue"] | None
"""Data that survives a JSON round trip unchanged: what backends store and return."""


def dumps(value: object) -> str:
    """Encode ``value`` as compact JSON, rejecting anything JSON cannot carry.

    Raises:
        TypeError: If ``value`` (or something inside it) is not JSON data.
        ValueError: If ``value`` contains NaN or infinity, which JSON cannot represent.
    """
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def loads(text: str | bytes) -> JSONValue:
    """Decode JSON text produced by :func:`dumps`."""
    value: JSONValue = json.loads(text)
    return value
