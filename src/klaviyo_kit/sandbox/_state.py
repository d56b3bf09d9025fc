"""The in-memory model of one Klaviyo account: records, ids and timestamps."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_SHORT = string.ascii_letters + string.digits
IDENTIFIERS = ("email", "phone_number", "external_id")


def iso(epoch: float) -> str:
    """Format epoch seconds the way Klaviyo writes datetimes (ISO 8601, UTC offset)."""
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")


def parse_time(text: str) -> float:
    """Parse an ISO 8601 date or datetime (naive means UTC) into epoch seconds.

    Raises:
        ValueError: If the text is no ISO 8601 date.
    """
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


class Ids:
    """Klaviyo-looking ids from a seeded source, so a seeded sandbox is reproducible."""

    def __init__(self, seed: int | None) -> None:
        """Seed the id source (``None`` draws from the OS)."""
        self._rng = random.Random(seed)  # noqa: S311 - ids need no cryptographic strength

    def ulid(self, epoch: float) -> str:
        """Return a 26-character ULID-like id (profiles, jobs, campaigns, webhooks)."""
        millis = int(epoch * 1000)
        head = "".join(_CROCKFORD[(millis >> shift) & 31] for shift in range(45, -1, -5))
        tail = "".join(self._rng.choice(_CROCKFORD) for _ in range(16))
        return head + tail

    def short(self, length: int = 6) -> str:
        """Return a short mixed-case id (lists, metrics, segments, templates, accounts)."""
        return "".join(self._rng.choice(_SHORT) for _ in range(length))


@dataclass
class Record:
    """One stored resource.

    Attributes:
        id: The resource id.
        attributes: Its JSON:API attributes as stored (profiles: ``email``, ``properties``, …).
        created: Creation time, epoch seconds (for events: the event time).
        updated: Last change, epoch seconds.
        extra: Sandbox bookkeeping (relationships, consent, job payloads).
    """

    id: str
    attributes: dict[str, Any]
    created: float
    updated: float
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    revision: ClassVar[int] = 0
    """Counts every field assignment on any record (a new record, a new ``updated``): a listing
    computed at one revision still holds while the revision is unchanged."""

    def __setattr__(self, name: str, value: Any) -> None:
        """Set a field and count the change."""
        object.__setattr__(self, name, value)
        Record.revision += 1


@dataclass
class Account:
    """Everything one Klaviyo account holds, keyed by resource id in insertion order.

    Read it in tests; change it through the API so that Klaviyo's rules apply.

    Attributes:
        id: The 6-character account id (also its public API key).
        profiles: Profiles by id.
        metrics: Metrics by id.
        events: Events by id.
        event_keys: ``(profile id, metric id, unique_id)`` → event id, for dedupe.
        lists: Lists by id.
        list_members: List id → ``{profile id: joined at}``.
        segments: Segments by id.
        segment_members: Segment id → fixed ``{profile id: joined at}``.
        campaigns: Campaigns by id.
        audiences: Campaign audiences by id.
        messages: Campaign messages by id.
        variations: Campaign message variations (their content) by id.
        templates: Templates by id.
        send_jobs: Campaign send jobs by campaign id.
        import_jobs: Profile bulk import jobs by id.
        suppression_jobs: Suppression and unsuppression jobs by id.
        webhooks: Webhook subscriptions by id (secrets in ``extra``).
    """

    id: str
    profiles: dict[str, Record] = field(default_factory=dict)
    metrics: dict[str, Record] = field(default_factory=dict)
    events: dict[str, Record] = field(default_factory=dict)
    event_keys: dict[tuple[str, str, str], str] = field(default_factory=dict)
    lists: dict[str, Record] = field(default_factory=dict)
    list_members: dict[str, dict[str, float]] = field(default_factory=dict)
    segments: dict[str, Record] = field(default_factory=dict)
    segment_members: dict[str, dict[str, float]] = field(default_factory=dict)
    campaigns: dict[str, Record] = field(default_factory=dict)
    audiences: dict[str, Record] = field(default_factory=dict)
    messages: dict[str, Record] = field(default_factory=dict)
    variations: dict[str, Record] = field(default_factory=dict)
    templates: dict[str, Record] = field(default_factory=dict)
    send_jobs: dict[str, Record] = field(default_factory=dict)
    import_jobs: dict[str, Record] = field(default_factory=dict)
    suppression_jobs: dict[str, Record] = field(default_factory=dict)
    webhooks: dict[str, Record] = field(default_factory=dict)
    profile_index: dict[tuple[str, object], str] = field(default_factory=dict)
    listings: dict[object, tuple[int, list[Record]]] = field(
        default_factory=dict, repr=False, compare=False
    )
    """Profile listings by query, with the record revision they were computed at (paging a
    listing of many profiles re-sorts nothing while nothing changes)."""

    def find_profile(self, field_name: str, value: object) -> Record | None:
        """Return the profile whose identifier equals ``value`` (``None`` never matches).

        Args:
            field_name: ``email``, ``phone_number`` or ``external_id``.
            value: The identifier.

        Returns:
            The profile, or ``None``.
        """
        if value is None:
            return None
        profile_id = self.profile_index.get((field_name, value))
        return self.profiles.get(profile_id) if profile_id is not None else None

    def store_profile(self, record: Record, changes: dict[str, Any]) -> None:
        """Apply attribute changes to a stored (or new) profile and keep the identifier index."""
        for name in IDENTIFIERS:
            if name in changes and record.attributes.get(name) is not None:
                self.profile_index.pop((name, record.attributes[name]), None)
        record.attributes.update(changes)
        Record.revision += 1
        for name in IDENTIFIERS:
            if record.attributes.get(name) is not None:
                self.profile_index[name, record.attributes[name]] = record.id
        self.profiles[record.id] = record
