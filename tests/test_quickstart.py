"""The README's main job, ``python examples/quickstart.py``, and its guard around real accounts.

With no key the script runs against the in-process sandbox. With ``KLAVIYO_PRIVATE_KEY`` set it
must send nothing unless ``--live`` is given and confirmed; the "real account" in these tests is a
sandbox served on loopback and reached through ``KLAVIYO_BASE_URL``, exactly as a real one would be.
"""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import respx

from klaviyo_kit import KlaviyoClient, KlaviyoSettings
from klaviyo_kit.sandbox import Sandbox

QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart.py"
LIVE_KEY = "pk_live" + "7" * 30
LIST_PREFIX = "klaviyo-kit quickstart "

_spec = importlib.util.spec_from_file_location("quickstart", QUICKSTART)
assert _spec is not None
assert _spec.loader is not None
quickstart = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(quickstart)


def _env_without_klaviyo() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("KLAVIYO_")}


@pytest.fixture
def env(monkeypatch, tmp_path):
    """No KLAVIYO_* variables and no .env file: each test sets what it needs."""
    for name in list(os.environ):
        if name.startswith("KLAVIYO_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


@pytest.fixture
def live_account(env):
    """A sandbox that plays the real account: the key is set and the base URL points at it."""
    sandbox = Sandbox(seed=7, rate_limits=False)
    with sandbox.serve() as server:
        env.setenv("KLAVIYO_PRIVATE_KEY", LIVE_KEY)
        env.setenv("KLAVIYO_BASE_URL", server.url)
        yield sandbox


@pytest.fixture
def no_requests():
    """Every request httpx would send is caught here; the tests assert none was."""

    def reached(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"a request reached the transport: {request.method} {request.url}")

    with respx.mock(assert_all_called=False) as router:
        yield router.route().mock(side_effect=reached)


def _quickstart_lists(sandbox: Sandbox) -> list[str]:
    return [
        r.attributes["name"]
        for r in sandbox.account.lists.values()
        if r.attributes["name"].startswith(LIST_PREFIX)
    ]


def _campaign(sandbox: Sandbox):
    (campaign,) = sandbox.account.campaigns.values()
    return campaign


def _audience_lists(sandbox: Sandbox, campaign) -> set[str]:
    return {
        group
        for audience_id in campaign.extra["audiences"]
        for group in sandbox.account.audiences[audience_id].attributes["definition"]["included"]
    }


def test_quickstart_runs_the_seed_flow_end_to_end():
    result = subprocess.run(
        [sys.executable, str(QUICKSTART)],
        capture_output=True,
        text=True,
        env=_env_without_klaviyo(),
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "against the in-process sandbox" in out
    assert "1. signed up ada.lovelace@example.com: profile " in out
    assert f"created list '{LIST_PREFIX}" in out
    assert "with email consent: 1 profile(s)" in out
    assert "(unique_id order-1001)" in out
    assert "queued → complete" in out
    assert "member of segment 'Big spenders': True" in out
    assert "1 profile(s) and 3 event(s)" in out  # the repeated order was not counted twice


def test_a_key_without_live_sends_nothing_and_says_why(env, no_requests, capsys):
    env.setenv("KLAVIYO_PRIVATE_KEY", LIVE_KEY)

    status = quickstart.main([])

    assert no_requests.call_count == 0
    assert status != 0
    captured = capsys.readouterr()
    assert "KLAVIYO_PRIVATE_KEY is set: refusing to write to a real account without --live" in (
        captured.err
    )
    assert "sandbox" not in captured.out  # it did not quietly run the demo either


def test_a_key_in_dot_env_without_live_is_refused_too(env, no_requests, capsys, tmp_path):
    (tmp_path / ".env").write_text(f"KLAVIYO_PRIVATE_KEY={LIVE_KEY}\n")

    status = quickstart.main([])

    assert no_requests.call_count == 0
    assert status != 0
    assert "KLAVIYO_PRIVATE_KEY is set" in capsys.readouterr().err


def test_the_script_with_a_key_and_no_flag_exits_nonzero_before_any_request(live_account):
    result = subprocess.run(
        [sys.executable, str(QUICKSTART)],
        capture_output=True,
        text=True,
        env=dict(os.environ),  # the key and base URL the fixture set
        check=False,
        timeout=120,
    )

    assert result.returncode != 0
    assert "refusing to write to a real account without --live" in result.stderr
    assert live_account.faults_seen == []  # the account's server saw no request at all
    assert live_account.account.profiles == {}


@pytest.mark.parametrize("answer", ["no\n", "y\n", "\n", ""])
def test_live_without_yes_and_no_confirmation_sends_nothing(
    env, no_requests, capsys, monkeypatch, answer
):
    env.setenv("KLAVIYO_PRIVATE_KEY", LIVE_KEY)
    monkeypatch.setattr(sys, "stdin", io.StringIO(answer))

    status = quickstart.main(["--live"])

    assert no_requests.call_count == 0
    assert status != 0
    err = capsys.readouterr().err
    assert "Type 'yes' to continue" in err
    assert "nothing was sent" in err


def test_live_without_a_key_is_refused(env, no_requests, capsys):
    status = quickstart.main(["--live", "--yes"])

    assert no_requests.call_count == 0
    assert status != 0
    assert "--live needs KLAVIYO_PRIVATE_KEY" in capsys.readouterr().err


def _newsletter(sandbox: Sandbox) -> str:
    """Pre-create the account's own 'Newsletter' list, with a subscriber of its own."""
    settings = KlaviyoSettings(private_key=LIVE_KEY)
    with KlaviyoClient(settings, transport=sandbox.transport()) as client:
        newsletter = client.lists.create("Newsletter")
        assert newsletter.id is not None
        client.lists.subscribe(["reader@example.com"], list_id=newsletter.id)
        return newsletter.id


def _received(sandbox: Sandbox, email: str) -> int:
    """How many events a profile has under the 'Received Email' metric."""
    profile = sandbox.account.find_profile("email", email)
    assert profile is not None
    metric_ids = {
        i for i, m in sandbox.account.metrics.items() if m.attributes["name"] == "Received Email"
    }
    return sum(
        e.extra["profile_id"] == profile.id and e.extra["metric_id"] in metric_ids
        for e in sandbox.account.events.values()
    )


def test_live_yes_creates_its_own_list_and_leaves_the_campaign_a_draft(live_account, capsys):
    newsletter_id = _newsletter(live_account)
    before = live_account.account.lists[newsletter_id]
    before_state = (dict(before.attributes), before.updated)
    before_members = dict(live_account.account.list_members[newsletter_id])

    assert quickstart.main(["--live", "--yes"]) == 0

    (name,) = _quickstart_lists(live_account)
    (own_id,) = [i for i, r in live_account.account.lists.items() if r.attributes["name"] == name]
    ada = live_account.account.find_profile("email", "ada.lovelace@example.com")
    assert ada is not None
    assert ada.id in live_account.account.list_members[own_id]
    after = live_account.account.lists[newsletter_id]
    assert (after.attributes, after.updated) == before_state
    assert live_account.account.list_members[newsletter_id] == before_members
    campaign = _campaign(live_account)
    assert _audience_lists(live_account, campaign) == {own_id}
    assert campaign.id not in live_account.account.send_jobs  # a draft: never sent
    out = capsys.readouterr().out
    assert "against your Klaviyo account" in out
    assert "left it a draft (pass --send to send it)" in out


def test_every_live_run_creates_a_list_with_a_new_name(live_account):
    assert quickstart.main(["--live", "--yes"]) == 0
    assert quickstart.main(["--live", "--yes"]) == 0

    names = _quickstart_lists(live_account)
    assert len(names) == 2
    assert len(set(names)) == 2


def test_live_proceeds_after_the_typed_confirmation(live_account, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("yes\n"))

    assert quickstart.main(["--live"]) == 0

    assert len(_quickstart_lists(live_account)) == 1
    assert _campaign(live_account).id not in live_account.account.send_jobs


def test_live_send_sends_the_campaign_to_its_own_list(live_account, capsys):
    newsletter_id = _newsletter(live_account)

    assert quickstart.main(["--live", "--yes", "--send"]) == 0

    campaign = _campaign(live_account)
    assert newsletter_id not in _audience_lists(live_account, campaign)
    assert live_account.account.send_jobs[campaign.id].attributes["status"] == "complete"
    assert _received(live_account, "ada.lovelace@example.com") == 1
    assert _received(live_account, "reader@example.com") == 0  # the Newsletter was not mailed
    assert "queued → complete" in capsys.readouterr().out
