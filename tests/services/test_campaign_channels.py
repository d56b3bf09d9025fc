from __future__ import annotations

import pytest

from klaviyo_kit import KlaviyoClient
from klaviyo_kit.errors import InvalidInputError
from klaviyo_kit.services.filters import equals, quote


def test_listing_campaigns_always_names_a_channel(client: KlaviyoClient, recorder):
    assert list(client.campaigns.iter(channel="sms")) == []
    # Klaviyo filters campaign names with contains only (equals is a 400).
    spring = "contains(name," + quote('Spring "Sale"') + ")"
    assert list(client.campaigns.iter(filter=spring)) == []
    assert list(client.campaigns.iter(filter=equals("messages.channel", "email"))) == []
    assert recorder.statuses("/api/campaigns") == [200, 200, 200]
    with pytest.raises(InvalidInputError, match="channel"):
        list(client.campaigns.iter(channel="fax"))
