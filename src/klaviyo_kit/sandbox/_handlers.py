"""Every modelled operation's handler, keyed by the SDK's canonical operation name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from klaviyo_kit.sandbox import (
    _accounts,
    _aggregates,
    _campaign_parts,
    _campaigns,
    _consent,
    _events,
    _imports,
    _lists,
    _members,
    _merges,
    _metrics,
    _profile_list,
    _profiles,
    _segment_writes,
    _segments,
    _sends,
    _templates,
    _variations,
    _webhook_api,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.sandbox._context import Call
    from klaviyo_kit.sandbox._jsonapi import Reply

HANDLERS: Mapping[str, Callable[[Call], Reply]] = {
    **_accounts.HANDLERS,
    **_profiles.HANDLERS,
    **_profile_list.HANDLERS,
    **_events.HANDLERS,
    **_merges.HANDLERS,
    **_metrics.HANDLERS,
    **_aggregates.HANDLERS,
    **_lists.HANDLERS,
    **_members.HANDLERS,
    **_segments.HANDLERS,
    **_segment_writes.HANDLERS,
    **_templates.HANDLERS,
    **_campaigns.HANDLERS,
    **_campaign_parts.HANDLERS,
    **_variations.HANDLERS,
    **_sends.HANDLERS,
    **_imports.HANDLERS,
    **_consent.HANDLERS,
    **_webhook_api.HANDLERS,
}
