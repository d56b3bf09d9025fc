"""Listing profiles: ``filter`` and ``sort`` as the SDK documents them, cursor pages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from klaviyo_kit.sandbox._filters import parse_filter, select
from klaviyo_kit.sandbox._jsonapi import Reply, collection
from klaviyo_kit.sandbox._profiles import render
from klaviyo_kit.sandbox._state import IDENTIFIERS, Record

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.sandbox._context import Call
    from klaviyo_kit.sandbox._filters import Condition
    from klaviyo_kit.sandbox._state import Account

_SUPPRESSION = "subscriptions.email.marketing.suppression"
_LIST_SUPPRESSIONS = "subscriptions.email.marketing.list_suppressions"
_BEFORE_AFTER = frozenset({"greater-than", "less-than"})
_COMPARISONS = frozenset({"greater-than", "less-than", "greater-or-equal", "less-or-equal"})
_FILTERS = {  # as the SDK documents get_profiles' filter
    "id": frozenset({"equals", "any"}),
    "email": frozenset({"equals", "any"}),
    "phone_number": frozenset({"equals", "any"}),
    "external_id": frozenset({"equals", "any"}),
    "_kx": frozenset({"equals"}),
    "created": _BEFORE_AFTER,
    "updated": _BEFORE_AFTER,
    f"{_SUPPRESSION}.reason": frozenset({"equals"}),
    f"{_SUPPRESSION}.timestamp": _COMPARISONS,
    f"{_LIST_SUPPRESSIONS}.reason": frozenset({"equals"}),
    f"{_LIST_SUPPRESSIONS}.timestamp": _COMPARISONS,
    f"{_LIST_SUPPRESSIONS}.list_id": frozenset({"equals"}),
}
_RECORD_FIELDS = frozenset({"id", "created", "updated"})
_TIME_FIELDS = frozenset(
    {"created", "updated", f"{_SUPPRESSION}.timestamp", f"{_LIST_SUPPRESSIONS}.timestamp"}
)
_SORTS = frozenset(
    {
        "id",
        "created",
        "updated",
        "email",
        f"{_SUPPRESSION}.timestamp",
        f"{_LIST_SUPPRESSIONS}.timestamp",
    }
)


def profile_field(record: Record) -> Callable[[str], object]:
    """Return a getter of filterable/sortable profile fields."""

    def get(name: str) -> object:
        if name == "id":
            return record.id
        if name == "created":
            return record.created
        if name == "updated":
            return record.updated
        if name == f"{_SUPPRESSION}.reason":
            return "USER_SUPPRESSED" if record.extra.get("suppressed") else None
        if name == f"{_SUPPRESSION}.timestamp":
            return record.extra.get("suppressed_at") if record.extra.get("suppressed") else None
        return record.attributes.get(name)

    return get


def _candidates(account: Account, conditions: list[Condition]) -> list[Record]:
    """Narrow by an identifier condition through the index; otherwise every profile."""
    for cond in conditions:
        values = cond.value if cond.operator == "any" else [cond.value]
        if cond.field in {"id", *IDENTIFIERS} and isinstance(values, list):
            found = (
                account.profiles.get(str(v))
                if cond.field == "id"
                else account.find_profile(cond.field, v)
                for v in values
            )
            return list({r.id: r for r in found if r is not None}.values())
    return list(account.profiles.values())


def _select(
    account: Account, query: Mapping[str, str], conditions: list[Condition]
) -> list[Record]:
    return select(
        _candidates(account, conditions),
        query,
        profile_field,
        filters=_FILTERS,
        time_fields=_TIME_FIELDS,
        sorts=_SORTS,
    )


def _listing(account: Account, query: Mapping[str, str]) -> list[Record]:
    """Return the filtered, sorted profiles, kept while no record changes.

    Kept only when the filter and the sort read record fields (times, ids), which change
    through assignments that ``Record.revision`` counts: paging through 100,000 profiles then
    re-sorts nothing.
    """
    conditions = parse_filter(query.get("filter", ""), _FILTERS, _TIME_FIELDS)
    sort = query.get("sort", "").lstrip("-")
    if sort not in _RECORD_FIELDS | {""} or any(c.field not in _RECORD_FIELDS for c in conditions):
        return _select(account, query, conditions)
    key = (query.get("filter", ""), query.get("sort", ""))
    kept = account.listings.get(key)
    if kept is not None and kept[0] == Record.revision:
        return kept[1]
    records = _select(account, query, conditions)
    account.listings.clear()  # one listing at a time: the others are stale or unused
    account.listings[key] = (Record.revision, records)
    return records


def get_profiles(call: Call) -> Reply:
    """GET /api/profiles."""
    records = _listing(call.account, call.query)
    return collection(
        records, lambda r: render(call, r), base=call.base, path=call.path, query=call.query
    )


HANDLERS: Mapping[str, Callable[[Call], Reply]] = {"get_profiles": get_profiles}
