from __future__ import annotations

import pytest

from klaviyo_kit import KlaviyoClient
from klaviyo_kit.errors import InvalidInputError
from klaviyo_kit.services.filters import equals


def test_listing_campaigns_always_names_a_channel(client: KlaviyoClient, recorder):
    assert list(client.campaigns.iter(channel="sms")) == []
    assert list(client.campaigns.iter(filter=equals("name", 'Spring "Sale"'))) == []
    assert list(client.campaigns.iter(filter=equals("messages.channel", "email"))) == []
    assert recorder.statuses("/api/campaigns") == [200, 200, 200]
    with pytest.raises(InvalidInputError, match="channel"):
        list(client.campaigns.iter(channel="fax"))
