"""Bulk create bodies: events grouped per profile, at most 1,000 events and 5 MB per request."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from klaviyo_kit.services._validate import MAX_PAYLOAD_BYTES, json_size

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from pydantic import JsonValue

    from klaviyo_kit.sdk.types import JsonDict

__all__ = ["MAX_BULK_EVENTS", "BulkChunk", "chunk_events"]

MAX_BULK_EVENTS: Final = 1000
"""Klaviyo takes up to 1,000 events per bulk create request."""
_ENVELOPE_BYTES: Final = 512
_ENTRY_BYTES: Final = 128
_EVENT_BYTES: Final = len('{"type":"event","attributes":}')
_POINTER: Final = re.compile(
    r"events-bulk-create/data/(\d+)(?:/attributes/(profile|events)(?:/data)?(?:/(\d+))?)?"
)


@dataclass(slots=True)
class BulkChunk:
    """One bulk create request and which caller events it carries.

    Attributes:
        tags: For each profile entry, the caller's tags of its events, in order.
        size: Estimated body size in bytes.
        count: How many events the chunk holds.
    """

    tags: list[list[int]] = field(default_factory=list)
    size: int = _ENVELOPE_BYTES
    count: int = 0
    _profiles: list[JsonValue] = field(default_factory=list)
    _events: list[list[JsonValue]] = field(default_factory=list)
    _by_profile: dict[str, int] = field(default_factory=dict)

    def body(self) -> JsonDict:
        """Return the ``bulk_create_events`` request body."""
        entries: list[JsonValue] = [
            {
                "type": "event-bulk-create",
                "attributes": {"profile": profile, "events": {"data": events}},
            }
            for profile, events in zip(self._profiles, self._events, strict=True)
        ]
        return {
            "data": {
                "type": "event-bulk-create-job",
                "attributes": {"events-bulk-create": {"data": entries}},
            }
        }

    def all_tags(self) -> list[int]:
        """Return every event's tag."""
        return [tag for entry in self.tags for tag in entry]

    def tags_blamed_by(self, pointers: Iterable[str]) -> set[int]:
        """Return the tags of the events that error pointers point at.

        Pointers are JSON pointers into the body (``/data/attributes/events-bulk-create/data/
        2/attributes/events/data/0/attributes/value``) or dotted validation locations. One into
        an entry's profile blames all of that entry's events; one into an event blames that
        event. An empty set means no pointer names an event.
        """
        blamed: set[int] = set()
        for raw in pointers:
            pointer = raw.replace(".", "/")
            match = _POINTER.search(pointer)
            if match is None or int(match.group(1)) >= len(self.tags):
                continue
            entry = self.tags[int(match.group(1))]
            number = match.group(3)
            if match.group(2) == "events" and number is not None and int(number) < len(entry):
                blamed.add(entry[int(number)])
            else:
                blamed.update(entry)
        return blamed

    def _fits(self, added: int) -> bool:
        return self.count < MAX_BULK_EVENTS and self.size + added <= MAX_PAYLOAD_BYTES

    def add(self, tag: int, attributes: JsonDict, size: int | None = None) -> bool:
        """Add one event (attributes with its ``profile``); ``False`` if the chunk is full.

        ``size`` is the attributes' encoded size when the caller measured it already: the
        event is then counted at that size (its profile included, an overestimate), and
        nothing is encoded here but the profile's key.
        """
        event = {k: v for k, v in attributes.items() if k != "profile"}
        profile = attributes.get("profile")
        key = json.dumps(profile, sort_keys=True, separators=(",", ":"), default=str)
        item: JsonDict = {"type": "event", "attributes": event}
        added = (json_size(item) if size is None else size + _EVENT_BYTES) + 1
        index = self._by_profile.get(key)
        if index is None:
            added += len(key.encode()) + _ENTRY_BYTES
        if self.count and not self._fits(added):
            return False
        if index is None:
            index = self._by_profile[key] = len(self._profiles)
            self._profiles.append(profile)
            self._events.append([])
            self.tags.append([])
        self._events[index].append(item)
        self.tags[index].append(tag)
        self.size += added
        self.count += 1
        return True


def chunk_events(
    events: Iterable[tuple[int, JsonDict] | tuple[int, JsonDict, int]],
) -> Iterator[BulkChunk]:
    """Group tagged event attributes into requests Klaviyo accepts, in order.

    Each item is ``(tag, attributes)``, or ``(tag, attributes, encoded size)`` when known.
    """
    chunk = BulkChunk()
    for tag, attributes, *known in events:
        size = known[0] if known else None
        if not chunk.add(tag, attributes, size):
            yield chunk
            chunk = BulkChunk()
            chunk.add(tag, attributes, size)
    if chunk.count:
        yield chunk
