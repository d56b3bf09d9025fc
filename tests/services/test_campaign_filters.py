from __future__ import annotations

from klaviyo_kit import KlaviyoClient
from klaviyo_kit.services.filters import contains


def test_iter_filters_names_with_a_quote(client: KlaviyoClient, recorder):
    audience = client.lists.create("Everyone").id
    assert audience is not None
    client.campaigns.create('Spring "Sale" 2026', audiences=[audience])
    client.campaigns.create("Autumn clearance", audiences=[audience])
    found = list(client.campaigns.iter(filter=contains("name", 'Spring "Sale"')))
    assert [c.name for c in found] == ['Spring "Sale" 2026']
    assert len(list(client.campaigns.iter())) == 2
    assert recorder.statuses("/api/campaigns")[-2:] == [200, 200]
