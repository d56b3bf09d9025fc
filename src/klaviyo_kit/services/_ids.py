"""Klaviyo ids given by the caller, checked before any request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from klaviyo_kit.errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["require_id", "unique_ids"]


def require_id(value: object, field: str) -> str:
    """Return a trimmed, non-empty id, or raise naming ``field``."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(field, "must be a non-empty id")
    return value.strip()


def unique_ids(values: Iterable[str], field: str) -> list[str]:
    """Return the ids trimmed, in order, without duplicates (a lone string is one id)."""
    if isinstance(values, str):
        values = [values]
    return list(dict.fromkeys(require_id(v, f"{field}[{i}]") for i, v in enumerate(values)))
