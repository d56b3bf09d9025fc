"""What the campaigns service sends: email content and the request bodies of revision 2026-10-15.

From revision 2026-10-15 a campaign is created in one request with its audiences and messages
inline; a message's content lives in its *variations* (``definition.details``), and an audience
is referenced by a client-chosen temporary id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from pydantic import BaseModel, ConfigDict, field_validator

from klaviyo_kit.errors import InvalidInputError
from klaviyo_kit.services._ids import unique_ids
from klaviyo_kit.services._inputs import coerce
from klaviyo_kit.services._validate import check_email, check_name

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from pydantic import JsonValue

    from klaviyo_kit.sdk.types import JsonDict

__all__ = ["EmailContent", "campaign_body", "content_details"]

_AUDIENCE: Final = "audience-1"


class EmailContent(BaseModel):
    """The content of an email campaign message.

    Attributes:
        subject: The subject line.
        preview_text: The preview text shown after the subject.
        from_email: The sender address.
        from_label: The sender name.
        reply_to_email: Where replies go.
        cc_email: A copy recipient.
        bcc_email: A blind-copy recipient.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str | None = None
    preview_text: str | None = None
    from_email: str | None = None
    from_label: str | None = None
    reply_to_email: str | None = None
    cc_email: str | None = None
    bcc_email: str | None = None

    @field_validator("from_email", "reply_to_email", "cc_email", "bcc_email")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return None if value is None else check_email(value)


def content_details(content: EmailContent | Mapping[str, object]) -> JsonDict:
    """Return a variation's ``details``: ``{"channel": "email", "subject": ..., ...}``.

    Unset fields are omitted.

    Raises:
        InvalidInputError: If a field is unknown or an address is malformed.
    """
    fields = coerce(EmailContent, content, "content").model_dump(exclude_none=True)
    if not fields:
        raise InvalidInputError("content", "sets no field")
    return {"channel": "email", **fields}


def campaign_body(
    name: str,
    audiences: Iterable[str],
    excluded: Iterable[str],
    content: EmailContent | Mapping[str, object] | None,
) -> JsonDict:
    """Return the ``create_campaign`` body of an email campaign with one message.

    Raises:
        InvalidInputError: For an empty name, no audience, a list both included and excluded,
            or bad content.
    """
    clean = check_name(name, "name")
    included: list[JsonValue] = list(unique_ids(audiences, "audiences"))
    if not included:
        raise InvalidInputError("audiences", "needs at least one list or segment id")
    left_out: list[JsonValue] = list(unique_ids(excluded, "excluded"))
    both = sorted(str(i) for i in set(included) & set(left_out))
    if both:
        raise InvalidInputError("excluded", f"also in audiences: {', '.join(both)}")
    message: JsonDict = {"audience_temporary_id": _AUDIENCE, "name": clean}
    if content is not None:
        message["variations"] = [
            {"definition": {"name": "default", "details": content_details(content)}}
        ]
    return {
        "data": {
            "type": "campaign",
            "attributes": {
                "definition": {"name": clean},
                "audiences": [
                    {"temporary_id": _AUDIENCE, "included": included, "excluded": left_out}
                ],
                "messages": [message],
            },
        }
    }
