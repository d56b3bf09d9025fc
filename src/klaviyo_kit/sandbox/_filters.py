"""Klaviyo's ``filter`` query language: ``equals(email,"a@b.c")``, ``any(...)``, dates, ``and``."""

from __future__ import annotations

import json
import operator
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from klaviyo_kit.sandbox._jsonapi import invalid
from klaviyo_kit.sandbox._state import parse_time

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

T = TypeVar("T")

_CALL = re.compile(r"\s*([a-z-]+)\(([a-z_.$]+),(.*)\)\s*$", re.DOTALL)


def _ordered(test: Callable[[Any, Any], bool]) -> Callable[[object, object], bool]:
    def compare(actual: object, wanted: object) -> bool:
        return actual is not None and bool(test(actual, wanted))

    return compare


def _any(actual: object, wanted: object) -> bool:
    return isinstance(wanted, list) and actual in wanted


def _contains(actual: object, wanted: object) -> bool:
    return isinstance(actual, (str, list)) and wanted in actual


_COMPARE: Mapping[str, Callable[[object, object], bool]] = {
    "equals": operator.eq,
    "greater-than": _ordered(operator.gt),
    "greater-or-equal": _ordered(operator.ge),
    "less-than": _ordered(operator.lt),
    "less-or-equal": _ordered(operator.le),
    "any": _any,
    "contains": _contains,
}


@dataclass(frozen=True, slots=True)
class Condition:
    """One ``operator(field,value)`` term."""

    operator: str
    field: str
    value: object


def _split_top(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    quote = ""
    start = 0
    for index, char in enumerate(text):
        if char in "\"'" and quote in {"", char}:
            quote = "" if quote else char
        elif quote:
            continue
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif depth == 0 and char == ",":
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [part for part in (p.strip() for p in parts) if part]


def _value(raw: str, field: str, time_fields: frozenset[str]) -> object:
    raw = raw.strip()
    if field in time_fields:
        try:
            return parse_time(raw.strip("\"'"))
        except ValueError:
            raise invalid(f"Invalid date '{raw}' for {field}.", parameter="filter") from None
    if raw.startswith("["):
        items = _split_top(raw[1:-1])
        return [_value(item, field, time_fields) for item in items]
    if raw in {"true", "false", "null"}:
        return json.loads(raw)
    if len(raw) > 1 and raw[0] == raw[-1] == "'":
        return raw[1:-1]
    if raw.startswith('"'):
        try:
            return json.loads(raw)
        except ValueError:
            raise invalid(f"Invalid string {raw} in filter.", parameter="filter") from None
    try:
        return float(raw)
    except ValueError:
        raise invalid(f"Invalid value {raw} in filter.", parameter="filter") from None


def parse_filter(
    text: str, allowed: Mapping[str, frozenset[str]], time_fields: frozenset[str] = frozenset()
) -> list[Condition]:
    """Parse a filter into conditions, checking each field and operator.

    Args:
        text: The ``filter`` query value.
        allowed: Operators allowed per field.
        time_fields: Fields whose values are datetimes.

    Returns:
        The conditions, all of which must hold.

    Raises:
        SandboxAPIError: 400 pointing at ``filter`` when anything is not understood.
    """
    conditions: list[Condition] = []
    for term in _split_top(text):
        if term.startswith("and(") and term.endswith(")"):
            conditions.extend(parse_filter(term[4:-1], allowed, time_fields))
            continue
        match = _CALL.match(term)
        if match is None or match.group(1) not in _COMPARE:
            raise invalid(f"Invalid filter term '{term}'.", parameter="filter")
        name, field, raw = match.groups()
        if field not in allowed:
            raise invalid(f"'{field}' is not a valid field for filtering.", parameter="filter")
        if name not in allowed[field]:
            raise invalid(
                f"'{name}' operation is not allowed for the '{field}' field.",
                parameter="filter",
            )
        conditions.append(Condition(name, field, _value(raw, field, time_fields)))
    return conditions


def matches(conditions: Sequence[Condition], get: Callable[[str], object]) -> bool:
    """Return whether a record whose fields ``get`` reads satisfies all conditions."""
    return all(_COMPARE[c.operator](get(c.field), c.value) for c in conditions)


def sort_key(query: Mapping[str, str], allowed: frozenset[str], default: str) -> tuple[str, bool]:
    """Return ``(field, descending)`` from ``sort`` after checking the field."""
    raw = query.get("sort", default)
    descending = raw.startswith("-")
    field = raw.lstrip("-")
    if field not in allowed:
        raise invalid(f"'{field}' is not a valid sort field.", parameter="sort")
    return field, descending


def _order(value: object) -> tuple[bool, object]:
    return value is None, value


def select(
    items: Iterable[T],
    query: Mapping[str, str],
    field_of: Callable[[T], Callable[[str], object]],
    *,
    filters: Mapping[str, frozenset[str]],
    time_fields: frozenset[str] = frozenset(),
    sorts: frozenset[str] = frozenset(),
    default_sort: str | None = None,
) -> list[T]:
    """Apply the call's ``filter`` and ``sort`` to ``items``.

    Args:
        items: The candidates, in their natural order.
        query: The call's query parameters.
        field_of: Returns a field getter for one item.
        filters: The operators each field allows (as the SDK documents them).
        time_fields: Fields whose values are datetimes.
        sorts: Fields ``sort`` accepts (``-field`` for descending).
        default_sort: The order when ``sort`` is absent (natural order when ``None``).

    Returns:
        The matching items in the requested order.
    """
    conditions = parse_filter(query.get("filter", ""), filters, time_fields)
    chosen = [item for item in items if matches(conditions, field_of(item))]
    if "sort" in query or default_sort is not None:
        field, descending = sort_key(query, sorts, default_sort or "")
        chosen.sort(key=lambda item: _order(field_of(item)(field)), reverse=descending)
    return chosen
