"""The pytest plugin's fixtures, used the way a user's suite uses them (loaded by entry point)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from klaviyo_kit.sandbox import FaultPlan, Sandbox
from klaviyo_kit.testing import SANDBOX_KEY

if TYPE_CHECKING:
    from klaviyo_kit import KlaviyoClient


def test_the_client_talks_to_the_sandbox(klaviyo_client: KlaviyoClient, klaviyo_sandbox: Sandbox):
    profile = klaviyo_client.profiles.upsert({"email": "ada@example.com", "first_name": "Ada"})
    assert profile.id is not None
    stored = klaviyo_sandbox.account.profiles[profile.id]
    assert stored.attributes["first_name"] == "Ada"
    assert SANDBOX_KEY.startswith("pk_")


def test_the_default_sandbox_is_seeded_without_rate_limits(klaviyo_sandbox: Sandbox):
    assert klaviyo_sandbox.account.id == Sandbox(seed=0).account.id
    assert klaviyo_sandbox._app.counter is None


@pytest.mark.klaviyo_sandbox(seed=5, rate_limits=True, faults=FaultPlan(statuses={503: 1.0}))
def test_the_marker_configures_the_sandbox(klaviyo_sandbox: Sandbox):
    assert klaviyo_sandbox.account.id == Sandbox(seed=5).account.id
    assert klaviyo_sandbox._app.counter is not None
    outcome = klaviyo_sandbox.exchange("GET", "/api/accounts", "", {}, b"", base="http://s")
    assert outcome.response is not None
    assert outcome.response.status == 503


def test_the_server_fixture_serves_the_same_sandbox(klaviyo_sandbox, klaviyo_sandbox_server):
    from klaviyo_api import KlaviyoAPI

    sdk = KlaviyoAPI(SANDBOX_KEY, test_host=klaviyo_sandbox_server.url, max_retries=1)
    assert sdk.Accounts.get_accounts().data[0].id == klaviyo_sandbox.account.id
