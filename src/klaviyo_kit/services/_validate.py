"""Checks run before any request, each naming the field and the limit it broke."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Final

from klaviyo_kit.errors import InvalidInputError

__all__ = [
    "MAX_EVENT_PROPERTIES",
    "MAX_PAYLOAD_BYTES",
    "MAX_PROFILE_BYTES",
    "MAX_STRING_BYTES",
    "check_email",
    "check_json_value",
    "check_name",
    "check_number",
    "check_phone",
    "json_bytes",
    "json_size",
]

MAX_STRING_BYTES: Final = 100 * 1024
"""Klaviyo rejects any single string over 100 KB."""
MAX_PROFILE_BYTES: Final = 100 * 1024
"""Klaviyo rejects a profile payload over 100 KB."""
MAX_PAYLOAD_BYTES: Final = 5 * 1024 * 1024
"""Klaviyo rejects a request body over 5 MB."""
MAX_EVENT_PROPERTIES: Final = 300
"""Klaviyo allows at most 300 event properties."""
MAX_ARRAY_ITEMS: Final = 4000
MAX_DEPTH: Final = 10

# Deliberately permissive: one @, no spaces, a dot in the domain. Klaviyo decides the rest.
_EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_PHONE: Final = re.compile(r"^\+[1-9]\d{6,14}$")


def check_email(value: object, field: str = "email") -> str:
    """Return the trimmed email, or raise if it is not an address Klaviyo accepts."""
    if not isinstance(value, str):
        raise InvalidInputError(field, f"must be a string, got {type(value).__name__}")
    email = value.strip()
    if len(email) > 254 or _EMAIL.match(email) is None:  # noqa: PLR2004 - RFC 5321
        raise InvalidInputError(field, f"{email[:80]!r} is not a valid email address")
    return email


def check_phone(value: object, field: str = "phone_number") -> str:
    """Return the phone number, or raise if it is not E.164 (``+`` and 7-15 digits)."""
    if not isinstance(value, str) or _PHONE.match(value.strip()) is None:
        raise InvalidInputError(field, f"{value!r} is not an E.164 phone number like +15005550006")
    return value.strip()


def check_name(value: object, field: str, max_length: int = 255) -> str:
    """Return a non-empty, trimmed name of at most ``max_length`` characters."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(field, "must be a non-empty string")
    if len(value) > max_length:
        raise InvalidInputError(field, f"is {len(value)} characters; the limit is {max_length}")
    return value.strip()


def check_number(value: object, field: str) -> float:
    """Return ``value`` as a finite float, or raise (booleans are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise InvalidInputError(field, f"must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidInputError(field, f"must be finite, got {value}")
    return number


def check_json_value(value: object, field: str, depth: int = 0) -> None:  # noqa: C901
    """Check a JSON-able value against Klaviyo's limits (string size, array size, nesting).

    Raises:
        InvalidInputError: Naming the deepest offending field.
    """
    if depth > MAX_DEPTH:
        raise InvalidInputError(field, f"nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        size = len(value.encode())
        if size > MAX_STRING_BYTES:
            raise InvalidInputError(field, f"is {size} bytes; a string may be at most 100 KB")
    elif isinstance(value, float) and not math.isfinite(value):
        raise InvalidInputError(field, f"must be finite, got {value}")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            check_json_value(item, f"{field}.{key}", depth + 1)
    elif isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        if len(value) > MAX_ARRAY_ITEMS:
            raise InvalidInputError(
                field, f"has {len(value)} items; the limit is {MAX_ARRAY_ITEMS}"
            )
        for i, item in enumerate(value):
            check_json_value(item, f"{field}[{i}]", depth + 1)
    elif value is not None and not isinstance(value, (bool, int, float, Decimal)):
        raise InvalidInputError(field, f"is a {type(value).__name__}, not a JSON value")


def json_bytes(value: object) -> bytes:
    """Return ``value`` encoded as the transport sends JSON (compact, UTF-8)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def json_size(value: object) -> int:
    """Return the size in bytes of ``value`` serialized as the transport will send it."""
    return len(json_bytes(value))
