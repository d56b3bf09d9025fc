"""What a verified delivery holds: its events, in order, each with its topic and payload."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, cast

from klaviyo_kit.webhooks._reasons import VerificationReason, reject
from klaviyo_kit.webhooks._scheme import iso_timestamp

if TYPE_CHECKING:
    from collections.abc import Mapping

    from klaviyo_kit.infra import JSONValue


def _mapping(value: object) -> Mapping[str, object]:
    return value if isinstance(value, dict) else {}


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One event of a delivery, as Klaviyo sent it.

    Attributes:
        topic: The topic id, e.g. ``event:klaviyo.opened_email``.
        external_id: The event's id, Klaviyo's idempotency key for it.
        payload: The event in the shape of a Get Event response (``{"data": {...}}``).
        delivery_id: The delivery's id (Klaviyo: the webhook id).
        index: The event's position in its delivery, from 0.
    """

    topic: str
    external_id: str
    payload: Mapping[str, object]
    delivery_id: str
    index: int = 0

    @property
    def dedupe_key(self) -> str:
        """The key the event is claimed under: ``webhook:<delivery id>:<external id>``."""
        return f"webhook:{self.delivery_id}:{self.external_id}"

    @property
    def attributes(self) -> Mapping[str, object]:
        """The event's ``data.attributes`` (empty when absent)."""
        return _mapping(_mapping(self.payload.get("data")).get("attributes"))

    @property
    def properties(self) -> Mapping[str, object]:
        """The event's ``event_properties`` (empty when absent)."""
        return _mapping(self.attributes.get("event_properties"))

    @property
    def profile_id(self) -> str | None:
        """The id of the profile the event happened to, if the payload names one."""
        return self._related_id("profile")

    @property
    def metric_id(self) -> str | None:
        """The id of the event's metric, if the payload names one."""
        return self._related_id("metric")

    @property
    def occurred_at(self) -> datetime | None:
        """When the event happened: ``attributes.datetime``, else ``attributes.timestamp``."""
        attributes = self.attributes
        text = attributes.get("datetime")
        if isinstance(text, str):
            return iso_timestamp(text)
        seconds = attributes.get("timestamp")
        if isinstance(seconds, int) and not isinstance(seconds, bool):
            try:
                return datetime.fromtimestamp(seconds, tz=timezone.utc)
            except (OverflowError, ValueError, OSError):
                return None
        return None

    def _related_id(self, name: str) -> str | None:
        relationships = _mapping(_mapping(self.payload.get("data")).get("relationships"))
        return _optional_str(_mapping(_mapping(relationships.get(name)).get("data")).get("id"))

    def to_job(self) -> dict[str, JSONValue]:
        """Return the event as a JSON job payload; :meth:`from_job` reverses it."""
        return {
            "kind": "klaviyo_kit.webhook_event",
            "topic": self.topic,
            "external_id": self.external_id,
            # The payload came out of json.loads, so it is JSON data.
            "payload": cast("dict[str, JSONValue]", dict(self.payload)),
            "delivery_id": self.delivery_id,
            "index": self.index,
        }

    @classmethod
    def from_job(cls, job: object) -> WebhookEvent:
        """Rebuild an event from :meth:`to_job` output.

        Raises:
            ValueError: ``job`` is not an event job.
        """
        if not isinstance(job, dict):
            raise ValueError("not a webhook event job")  # noqa: TRY004 - a bad value, not type
        topic, external_id = job.get("topic"), job.get("external_id")
        delivery_id, payload, index = job.get("delivery_id"), job.get("payload"), job.get("index")
        if not (
            isinstance(topic, str)
            and isinstance(external_id, str)
            and isinstance(delivery_id, str)
            and isinstance(payload, dict)
            and isinstance(index, int)
        ):
            raise ValueError("not a webhook event job")  # noqa: TRY004 - a bad value, not type
        return cls(topic, external_id, payload, delivery_id, index)


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One verified POST: its events in order and the metadata Klaviyo sent with them.

    Attributes:
        delivery_id: The id events are deduplicated under (Klaviyo: the webhook id).
        events: The delivery's events, in the order sent (up to 1,000, topics mixed).
        sent_at: ``meta.timestamp`` when the body has one.
        account_id: ``meta.klaviyo_account_id`` when present.
        version: ``meta.version`` when present.
    """

    delivery_id: str
    events: tuple[WebhookEvent, ...]
    sent_at: datetime | None = None
    account_id: str | None = None
    version: str | None = None


def _event(item: object, *, delivery_id: str, index: int) -> WebhookEvent:
    if not isinstance(item, dict):
        raise reject(VerificationReason.MALFORMED, f"data[{index}] is not an object")
    topic, payload = item.get("topic"), item.get("payload", {})
    if not isinstance(topic, str) or not topic or not isinstance(payload, dict):
        raise reject(VerificationReason.MALFORMED, f"data[{index}] has no topic or payload")
    external_id = item.get("external_id")
    if not isinstance(external_id, str) or not external_id:
        external_id = _optional_str(_mapping(payload.get("data")).get("id"))
    if not external_id:
        raise reject(VerificationReason.MALFORMED, f"data[{index}] has no external_id")
    return WebhookEvent(topic, external_id, payload, delivery_id, index)


def parse_delivery(document: Mapping[str, object], *, delivery_id: str) -> WebhookDelivery:
    """Read the events out of an authenticated body (``{"data": [...], "meta": {...}}``).

    Args:
        document: The parsed JSON body.
        delivery_id: The id the scheme identified the delivery by.

    Returns:
        The delivery with its events in order.

    Raises:
        WebhookVerificationError: ``malformed`` when the body is not a delivery.
    """
    data = document.get("data")
    if not isinstance(data, list):
        raise reject(VerificationReason.MALFORMED, "the body has no data array")
    events = tuple(
        _event(item, delivery_id=delivery_id, index=index) for index, item in enumerate(data)
    )
    meta = _mapping(document.get("meta"))
    return WebhookDelivery(
        delivery_id=delivery_id,
        events=events,
        sent_at=iso_timestamp(meta.get("timestamp")),
        account_id=_optional_str(meta.get("klaviyo_account_id")),
        version=_optional_str(meta.get("version")),
    )
