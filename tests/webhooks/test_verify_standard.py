from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from klaviyo_kit.errors import ConfigurationError, WebhookVerificationError
from klaviyo_kit.webhooks import (
    StandardWebhooksScheme,
    VerifiedPayload,
    WebhookVerifier,
    build_delivery,
    sign_webhook,
)

KEY = b"standard-webhooks-key-32-bytes!!"
SECRET = "whsec_" + base64.b64encode(KEY).decode()
SCHEME = StandardWebhooksScheme()


@pytest.fixture
def verifier(kit) -> WebhookVerifier:
    return WebhookVerifier(SECRET, scheme=SCHEME, clock=kit.clock)


@pytest.fixture
def delivery(kit):
    body = build_delivery([kit.event(external_id="E1")], webhook_id="relay", sent_at=kit.now)
    return sign_webhook(body, secret=SECRET, scheme=SCHEME, timestamp=kit.now, delivery_id="msg_1")


def reason_of(verifier, body, headers) -> str:
    with pytest.raises(WebhookVerificationError) as caught:
        verifier.verify(body, headers)
    return caught.value.reason


def test_a_valid_delivery_verifies_under_its_message_id(verifier, delivery):
    verified = verifier.verify(delivery.body, delivery.headers)
    assert verified.delivery_id == "msg_1"
    assert [event.external_id for event in verified.events] == ["E1"]


def test_the_signature_follows_the_standard(delivery, kit):
    timestamp = str(int(kit.now.timestamp()))
    signed = f"msg_1.{timestamp}.".encode() + delivery.body
    expected = base64.b64encode(hmac.new(KEY, signed, hashlib.sha256).digest()).decode()
    assert delivery.headers["webhook-signature"] == f"v1,{expected}"
    assert delivery.headers["webhook-timestamp"] == timestamp


def test_several_signatures_and_unknown_versions_are_tolerated(verifier, delivery):
    headers = dict(delivery.headers)
    headers["webhook-signature"] = f"v2,abc v1,Zm9v {headers['webhook-signature']}"
    assert verifier.verify(delivery.body, headers).events


def test_a_secret_without_the_prefix_works(kit, delivery):
    bare = WebhookVerifier(base64.b64encode(KEY).decode(), scheme=SCHEME, clock=kit.clock)
    assert bare.verify(delivery.body, delivery.headers).events


def test_a_wrong_signature_is_rejected(verifier, delivery):
    headers = {**delivery.headers, "webhook-signature": "v1,Zm9vYmFy"}
    assert reason_of(verifier, delivery.body, headers) == "bad_signature"


def test_a_missing_header_is_rejected(verifier, delivery):
    headers = {k: v for k, v in delivery.headers.items() if k != "webhook-id"}
    assert reason_of(verifier, delivery.body, headers) == "missing_header"


@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_the_header_timestamp_is_judged_both_ways(kit, offset):
    body = build_delivery([kit.event()], webhook_id="relay", sent_at=kit.now)
    delivery = sign_webhook(body, secret=SECRET, scheme=SCHEME, timestamp=kit.now + offset)
    verifier = WebhookVerifier(SECRET, scheme=SCHEME, clock=kit.clock)
    assert reason_of(verifier, delivery.body, delivery.headers) == "stale"


@pytest.mark.parametrize(("value", "reason"), [("soon", "malformed"), ("9" * 30, "stale")])
def test_a_signed_but_unusable_timestamp_is_rejected(kit, value, reason):
    body = b'{"data": []}'
    signed = f"msg_2.{value}.".encode() + body
    signature = base64.b64encode(hmac.new(KEY, signed, hashlib.sha256).digest()).decode()
    headers = {
        "webhook-id": "msg_2",
        "webhook-timestamp": value,
        "webhook-signature": f"v1,{signature}",
    }
    verifier = WebhookVerifier(SECRET, scheme=SCHEME, clock=kit.clock)
    assert reason_of(verifier, body, headers) == reason


def test_a_message_id_is_generated_when_none_is_given(kit):
    delivery = sign_webhook(b'{"data": []}', secret=SECRET, scheme=SCHEME, timestamp=kit.now)
    assert delivery.headers["webhook-id"].startswith("msg_")
    verifier = WebhookVerifier(SECRET, scheme=SCHEME, clock=kit.clock)
    assert verifier.verify(delivery.body, delivery.headers).events == ()


@pytest.mark.parametrize("secret", ["whsec_", "whsec_not base64!"])
def test_an_unusable_secret_fails_at_construction(secret):
    with pytest.raises(ConfigurationError):
        WebhookVerifier(secret, scheme=SCHEME)


class TokenScheme:
    """A scheme of the caller's own: a shared token in a header (as flow webhooks use)."""

    def derive_key(self, secret: str) -> bytes:
        return secret.encode()

    def authenticate(self, body, headers, keys, *, now, tolerance) -> VerifiedPayload:
        token = headers.get("x-token", "").encode()
        if not any(hmac.compare_digest(token, key) for key in keys):
            raise WebhookVerificationError("bad_signature", "wrong token")
        return VerifiedPayload(delivery_id="flow", document=json.loads(body))

    def sign(self, body, *, key, timestamp, delivery_id) -> dict[str, str]:
        return {"X-Token": key.decode()}


def test_schemes_are_pluggable(kit):
    body = build_delivery([kit.event(external_id="T1")], webhook_id="flow")
    signed = sign_webhook(body, secret="tok", scheme=TokenScheme())
    verifier = WebhookVerifier("tok", scheme=TokenScheme())
    assert [e.external_id for e in verifier.verify(signed.body, signed.headers).events] == ["T1"]
    with pytest.raises(WebhookVerificationError):
        verifier.verify(signed.body, {"X-Token": "nope"})
