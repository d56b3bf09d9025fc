"""What a handler sees: the account world (state, ids, clock, outbox) and the parsed call."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from klaviyo_kit.sandbox._jsonapi import SandboxAPIError, invalid

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.sandbox._state import Account, Ids, Record


@dataclass
class World:
    """The account and the services every handler shares.

    Attributes:
        account: The stored resources.
        ids: The id source.
        clock: Epoch seconds now.
        emit: Called with ``(topic, event record)`` when a system event happens.
    """

    account: Account
    ids: Ids
    clock: Callable[[], float]
    emit: Callable[[str, Record], None] = field(default=lambda _topic, _event: None)


@dataclass(frozen=True)
class Call:
    """One parsed API request."""

    world: World
    method: str
    path: str
    params: Mapping[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    base: str

    @property
    def now(self) -> float:
        """The sandbox clock, in epoch seconds."""
        return self.world.clock()

    @property
    def account(self) -> Account:
        """The account the call acts on."""
        return self.world.account

    def document(self) -> dict[str, Any]:
        """Return the JSON body as an object.

        Raises:
            SandboxAPIError: 400 when the body is missing or not a JSON object.
        """
        try:
            doc = json.loads(self.body or b"null")
        except ValueError:
            raise invalid("The request body is not valid JSON.", pointer="/") from None
        if not isinstance(doc, dict):
            raise invalid("The request body must be a JSON:API document.", pointer="/")
        return doc

    def data(self, kind: str) -> dict[str, Any]:
        """Return ``data`` of the body after checking its ``type``."""
        data = self.document().get("data")
        if not isinstance(data, dict):
            raise invalid("'data' is a required field.", pointer="/data")
        if data.get("type") != kind:
            raise SandboxAPIError(
                409,
                "conflict",
                "Conflict.",
                f"The type of the resource object ({data.get('type')}) does not match "
                f"the type of the endpoint ({kind}).",
                pointer="/data/type",
            )
        return data

    def attributes(self, kind: str) -> dict[str, Any]:
        """Return ``data.attributes`` of the body (an object, possibly empty)."""
        attrs = self.data(kind).get("attributes", {})
        if not isinstance(attrs, dict):
            raise invalid("'attributes' must be an object.", pointer="/data/attributes")
        return attrs

    def relationship_ids(self, kind: str) -> list[str]:
        """Return the ids of a relationship body ``{"data": [{"type", "id"}, ...]}``."""
        data = self.document().get("data")
        if not isinstance(data, list):
            raise invalid("'data' must be an array of resource identifiers.", pointer="/data")
        ids: list[str] = []
        for index, item in enumerate(data):
            if not isinstance(item, dict) or item.get("type") != kind or "id" not in item:
                raise invalid(
                    f"Each item must be a {kind} resource identifier.",
                    pointer=f"/data/{index}",
                )
            ids.append(str(item["id"]))
        return ids


def require_str(attrs: Mapping[str, Any], name: str, pointer: str) -> str:
    """Return a required, non-empty string attribute or raise a 400 pointing at it."""
    value = attrs.get(name)
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"'{name}' is a required field.", pointer=f"{pointer}/{name}")
    return value


def optional_str(attrs: Mapping[str, Any], name: str, pointer: str) -> str | None:
    """Return an optional string attribute or raise a 400 when it has another type."""
    value = attrs.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid(f"'{name}' must be a string.", pointer=f"{pointer}/{name}")
    return value


def as_object(value: object, pointer: str) -> dict[str, Any]:
    """Return ``value`` as an object (``None`` → empty) or raise a 400 pointing at it."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid(f"'{pointer.rsplit('/', 1)[-1]}' must be an object.", pointer=pointer)
    return value


def as_array(value: object, pointer: str) -> list[Any]:
    """Return ``value`` as an array (``None`` → empty) or raise a 400 pointing at it."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid(f"'{pointer.rsplit('/', 1)[-1]}' must be an array.", pointer=pointer)
    return value


def dig(value: object, pointer: str, *keys: str) -> object:
    """Follow object keys from ``value`` (found at ``pointer``); ``None`` when one is missing.

    Raises:
        SandboxAPIError: 400 pointing at the first step that is not an object.
    """
    for key in keys:
        value = as_object(value, pointer).get(key)
        pointer = f"{pointer}/{key}"
    return value
