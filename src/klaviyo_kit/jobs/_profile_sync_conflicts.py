"""Who wins when a person changed in the application and in Klaviyo since the last sync."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from datetime import datetime

    from klaviyo_kit.jobs._profile_source import HostProfile, ProfileData

__all__ = [
    "ConflictPolicy",
    "ProfileConflict",
    "Side",
    "last_write_wins",
    "prefer_klaviyo",
    "prefer_local",
]

Side = Literal["local", "klaviyo"]
"""The side whose version of a profile is kept."""


@dataclass(frozen=True, slots=True)
class ProfileConflict:
    """A profile changed on both sides since they last agreed.

    Attributes:
        local: The application's row.
        klaviyo_id: Klaviyo's id of the profile.
        klaviyo: Klaviyo's version of the synchronised fields.
        klaviyo_updated: Klaviyo's modification time of that version.
    """

    local: HostProfile
    klaviyo_id: str
    klaviyo: ProfileData
    klaviyo_updated: datetime


ConflictPolicy = Callable[["ProfileConflict"], Side]
"""Decides a conflict: any callable returning ``"local"`` or ``"klaviyo"``."""


def last_write_wins(conflict: ProfileConflict) -> Side:
    """Keep the version written last; Klaviyo's on a tie (its times have whole seconds)."""
    return "local" if conflict.local.updated_at > conflict.klaviyo_updated else "klaviyo"


def prefer_local(conflict: ProfileConflict) -> Side:  # noqa: ARG001 - a policy's signature
    """Always keep the application's version."""
    return "local"


def prefer_klaviyo(conflict: ProfileConflict) -> Side:  # noqa: ARG001 - a policy's signature
    """Always keep Klaviyo's version."""
    return "klaviyo"
