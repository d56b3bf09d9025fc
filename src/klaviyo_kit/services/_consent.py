"""Marketing consent and suppression in bulk: subscribe, unsubscribe, suppress, unsuppress.

The flows validate every item before the first request, then send Klaviyo's bulk jobs in the
largest chunks each endpoint accepts (1,000 profiles to subscribe, 100 for the others).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Final, Literal, TypeAlias, get_args

from pydantic import BaseModel, ConfigDict, field_validator

from klaviyo_kit.errors import InvalidInputError
from klaviyo_kit.sdk.types import BulkJob, Document
from klaviyo_kit.services._bulk import BulkSubmission, chunked
from klaviyo_kit.services._flow import Call, Flow
from klaviyo_kit.services._ids import require_id
from klaviyo_kit.services._inputs import coerce
from klaviyo_kit.services._validate import check_email, check_phone

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping

    from klaviyo_kit.sdk.types import JsonDict

__all__ = [
    "EMAIL_ONLY",
    "SUBSCRIBE_CHUNK",
    "SUPPRESS_CHUNK",
    "UNSUBSCRIBE_CHUNK",
    "Channel",
    "ConsentLogic",
    "Subscriber",
    "SubscriberLike",
]

SUBSCRIBE_CHUNK: Final = 1000
"""Klaviyo's limit of profiles per bulk subscribe job."""
UNSUBSCRIBE_CHUNK: Final = 100
"""Klaviyo's limit of profiles per bulk unsubscribe job."""
SUPPRESS_CHUNK: Final = 100
"""Klaviyo's limit of email addresses per bulk (un)suppress job."""

Channel = Literal["email", "sms"]
"""A marketing channel whose consent the lists service changes."""
EMAIL_ONLY: Final[tuple[Channel, ...]] = ("email",)


class Subscriber(BaseModel):
    """A person whose marketing consent changes: an email address and/or a phone number.

    Attributes:
        email: The email address (needed for the ``email`` channel).
        phone_number: E.164 phone number (needed for the ``sms`` channel).
        consented_at: When consent was collected; only with ``historical_import=True``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    email: str | None = None
    phone_number: str | None = None
    consented_at: datetime | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return None if value is None else check_email(value)

    @field_validator("phone_number")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else check_phone(value)


SubscriberLike: TypeAlias = "Subscriber | Mapping[str, object] | str"
"""A :class:`Subscriber`, a mapping of its fields, or a bare email address or phone number."""


def _subscriber(value: SubscriberLike, field: str) -> Subscriber:
    if isinstance(value, str):
        text = value.strip()
        key = "phone_number" if text.startswith("+") else "email"
        return coerce(Subscriber, {key: text}, field)
    return coerce(Subscriber, value, field)


def _channels(channels: Collection[Channel]) -> tuple[Channel, ...]:
    if isinstance(channels, str):
        channels = (channels,)  # type: ignore[assignment] # a lone "email" is a common slip
    known = get_args(Channel)
    chosen = tuple(c for c in known if c in channels)
    unknown = [c for c in channels if c not in known]
    if unknown or not chosen:
        raise InvalidInputError(
            "channels", f"must name one or both of email, sms; got {channels!r}"
        )
    return chosen


def _list_relationship(list_id: str | None) -> JsonDict:
    if list_id is None:
        return {}
    target = require_id(list_id, "list_id")
    return {"relationships": {"list": {"data": {"type": "list", "id": target}}}}


def _consent_profile(
    person: Subscriber, channels: tuple[Channel, ...], consent: JsonDict, field: str
) -> JsonDict:
    subscriptions: JsonDict = {}
    if "email" in channels and person.email:
        subscriptions["email"] = {"marketing": dict(consent)}
    if "sms" in channels and person.phone_number:
        subscriptions["sms"] = {"marketing": dict(consent)}
    if not subscriptions:
        wanted = " or ".join("an email" if c == "email" else "a phone number" for c in channels)
        raise InvalidInputError(field, f"needs {wanted} for the {'/'.join(channels)} channel")
    attrs: JsonDict = {"subscriptions": subscriptions}
    if person.email:
        attrs["email"] = person.email
    if person.phone_number:
        attrs["phone_number"] = person.phone_number
    return {"type": "profile", "attributes": attrs}


def _people(profiles: Iterable[SubscriberLike]) -> Iterable[SubscriberLike]:
    """A lone address is one profile, not an iterable of characters."""
    return [profiles] if isinstance(profiles, str) else profiles


def _emails(emails: Iterable[str]) -> list[str]:
    if isinstance(emails, str):
        emails = [emails]
    return [check_email(e, f"emails[{i}]") for i, e in enumerate(emails)]


class ConsentLogic:
    """Flows that change marketing consent and suppression, shared by the sync and async lists."""

    def _subscribe_flow(
        self,
        profiles: Iterable[SubscriberLike],
        list_id: str | None,
        channels: Collection[Channel],
        historical_import: bool,  # noqa: FBT001
        custom_source: str | None,
    ) -> Flow[BulkSubmission]:
        chosen = _channels(channels)
        relationship = _list_relationship(list_id)
        items: list[JsonDict] = []
        for index, value in enumerate(_people(profiles)):
            field = f"profiles[{index}]"
            person = _subscriber(value, field)
            consent: JsonDict = {"consent": "SUBSCRIBED"}
            if historical_import:
                if person.consented_at is None:
                    raise InvalidInputError(
                        f"{field}.consented_at", "is required when historical_import is true"
                    )
                when = person.consented_at
                aware = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
                if aware > datetime.now(timezone.utc):
                    raise InvalidInputError(f"{field}.consented_at", "must be in the past")
                consent["consented_at"] = aware.isoformat()
            elif person.consented_at is not None:
                raise InvalidInputError(
                    f"{field}.consented_at", "may only be given with historical_import=True"
                )
            items.append(_consent_profile(person, chosen, consent, field))
        attributes: JsonDict = {"historical_import": historical_import}
        if custom_source is not None:
            attributes["custom_source"] = custom_source
        return (
            yield from self._send_jobs(
                ("profiles", "bulk_subscribe_profiles"),
                "profile-subscription-bulk-create-job",
                items,
                SUBSCRIBE_CHUNK,
                attributes=attributes,
                relationship=relationship,
            )
        )

    def _unsubscribe_flow(
        self,
        profiles: Iterable[SubscriberLike],
        list_id: str | None,
        channels: Collection[Channel],
    ) -> Flow[BulkSubmission]:
        chosen = _channels(channels)
        relationship = _list_relationship(list_id)
        items: list[JsonDict] = []
        for index, value in enumerate(_people(profiles)):
            field = f"profiles[{index}]"
            person = _subscriber(value, field)
            if person.consented_at is not None:
                raise InvalidInputError(f"{field}.consented_at", "is not used when unsubscribing")
            items.append(_consent_profile(person, chosen, {"consent": "UNSUBSCRIBED"}, field))
        return (
            yield from self._send_jobs(
                ("profiles", "bulk_unsubscribe_profiles"),
                "profile-subscription-bulk-delete-job",
                items,
                UNSUBSCRIBE_CHUNK,
                relationship=relationship,
            )
        )

    def _suppression_flow(self, emails: Iterable[str], *, suppress: bool) -> Flow[BulkSubmission]:
        items: list[JsonDict] = [
            {"type": "profile", "attributes": {"email": email}} for email in _emails(emails)
        ]
        if suppress:
            method, kind = "bulk_suppress_profiles", "profile-suppression-bulk-create-job"
        else:
            method, kind = "bulk_unsuppress_profiles", "profile-suppression-bulk-delete-job"
        return (yield from self._send_jobs(("profiles", method), kind, items, SUPPRESS_CHUNK))

    def _send_jobs(
        self,
        operation: tuple[str, str],
        kind: str,
        items: list[JsonDict],
        size: int,
        *,
        attributes: JsonDict | None = None,
        relationship: JsonDict | None = None,
    ) -> Flow[BulkSubmission]:
        requests = 0
        job_ids: list[str] = []
        for chunk in chunked(items, size):
            attrs: JsonDict = {**(attributes or {}), "profiles": {"data": list(chunk)}}
            data: JsonDict = {"type": kind, "attributes": attrs, **(relationship or {})}
            result = yield Call(*operation, ({"data": data},))
            requests += 1
            doc = Document.parse(result)
            if isinstance(doc.data, dict):
                job = doc.resource(BulkJob)
                if job.id:
                    job_ids.append(job.id)
        return BulkSubmission(len(items), requests, tuple(job_ids))
