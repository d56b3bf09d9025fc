"""Typed inputs the services accept, validated before any request."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, field_validator

from klaviyo_kit.errors import InvalidInputError
from klaviyo_kit.sdk.types import Location
from klaviyo_kit.services._validate import (
    MAX_PROFILE_BYTES,
    check_email,
    check_json_value,
    check_phone,
    json_size,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from klaviyo_kit.sdk.types import JsonDict

__all__ = ["ProfileInput", "coerce"]

M = TypeVar("M", bound=BaseModel)


def coerce(model: type[M], value: M | Mapping[str, object], field: str) -> M:
    """Return ``value`` as ``model``, turning pydantic's error into one naming the field.

    Raises:
        InvalidInputError: If ``value`` does not validate.
    """
    if isinstance(value, model):
        return value
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        path = f"{field}.{where}" if where else field
        ours = first.get("ctx", {}).get("error")
        if isinstance(ours, InvalidInputError):
            # Our own check may know a deeper field (properties.note) than pydantic's location.
            deeper = where and ours.field.startswith(where)
            raise InvalidInputError(
                f"{field}.{ours.field}" if deeper else path, ours.problem
            ) from None
        raise InvalidInputError(path, first["msg"]) from None


class ProfileInput(BaseModel):
    """A profile to create or update; at least one of email, phone number or external id.

    Attributes:
        email: The email address.
        phone_number: E.164 phone number, e.g. ``+15005550006``.
        external_id: Your system's id for the person.
        properties: Custom properties (JSON values).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    email: str | None = None
    phone_number: str | None = None
    external_id: str | None = Field(default=None, min_length=1, max_length=255)
    first_name: str | None = None
    last_name: str | None = None
    organization: str | None = None
    locale: str | None = None
    title: str | None = None
    image: str | None = None
    location: Location | None = None
    properties: dict[str, JsonValue] = Field(default_factory=dict)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return None if value is None else check_email(value)

    @field_validator("phone_number")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else check_phone(value)

    @field_validator("properties")
    @classmethod
    def _properties(cls, value: dict[str, JsonValue]) -> dict[str, JsonValue]:
        check_json_value(value, "properties")
        return value

    @property
    def has_identifier(self) -> bool:
        """Whether Klaviyo can identify the person (email, phone number or external id)."""
        return bool(self.email or self.phone_number or self.external_id)

    def attributes(self) -> JsonDict:
        """Return the JSON:API ``attributes`` object, omitting unset fields.

        Raises:
            InvalidInputError: If no identifier is set or the profile is over 100 KB.
        """
        if not self.has_identifier:
            raise InvalidInputError(
                "profile", "needs at least one of email, phone_number or external_id"
            )
        attrs: JsonDict = self.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        size = json_size(attrs)
        if size > MAX_PROFILE_BYTES:
            raise InvalidInputError("profile", f"is {size} bytes; the limit is 100 KB")
        return attrs
