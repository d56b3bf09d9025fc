"""The event input model, the event attributes Klaviyo receives, and deterministic unique ids.

Every event leaves with a ``unique_id``. Klaviyo records only the first event with a given
``unique_id`` per profile and metric, so a retried request never counts an event twice. When the
caller gives none, the id is a SHA-256 over the canonical JSON of the metric, the profile's
identifiers, the properties, the time and the value; the time is fixed to "now" *before*
hashing, so two identical clicks a moment apart are two events, while a retry of one call reuses
its id.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Final, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, field_validator

from klaviyo_kit.errors import InvalidInputError
from klaviyo_kit.services._inputs import ProfileInput
from klaviyo_kit.services._validate import (
    MAX_EVENT_PROPERTIES,
    MAX_PAYLOAD_BYTES,
    check_json_value,
    check_name,
    check_number,
    json_size,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from klaviyo_kit.sdk.types import JsonDict

__all__ = [
    "EventInput",
    "TrackedEvent",
    "as_event",
    "check_currency",
    "check_event_time",
    "derive_unique_id",
    "prepare_event",
    "prepare_events",
    "prepare_sized_event",
    "prepare_sized_events",
    "profile_or_email",
    "validated",
]

M = TypeVar("M", bound=BaseModel)

MIN_EVENT_TIME: Final = datetime(1990, 1, 1, tzinfo=timezone.utc)
"""Klaviyo accepts event times after the year 1990 ..."""
MAX_FUTURE: Final = timedelta(days=365)
"""... and at most one year in the future."""
MAX_EVENT_BYTES: Final = MAX_PAYLOAD_BYTES - 1024
"""One event must fit a request body with its envelope."""
_IDENTIFIERS: Final = ("email", "phone_number", "external_id")
_CURRENCY: Final = re.compile(r"^[A-Z]{3}$")


def profile_or_email(value: object) -> object:
    """Let a bare string stand for ``{"email": value}`` (pydantic ``before`` validator)."""
    return {"email": value} if isinstance(value, str) else value


def check_currency(value: object, field: str = "value_currency") -> str:
    """Return an ISO 4217 currency code such as ``USD``, or raise."""
    if not isinstance(value, str) or _CURRENCY.match(value) is None:
        raise InvalidInputError(field, f"{value!r} is not an ISO 4217 code like 'USD'")
    return value


def check_event_time(value: datetime, now: datetime | None, field: str = "time") -> datetime:
    """Return ``value`` in UTC if Klaviyo accepts it as an event time, or raise.

    Raises:
        InvalidInputError: If ``value`` is naive, before 1990 or over a year ahead of ``now``
            (not checked when ``now`` is ``None``).
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInputError(field, "must be timezone-aware, e.g. datetime.now(timezone.utc)")
    moment = value.astimezone(timezone.utc)
    if moment < MIN_EVENT_TIME:
        raise InvalidInputError(field, f"{moment.isoformat()} is before 1990")
    if now is not None and moment > now + MAX_FUTURE:
        raise InvalidInputError(field, f"{moment.isoformat()} is more than a year ahead")
    return moment


class EventInput(BaseModel):
    """An event to track: a metric, who did it, and what happened.

    Attributes:
        metric: The metric's name, e.g. ``Viewed Product`` (created on first use).
        profile: Who did it: a :class:`ProfileInput`, a mapping of its fields, or an email.
        properties: Event properties (JSON values; at most 300, strings at most 100 KB).
        value: A monetary value, e.g. an order total.
        value_currency: The value's ISO 4217 currency code.
        time: When it happened (timezone-aware); ``None`` means now.
        unique_id: Klaviyo's dedupe key per profile and metric; derived when ``None``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: str
    profile: ProfileInput
    properties: dict[str, JsonValue] = Field(default_factory=dict)
    value: float | None = None
    value_currency: str | None = None
    time: datetime | None = None
    unique_id: str | None = None

    @field_validator("metric", mode="before")
    @classmethod
    def _metric(cls, value: object) -> str:
        return check_name(value, "metric")

    @field_validator("profile", mode="before")
    @classmethod
    def _profile(cls, value: object) -> object:
        return profile_or_email(value)

    @field_validator("properties")
    @classmethod
    def _properties(cls, value: dict[str, JsonValue]) -> dict[str, JsonValue]:
        if len(value) > MAX_EVENT_PROPERTIES:
            msg = f"has {len(value)} properties; the limit is {MAX_EVENT_PROPERTIES}"
            raise InvalidInputError("properties", msg)
        check_json_value(value, "properties")
        return value

    @field_validator("value", mode="before")
    @classmethod
    def _value(cls, value: object) -> float | None:
        return None if value is None else check_number(value, "value")

    @field_validator("value_currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        return None if value is None else check_currency(value)

    @field_validator("time")
    @classmethod
    def _time(cls, value: datetime | None) -> datetime | None:
        return None if value is None else check_event_time(value, None)

    @field_validator("unique_id")
    @classmethod
    def _unique_id(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise InvalidInputError("unique_id", "must be a non-empty string")
        return value


def validated(model: type[M], value: M | Mapping[str, object], where: str) -> M:
    """Return ``value`` as ``model``, raising one error that names the bad field.

    Args:
        model: The pydantic model.
        value: An instance or a mapping of its fields.
        where: Prefix of the field name in the error (``order``); ``""`` for none.

    Raises:
        InvalidInputError: If ``value`` does not validate, e.g. ``profile.email: ...``.
    """
    if isinstance(value, model):
        return value
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        parts = [str(part) for part in first["loc"]]
        cause = (first.get("ctx") or {}).get("error")
        problem = first["msg"]
        if isinstance(cause, InvalidInputError):  # our check ran: keep its field and words
            parts = [*parts[:-1], cause.field]
            problem = cause.problem
        name = ".".join(part for part in (where, *parts) if part) or model.__name__
        raise InvalidInputError(name, problem) from None


def as_event(event: EventInput | Mapping[str, object], where: str = "event") -> EventInput:
    """Return ``event`` as an :class:`EventInput`, naming the bad field (see :func:`validated`).

    Raises:
        InvalidInputError: If the event does not validate.
    """
    return validated(EventInput, event, where)


@dataclass(frozen=True, slots=True)
class TrackedEvent:
    """What was sent (or queued) for one event.

    Attributes:
        metric: The metric's name.
        unique_id: The dedupe key the event carries (given or derived).
        time: The event's time (UTC), fixed when the event was prepared.
    """

    metric: str
    unique_id: str
    time: datetime


def derive_unique_id(
    metric: str,
    identifiers: JsonDict,
    properties: JsonDict,
    time: datetime,
    value: float | None,
) -> str:
    """Return the SHA-256 hex digest of the event's canonical JSON (sorted keys, UTC time)."""
    canonical = json.dumps(
        {
            "metric": metric,
            "profile": identifiers,
            "properties": properties,
            "time": time.astimezone(timezone.utc).isoformat(),
            "value": value,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def prepare_event(event: EventInput, now: datetime) -> tuple[JsonDict, TrackedEvent]:
    """Return the event's JSON:API ``attributes`` (time and unique id fixed) and its receipt.

    Args:
        event: The validated event.
        now: The current time, used when the event has none.

    Raises:
        InvalidInputError: If the profile has no identifier, the time is over a year ahead of
            ``now``, or the event cannot fit a request.
    """
    attrs, receipt, _ = prepare_sized_event(event, now)
    return attrs, receipt


def prepare_sized_event(event: EventInput, now: datetime) -> tuple[JsonDict, TrackedEvent, int]:
    """Like :func:`prepare_event`, with the attributes' encoded size (measured once, here).

    Raises:
        InvalidInputError: As :func:`prepare_event`.
    """
    moment = (
        now.astimezone(timezone.utc) if event.time is None else check_event_time(event.time, now)
    )
    profile = event.profile.attributes()
    identifiers: JsonDict = {k: profile[k] for k in _IDENTIFIERS if k in profile}
    unique_id = event.unique_id or derive_unique_id(
        event.metric, identifiers, dict(event.properties), moment, event.value
    )
    attrs: JsonDict = {
        "properties": dict(event.properties),
        "metric": {"data": {"type": "metric", "attributes": {"name": event.metric}}},
        "profile": {"data": {"type": "profile", "attributes": profile}},
        "time": moment.isoformat(),
        "unique_id": unique_id,
    }
    if event.value is not None:
        attrs["value"] = event.value
    if event.value_currency is not None:
        attrs["value_currency"] = event.value_currency
    size = json_size(attrs)
    if size > MAX_EVENT_BYTES:
        raise InvalidInputError("event", f"is {size} bytes; a request may be at most 5 MB")
    return attrs, TrackedEvent(event.metric, unique_id, moment), size


def prepare_events(
    events: Iterable[EventInput | Mapping[str, object]], now: datetime
) -> list[tuple[JsonDict, TrackedEvent]]:
    """Validate and prepare every event before anything is sent.

    Raises:
        InvalidInputError: For the first bad event, naming it: ``events[3].value: ...``.
    """
    return [(attrs, receipt) for attrs, receipt, _ in prepare_sized_events(events, now)]


def prepare_sized_events(
    events: Iterable[EventInput | Mapping[str, object]], now: datetime
) -> list[tuple[JsonDict, TrackedEvent, int]]:
    """Like :func:`prepare_events`, with each event's encoded size (for sizing requests).

    Raises:
        InvalidInputError: As :func:`prepare_events`.
    """
    index = 0
    prepared = []
    try:
        for index, event in enumerate(events):  # noqa: B007 - read in the handler
            prepared.append(prepare_sized_event(as_event(event, ""), now))
    except InvalidInputError as exc:
        raise InvalidInputError(f"events[{index}].{exc.field}", exc.problem) from None
    return prepared
