"""The kit's own models of Klaviyo resources, and a JSON:API document parser.

The SDK's generated models are renamed in almost every major release and reject real payloads
they did not foresee; these are lenient (``extra="allow"``: unknown attributes are kept, not
rejected), frozen, and independent of the SDK. Build them from a JSON:API resource object with
:meth:`Resource.from_resource`, or parse a whole response with :class:`Document`.

Example:
    ```python
    doc = Document.parse(client.sdk.profiles.get_profiles())
    emails = [p.email for p in doc.resources(Profile)]
    cursor = doc.next_cursor  # None on the last page
    ```
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, TypeVar
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

if TYPE_CHECKING:
    from collections.abc import Mapping

    from typing_extensions import Self

__all__ = [
    "BulkJob",
    "Campaign",
    "CampaignSendJob",
    "Document",
    "Event",
    "JsonDict",
    "KlaviyoModel",
    "Links",
    "List",
    "Location",
    "Metric",
    "Profile",
    "ProfileImportJob",
    "Resource",
    "Segment",
    "Template",
    "next_cursor",
]

R = TypeVar("R", bound="Resource")

JsonDict = dict[str, JsonValue]
"""A JSON object: what the SDK sends and, in dictionary mode, returns."""


class KlaviyoModel(BaseModel):
    """Base of every kit model: frozen, lenient about extra fields, populated by name or alias."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class Resource(KlaviyoModel):
    """A JSON:API resource with its attributes flattened onto the model.

    Attributes:
        id: Klaviyo's id of the resource.
        relationships: Related resource ids by relationship name (one id, a list, or ``None``).
    """

    resource_type: ClassVar[str] = ""

    id: str | None = None
    relationships: dict[str, str | list[str] | None] = Field(default_factory=dict)

    @classmethod
    def from_resource(cls, obj: Mapping[str, object]) -> Self:
        """Build the model from a JSON:API resource object (``{type, id, attributes, …}``).

        Args:
            obj: One entry of a document's ``data`` or ``included``.

        Returns:
            The model with ``attributes`` flattened and relationship ids collected.

        Raises:
            ValueError: If ``obj`` is of a different JSON:API type than the model.
        """
        kind = obj.get("type")
        if cls.resource_type and kind is not None and kind != cls.resource_type:
            msg = f"expected a {cls.resource_type!r} resource, got {kind!r}"
            raise ValueError(msg)
        attributes = obj.get("attributes")
        fields: dict[str, object] = dict(attributes) if isinstance(attributes, dict) else {}
        fields["id"] = obj.get("id")
        fields["relationships"] = _relationship_ids(obj.get("relationships"))
        return cls.model_validate(fields)


def _relationship_ids(raw: object) -> dict[str, str | list[str] | None]:
    out: dict[str, str | list[str] | None] = {}
    if not isinstance(raw, dict):
        return out
    for name, rel in raw.items():
        data = rel.get("data") if isinstance(rel, dict) else None
        if isinstance(data, list):
            out[name] = [str(d["id"]) for d in data if isinstance(d, dict) and "id" in d]
        elif isinstance(data, dict) and "id" in data:
            out[name] = str(data["id"])
        elif isinstance(rel, dict) and "data" in rel:
            out[name] = None
    return out


class Location(KlaviyoModel):
    """A profile's location."""

    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    country: str | None = None
    latitude: float | str | None = None
    longitude: float | str | None = None
    region: str | None = None
    zip: str | None = None
    timezone: str | None = None
    ip: str | None = None


class Profile(Resource):
    """A Klaviyo profile (a person)."""

    resource_type: ClassVar[str] = "profile"

    email: str | None = None
    phone_number: str | None = None
    external_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    organization: str | None = None
    locale: str | None = None
    title: str | None = None
    image: str | None = None
    created: datetime | None = None
    updated: datetime | None = None
    last_event_date: datetime | None = None
    location: Location | None = None
    properties: dict[str, JsonValue] = Field(default_factory=dict)
    subscriptions: dict[str, JsonValue] | None = None


class Event(Resource):
    """A tracked event (an activity of a profile, counted under a metric).

    Attributes:
        time: When the event happened (Klaviyo's ``datetime`` attribute).
        unix_time: The same instant in epoch seconds (Klaviyo's ``timestamp`` attribute).
    """

    resource_type: ClassVar[str] = "event"

    time: datetime | None = Field(default=None, alias="datetime")
    unix_time: int | None = Field(default=None, alias="timestamp")
    event_properties: dict[str, JsonValue] = Field(default_factory=dict)
    uuid: str | None = None

    @property
    def metric_id(self) -> str | None:
        """The id of the event's metric, from its relationships."""
        value = self.relationships.get("metric")
        return value if isinstance(value, str) else None

    @property
    def profile_id(self) -> str | None:
        """The id of the event's profile, from its relationships."""
        value = self.relationships.get("profile")
        return value if isinstance(value, str) else None


class Metric(Resource):
    """A metric: the name events are counted under (``Placed Order``, ``Opened Email``)."""

    resource_type: ClassVar[str] = "metric"

    name: str | None = None
    created: datetime | None = None
    updated: datetime | None = None
    integration: dict[str, JsonValue] | None = None


class List(Resource):
    """A static list of profiles."""

    resource_type: ClassVar[str] = "list"

    name: str | None = None
    created: datetime | None = None
    updated: datetime | None = None
    opt_in_process: str | None = None
    profile_count: int | None = None


class Segment(Resource):
    """A dynamic segment of profiles."""

    resource_type: ClassVar[str] = "segment"

    name: str | None = None
    definition: dict[str, JsonValue] | None = None
    created: datetime | None = None
    updated: datetime | None = None
    is_active: bool | None = None
    is_processing: bool | None = None
    is_starred: bool | None = None
    profile_count: int | None = None


class Campaign(Resource):
    """An email or SMS campaign.

    From revision 2026-10-15 Klaviyo nests the name and archive flag in ``definition``; they are
    lifted onto ``name`` and ``archived`` so both revisions read the same.
    """

    resource_type: ClassVar[str] = "campaign"

    name: str | None = None
    status: str | None = None
    archived: bool | None = None
    definition: dict[str, JsonValue] | None = None
    audiences: dict[str, JsonValue] | None = None
    send_options: dict[str, JsonValue] | None = None
    tracking_options: dict[str, JsonValue] | None = None
    send_strategy: dict[str, JsonValue] | None = None
    created_at: datetime | None = None
    scheduled_at: datetime | None = None
    updated_at: datetime | None = None
    send_time: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _lift_definition(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("definition"), dict):
            definition = data["definition"]
            data = dict(data)
            for key in ("name", "archived"):
                if data.get(key) is None and key in definition:
                    data[key] = definition[key]
        return data


class Template(Resource):
    """An email template."""

    resource_type: ClassVar[str] = "template"

    name: str | None = None
    editor_type: str | None = None
    html: str | None = None
    text: str | None = None
    created: datetime | None = None
    updated: datetime | None = None


class BulkJob(Resource):
    """An asynchronous bulk job (import, subscribe, suppress): ``queued`` → ``complete``."""

    status: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    expires_at: datetime | None = None
    total_count: int | None = None
    completed_count: int | None = None
    failed_count: int | None = None

    @property
    def done(self) -> bool:
        """Whether the job has stopped (``complete`` or ``cancelled``)."""
        return self.status in {"complete", "cancelled"}


class ProfileImportJob(BulkJob):
    """A profile bulk import job."""

    resource_type: ClassVar[str] = "profile-bulk-import-job"


class CampaignSendJob(Resource):
    """The job sending a campaign: ``queued`` → ``processing`` → ``complete`` or ``cancelled``."""

    resource_type: ClassVar[str] = "campaign-send-job"

    status: str | None = None


class Links(KlaviyoModel):
    """A document's pagination links (full URLs)."""

    self_: str | None = Field(default=None, alias="self")
    next: str | None = None
    prev: str | None = None


def next_cursor(url: str | None) -> str | None:
    """Return the ``page[cursor]`` value of a ``links.next`` URL, or ``None`` on the last page."""
    if not url:
        return None
    values = parse_qs(urlsplit(url).query).get("page[cursor]")
    return values[0] if values else None


class Document(KlaviyoModel):
    """A JSON:API response document.

    Attributes:
        data: One resource object, a list of them, or ``None``.
        included: Related resources requested with ``include=``.
        links: Pagination links.
        meta: Response metadata.
    """

    data: list[dict[str, JsonValue]] | dict[str, JsonValue] | None = None
    included: list[dict[str, JsonValue]] = Field(default_factory=list)
    links: Links | None = None
    meta: dict[str, JsonValue] = Field(default_factory=dict)

    @classmethod
    def parse(cls, payload: object) -> Document:
        """Parse a response payload; an empty body (202/204) gives an empty document.

        Args:
            payload: The decoded JSON body (a ``dict``), or ``None``.

        Returns:
            The document.

        Raises:
            TypeError: If the payload is neither a mapping nor ``None``.
        """
        if payload is None or (isinstance(payload, (str, bytes)) and not payload):
            return cls()
        if not isinstance(payload, dict):
            msg = f"a JSON:API document is an object, got {type(payload).__name__}"
            raise TypeError(msg)
        return cls.model_validate(payload)

    def resources(self, model: type[R]) -> list[R]:
        """Return every resource in ``data`` as ``model``."""
        items = self.data if isinstance(self.data, list) else [self.data] if self.data else []
        return [model.from_resource(item) for item in items]

    def resource(self, model: type[R]) -> R:
        """Return the single resource in ``data`` as ``model``.

        Raises:
            ValueError: If ``data`` is not a single resource object.
        """
        if not isinstance(self.data, dict):
            msg = "the document's data is not a single resource"
            raise ValueError(msg)  # noqa: TRY004 - a malformed document, not a caller's type error
        return model.from_resource(self.data)

    def included_of(self, model: type[R]) -> list[R]:
        """Return the included resources of ``model``'s JSON:API type."""
        return [
            model.from_resource(item)
            for item in self.included
            if item.get("type") == model.resource_type
        ]

    @property
    def next_url(self) -> str | None:
        """The full URL of the next page, or ``None`` on the last page."""
        return self.links.next if self.links else None

    @property
    def next_cursor(self) -> str | None:
        """The cursor of the next page, or ``None`` on the last page.

        Raises:
            ValueError: If ``links.next`` names a next page without a ``page[cursor]``: stopping
                there would silently drop the remaining pages.
        """
        cursor = next_cursor(self.next_url)
        if self.next_url and cursor is None:
            msg = f"links.next has no page[cursor] to follow: {self.next_url[:200]}"
            raise ValueError(msg)
        return cursor
