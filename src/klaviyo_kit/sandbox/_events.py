"""Events: create (``unique_id`` dedupe per profile and metric), bulk create, list, get."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from klaviyo_kit.sandbox import _metrics, _profiles
from klaviyo_kit.sandbox._context import as_array, as_object, dig, optional_str
from klaviyo_kit.sandbox._filters import matches, parse_filter, sort_key
from klaviyo_kit.sandbox._jsonapi import (
    Reply,
    invalid,
    links_self,
    not_found,
    paginate,
    relationship,
)
from klaviyo_kit.sandbox._metrics import metric_named
from klaviyo_kit.sandbox._state import IDENTIFIERS, Record, iso, parse_time
from klaviyo_kit.sandbox._topics import topic_for

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.sandbox._context import Call, World

_FILTERS = {
    "metric_id": frozenset({"equals"}),
    "profile_id": frozenset({"equals"}),
    "profile": frozenset({"has"}),
    "datetime": frozenset({"greater-than", "greater-or-equal", "less-than", "less-or-equal"}),
    "timestamp": frozenset({"greater-than", "greater-or-equal", "less-than", "less-or-equal"}),
}
_TIME_FIELDS = frozenset({"datetime", "timestamp"})
MAX_BULK_PROFILES = 1000
MAX_PROPERTIES = 300
EARLIEST = 946_684_800.0  # 2000-01-01T00:00:00Z
LATEST_AHEAD = 366 * 24 * 3600.0


def record_event(
    world: World,
    profile: Record,
    metric_name: str,
    properties: Mapping[str, Any],
    *,
    when: float | None = None,
    value: float | None = None,
    unique_id: str | None = None,
    integration: str = "api",
) -> Record:
    """Store an event (or return the stored one with the same ``unique_id``) and emit its topic.

    Args:
        world: The account world.
        profile: Whose event it is.
        metric_name: The metric's name, created on first use.
        properties: The event properties.
        when: Event time in epoch seconds (default: now).
        value: The event's monetary value.
        unique_id: Dedupe key per profile and metric (default: a new uuid).
        integration: ``api`` for events sent through the API, ``klaviyo`` for system events.

    Returns:
        The stored event.
    """
    metric = metric_named(world, metric_name, integration)
    key = (profile.id, metric.id, unique_id or str(uuid.uuid4()))
    existing = world.account.event_keys.get(key)
    if existing is not None:
        return world.account.events[existing]
    now = world.clock()
    moment = now if when is None else when
    props = dict(properties)
    if value is not None:
        props.setdefault("$value", value)
    record = Record(
        world.ids.ulid(moment),
        {"properties": props, "uuid": str(uuid.uuid4()), "unique_id": key[2]},
        moment,
        now,
        {"metric_id": metric.id, "profile_id": profile.id},
    )
    world.account.events[record.id] = record
    world.account.event_keys[key] = record.id
    profile.extra["last_event"] = max(profile.extra.get("last_event", moment), moment)
    world.emit(topic_for(metric_name, integration), record)
    return record


def render(call: Call, record: Record) -> dict[str, Any]:
    """Return an event resource object."""
    return render_event(call.base, record)


def render_event(base: str, record: Record) -> dict[str, Any]:
    """Return an event resource object with links under ``base``."""
    path = f"/api/events/{record.id}"
    return {
        "type": "event",
        "id": record.id,
        "attributes": {
            "timestamp": int(record.created),
            "event_properties": record.attributes["properties"],
            "datetime": iso(record.created),
            "uuid": record.attributes["uuid"],
        },
        "relationships": {
            "profile": relationship(
                base, path, "profile", {"type": "profile", "id": record.extra["profile_id"]}
            ),
            "metric": relationship(
                base, path, "metric", {"type": "metric", "id": record.extra["metric_id"]}
            ),
        },
        "links": links_self(base, path),
    }


def _event_field(record: Record) -> Callable[[str], object]:
    def get(name: str) -> object:
        if name in _TIME_FIELDS:
            return record.created
        return record.extra.get(name)

    return get


@dataclass(frozen=True, slots=True)
class _Parsed:
    metric: str
    properties: dict[str, Any]
    when: float | None
    value: float | None
    unique_id: str | None


def _parse_event(raw: object, pointer: str, now: float) -> _Parsed:
    attrs = as_object(raw, pointer)
    props = attrs.get("properties")
    if not isinstance(props, dict):
        raise invalid("'properties' is a required field.", pointer=f"{pointer}/properties")
    if len(props) > MAX_PROPERTIES:
        raise invalid(
            f"An event can have at most {MAX_PROPERTIES} properties.",
            pointer=f"{pointer}/properties",
        )
    name = dig(attrs, pointer, "metric", "data", "attributes", "name")
    if not isinstance(name, str) or not name:
        raise invalid(
            "'name' is a required field.", pointer=f"{pointer}/metric/data/attributes/name"
        )
    when = None
    if attrs.get("time") is not None:
        try:
            when = parse_time(str(attrs["time"]))
        except ValueError:
            raise invalid("Invalid datetime.", pointer=f"{pointer}/time") from None
        if not EARLIEST <= when <= now + LATEST_AHEAD:
            raise invalid(
                "'time' must be after 2000-01-01 and at most a year from now.",
                pointer=f"{pointer}/time",
            )
    value = attrs.get("value")
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise invalid("'value' must be a number.", pointer=f"{pointer}/value")
    unique_id = optional_str(attrs, "unique_id", pointer)
    return _Parsed(name, props, when, value, unique_id)


def _parse_profile(raw: object, pointer: str) -> tuple[dict[str, Any], str | None]:
    if not isinstance(raw, dict):
        raise invalid("'profile' is a required field.", pointer=pointer)
    attrs = as_object(raw.get("attributes"), f"{pointer}/attributes")
    profile_id = optional_str(raw, "id", pointer)
    cleaned = _profiles.clean(attrs, f"{pointer}/attributes")
    if profile_id is None and not any(cleaned.get(n) for n in IDENTIFIERS):
        raise invalid(
            "One of 'id', 'email', 'phone_number' or 'external_id' is required.",
            pointer=f"{pointer}/attributes",
        )
    return attrs, profile_id


def _store(call: Call, profile: tuple[dict[str, Any], str | None], events: list[_Parsed]) -> None:
    record, _ = _profiles.upsert(call.world, profile[0], profile[1])
    for event in events:
        record_event(
            call.world,
            record,
            event.metric,
            event.properties,
            when=event.when,
            value=event.value,
            unique_id=event.unique_id,
        )


def create_event(call: Call) -> Reply:
    """POST /api/events: 202 with no body."""
    attrs = call.attributes("event")
    base = "/data/attributes"
    profile = _parse_profile(dig(attrs, base, "profile", "data"), f"{base}/profile/data")
    _store(call, profile, [_parse_event(attrs, base, call.now)])
    return Reply(202)


def bulk_create_events(call: Call) -> Reply:
    """POST /api/event-bulk-create-jobs: 202 with no body; all checked before any is stored."""
    attrs = call.attributes("event-bulk-create-job")
    base = "/data/attributes/events-bulk-create/data"
    entries = dig(attrs, "/data/attributes", "events-bulk-create", "data")
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_BULK_PROFILES:
        raise invalid("Between 1 and 1000 profiles' events are allowed.", pointer=base)
    parsed = []
    for index, entry in enumerate(entries):
        pointer = f"{base}/{index}/attributes"
        inner = as_object(dig(entry, f"{base}/{index}", "attributes"), pointer)
        profile = _parse_profile(dig(inner, pointer, "profile", "data"), f"{pointer}/profile/data")
        raw_events = as_array(dig(inner, pointer, "events", "data"), f"{pointer}/events/data")
        events = [
            _parse_event(
                dig(event, f"{pointer}/events/data/{n}", "attributes"),
                f"{pointer}/events/data/{n}/attributes",
                call.now,
            )
            for n, event in enumerate(raw_events)
        ]
        parsed.append((profile, events))
    for profile, events in parsed:
        _store(call, profile, events)
    return Reply(202)


def _included(call: Call, records: list[Record]) -> list[dict[str, Any]]:
    wanted = set(call.query.get("include", "").split(","))
    unknown = wanted - {"", "metric", "profile", "attributions"}
    if unknown:
        raise invalid(f"Invalid include value(s): {sorted(unknown)}.", parameter="include")
    included: dict[tuple[str, str], dict[str, Any]] = {}
    for record in records:
        if "metric" in wanted:
            metric = call.account.metrics[record.extra["metric_id"]]
            included.setdefault(("metric", metric.id), _metrics.render(call, metric))
        profile = call.account.profiles.get(record.extra["profile_id"])
        if "profile" in wanted and profile is not None:
            included.setdefault(("profile", profile.id), _profiles.render(call, profile))
    return list(included.values())


def get_events(call: Call) -> Reply:
    """GET /api/events (filter by metric, profile and time; sort; ``include`` metric, profile)."""
    conditions = parse_filter(call.query.get("filter", ""), _FILTERS, _TIME_FIELDS)
    records = [r for r in call.account.events.values() if matches(conditions, _event_field(r))]
    _, descending = sort_key(call.query, frozenset({"datetime", "timestamp"}), "timestamp")
    records.sort(key=lambda r: r.created, reverse=descending)
    page = paginate(
        records, base=call.base, path=call.path, query=call.query, default_size=200, max_size=1000
    )
    document: dict[str, Any] = {
        "data": [render(call, r) for r in page.items],
        "links": dict(page.links),
    }
    if call.query.get("include"):
        document["included"] = _included(call, list(page.items))
    return Reply(200, document)


def get_event(call: Call) -> Reply:
    """GET /api/events/{id} (``include`` metric, profile)."""
    record = call.account.events.get(call.params["id"])
    if record is None:
        raise not_found("event", call.params["id"])
    document: dict[str, Any] = {
        "data": render(call, record),
        "links": links_self(call.base, call.path),
    }
    if call.query.get("include"):
        document["included"] = _included(call, [record])
    return Reply(200, document)


HANDLERS: Mapping[str, Callable[[Call], Reply]] = {
    "create_event": create_event,
    "bulk_create_events": bulk_create_events,
    "get_events": get_events,
    "get_event": get_event,
}
