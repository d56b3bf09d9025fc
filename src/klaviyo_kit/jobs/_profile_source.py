"""The host side of a profile sync: the application's own people, as a small protocol.

:class:`~klaviyo_kit.jobs.ProfileSyncJob` reads what changed in the application since a point
in time and writes what changed in Klaviyo back, through a :class:`ProfileSource`. The shipped
:class:`~klaviyo_kit.jobs.SQLProfileSource` implements it over a users table; any store that can
list rows by modification time can implement it in a few lines.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from klaviyo_kit.infra import JSONValue

__all__ = ["HostProfile", "ProfileData", "ProfileLookup", "ProfileSource", "ProfileWrite"]


@dataclass(frozen=True, slots=True)
class ProfileData:
    """The fields a profile sync keeps equal on both sides.

    Attributes:
        email: The email address.
        phone_number: The phone number (E.164).
        first_name: The first name.
        last_name: The last name.
        properties: Custom properties (JSON values).
    """

    email: str | None = None
    phone_number: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    properties: Mapping[str, JSONValue] = field(default_factory=dict, hash=False)

    def fingerprint(self) -> str:
        """Return a digest of the content, equal on both sides when they agree.

        Emails compare case-insensitively and surrounding spaces are ignored, as Klaviyo does.
        """
        email = self.email.strip().lower() if self.email else None
        phone = self.phone_number.strip() if self.phone_number else None
        canonical = json.dumps(
            [email, phone, self.first_name or None, self.last_name or None, self.properties],
            sort_keys=True,
            separators=(",", ":"),
            default=str,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class HostProfile:
    """One person as the host application stores them.

    Attributes:
        id: The application's id of the person (also sent to Klaviyo as ``external_id``).
        data: The synchronised fields.
        updated_at: When the application last changed the row (timezone-aware).
    """

    id: str
    data: ProfileData
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ProfileLookup:
    """Which row to find for a Klaviyo profile: the row with ``local_id``, else by ``email``.

    Attributes:
        local_id: The application's id of the row, when known.
        email: The email address (compared as given and lower-cased).
    """

    local_id: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class ProfileWrite:
    """Klaviyo's version of a person, to write to the application's side.

    Attributes:
        local_id: The row to update, or ``None`` to insert a new one.
        data: The fields to store.
        updated_at: Klaviyo's modification time of this version (the row's new ``updated_at``).
    """

    local_id: str | None
    data: ProfileData
    updated_at: datetime


@runtime_checkable
class ProfileSource(Protocol):
    """Where the application keeps its people: changes out, Klaviyo's changes in.

    The job reads and writes a page at a time: one :meth:`find` and one :meth:`apply` per page
    of Klaviyo profiles, so a source can serve a page in one query and one transaction.
    """

    def changes(
        self, since: datetime | None, *, after_id: str | None = None, limit: int
    ) -> Sequence[HostProfile]:
        """Return at most ``limit`` rows changed since ``since``, ordered by ``(updated_at, id)``.

        Args:
            since: Rows with ``updated_at`` at or after this time (every row when ``None``).
            after_id: With ``since``, only rows after ``(since, after_id)`` in that order (the
                next page of a pass).
            limit: The page size.
        """

    def find(self, lookups: Sequence[ProfileLookup]) -> Sequence[HostProfile | None]:
        """Return, for each lookup in order, its row (by id, else by email) or ``None``."""

    def apply(self, writes: Sequence[ProfileWrite]) -> Sequence[str]:
        """Write Klaviyo's versions, all or none (one transaction); return each row's id.

        The job never hands one call two writes to the same row.
        """
