from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from klaviyo_kit import KlaviyoSettings
from klaviyo_kit.errors import ConfigurationError, WebhookVerificationError
from klaviyo_kit.webhooks import (
    KlaviyoSignatureScheme,
    StandardWebhooksScheme,
    VerificationReason,
    WebhookVerifier,
    sign_webhook,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

REASONS = {None} | {reason.value for reason in VerificationReason}


def outcome(verifier: WebhookVerifier, body: bytes, headers: Mapping[str, str]) -> str | None:
    """Return the rejection reason, or ``None`` when the delivery verified."""
    try:
        verifier.verify(body, headers)
    except WebhookVerificationError as exc:
        return exc.reason
    return None


def reason_of(verifier: WebhookVerifier, body: bytes, headers) -> str:
    with pytest.raises(WebhookVerificationError) as caught:
        verifier.verify(body, headers)
    return caught.value.reason


def test_a_valid_delivery_verifies_and_keeps_its_events_in_order(kit):
    first, second = kit.event(external_id="E1"), kit.event("event:klaviyo.clicked_email", "E2")
    delivery = kit.signed(first, second)
    verified = WebhookVerifier(kit.secret, clock=kit.clock).verify(delivery.body, delivery.headers)
    assert verified.delivery_id == kit.webhook_id
    assert [e.external_id for e in verified.events] == ["E1", "E2"]
    assert [e.index for e in verified.events] == [0, 1]
    assert verified.events[1].topic == "event:klaviyo.clicked_email"
    assert verified.events[0].profile_id == "01PROFILE"
    assert verified.events[0].occurred_at == kit.now
    assert verified.sent_at == kit.now
    assert verified.account_id == "TestAcct"


def test_the_signature_matches_the_documented_recipe(kit):
    import hashlib
    import hmac

    delivery = kit.signed(kit.event())
    timestamp = delivery.headers["Klaviyo-Timestamp"]
    mac = hmac.new(kit.secret.encode(), delivery.body, hashlib.sha256)
    mac.update(timestamp.encode())
    assert delivery.headers["Klaviyo-Signature"] == mac.hexdigest()
    assert timestamp == "Fri, 04 Sep 2026 13:16:52 GMT"


def test_header_names_are_case_insensitive(kit):
    delivery = kit.signed(kit.event())
    shouted = {name.upper(): value for name, value in delivery.headers.items()}
    assert WebhookVerifier(kit.secret, clock=kit.clock).verify(delivery.body, shouted).events


def test_an_uppercase_hex_signature_is_accepted(kit):
    delivery = kit.signed(kit.event())
    headers = dict(delivery.headers)
    headers["Klaviyo-Signature"] = headers["Klaviyo-Signature"].upper()
    assert WebhookVerifier(kit.secret, clock=kit.clock).verify(delivery.body, headers).events


def test_a_header_clock_hours_off_is_accepted_because_freshness_reads_the_body(kit):
    # Seen in the wild: Klaviyo-Timestamp five hours ahead of meta.timestamp.
    delivery = kit.signed(kit.event(), header_time=kit.now + timedelta(hours=5))
    assert (
        WebhookVerifier(kit.secret, clock=kit.clock).verify(delivery.body, delivery.headers).events
    )


@pytest.mark.parametrize(
    "missing", ["Klaviyo-Signature", "Klaviyo-Timestamp", "Klaviyo-Webhook-Id"]
)
def test_each_missing_header_is_reported(kit, missing):
    delivery = kit.signed(kit.event())
    headers = {k: v for k, v in delivery.headers.items() if k != missing}
    verifier = WebhookVerifier(kit.secret, clock=kit.clock)
    assert reason_of(verifier, delivery.body, headers) == VerificationReason.MISSING_HEADER


def test_a_blank_header_counts_as_missing(kit):
    delivery = kit.signed(kit.event())
    headers = {**delivery.headers, "Klaviyo-Signature": "   "}
    verifier = WebhookVerifier(kit.secret, clock=kit.clock)
    assert reason_of(verifier, delivery.body, headers) == "missing_header"


def test_a_wrong_secret_is_a_bad_signature(kit):
    delivery = kit.signed(kit.event(), secret="some-other-secret")
    verifier = WebhookVerifier(kit.secret, clock=kit.clock)
    assert reason_of(verifier, delivery.body, delivery.headers) == "bad_signature"


def test_a_tampered_body_is_a_bad_signature(kit):
    delivery = kit.signed(kit.event())
    body = delivery.body.replace(b"opened_email", b"clicked_email")
    verifier = WebhookVerifier(kit.secret, clock=kit.clock)
    assert reason_of(verifier, body, delivery.headers) == "bad_signature"


def test_a_changed_timestamp_header_is_a_bad_signature(kit):
    delivery = kit.signed(kit.event())
    headers = {**delivery.headers, "Klaviyo-Timestamp": "Fri, 04 Sep 2026 13:16:53 GMT"}
    verifier = WebhookVerifier(kit.secret, clock=kit.clock)
    assert reason_of(verifier, delivery.body, headers) == "bad_signature"


def test_a_webhook_id_header_that_differs_from_the_body_is_a_mismatch(kit):
    delivery = kit.signed(kit.event())
    headers = {**delivery.headers, "Klaviyo-Webhook-Id": "01SOMEONEELSE"}
    verifier = WebhookVerifier(kit.secret, clock=kit.clock)
    assert reason_of(verifier, delivery.body, headers) == "webhook_id_mismatch"


@pytest.mark.parametrize("offset", [timedelta(seconds=-302), timedelta(seconds=300)])
def test_a_body_timestamp_outside_the_tolerance_either_way_is_stale(kit, offset):
    delivery = kit.signed(kit.event(), sent_at=kit.now + offset)
    verifier = WebhookVerifier(kit.secret, clock=kit.clock, tolerance=298)
    assert reason_of(verifier, delivery.body, delivery.headers) == "stale"


def test_a_body_timestamp_inside_the_tolerance_passes(kit):
    delivery = kit.signed(kit.event(), sent_at=kit.now - timedelta(seconds=250))
    assert (
        WebhookVerifier(kit.secret, clock=kit.clock).verify(delivery.body, delivery.headers).events
    )


def test_a_body_over_the_cap_is_rejected_before_hashing(kit):
    delivery = kit.signed(kit.event())
    verifier = WebhookVerifier(kit.secret, clock=kit.clock, max_body_bytes=len(delivery.body) - 1)
    assert reason_of(verifier, delivery.body, delivery.headers) == "body_too_large"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"data": []}',
        b'{"meta": {"klaviyo_webhook_id": "W", "timestamp": "yesterday"}, "data": []}',
        b'{"meta": {"klaviyo_webhook_id": "W", "timestamp": "2026-09-04T13:16:52Z"}, "data": {}}',
        (
            b'{"meta": {"klaviyo_webhook_id": "W", "timestamp": "2026-09-04T13:16:52Z"},'
            b' "data": [{"topic": "t"}]}'
        ),
        b'{"meta": {"klaviyo_webhook_id": "W", "timestamp": "2026-09-04T13:16:52Z"}, "data": [7]}',
        b"\xff\xfe",
    ],
)
def test_a_signed_body_that_is_not_a_delivery_is_malformed(kit, body):
    delivery = sign_webhook(body, secret=kit.secret, timestamp=kit.now, delivery_id="W")
    verifier = WebhookVerifier(kit.secret, clock=kit.clock)
    assert reason_of(verifier, delivery.body, delivery.headers) == "malformed"


def test_an_external_id_falls_back_to_the_payload_event_id(kit):
    item = kit.event(external_id="E9")
    del item["external_id"]
    delivery = kit.signed(item)
    verified = WebhookVerifier(kit.secret, clock=kit.clock).verify(delivery.body, delivery.headers)
    assert verified.events[0].external_id == "E9"


def test_several_secrets_verify_during_a_rotation(kit):
    old, new = kit.signed(kit.event(), secret="old-secret"), kit.signed(kit.event())
    verifier = WebhookVerifier([SecretStr(kit.secret), "old-secret"], clock=kit.clock)
    assert verifier.verify(old.body, old.headers).events
    assert verifier.verify(new.body, new.headers).events


def test_from_settings_reads_the_signing_secret(kit, monkeypatch):
    monkeypatch.setenv("KLAVIYO_WEBHOOK_SIGNING_SECRET", kit.secret)
    delivery = kit.signed(kit.event())
    verifier = WebhookVerifier.from_settings(KlaviyoSettings(_env_file=None), clock=kit.clock)
    assert verifier.verify(delivery.body, delivery.headers).events


def test_from_settings_without_a_secret_says_what_to_set(monkeypatch):
    monkeypatch.delenv("KLAVIYO_WEBHOOK_SIGNING_SECRET", raising=False)
    monkeypatch.delenv("KLAVIYO_WEBHOOK_SECRET", raising=False)
    with pytest.raises(ConfigurationError, match="KLAVIYO_WEBHOOK_SIGNING_SECRET"):
        WebhookVerifier.from_settings(KlaviyoSettings(_env_file=None))


def test_configuration_mistakes_fail_at_construction():
    with pytest.raises(ConfigurationError):
        WebhookVerifier([])
    with pytest.raises(ConfigurationError):
        WebhookVerifier("")
    with pytest.raises(ValueError, match="tolerance"):
        WebhookVerifier("s", tolerance=-1)
    with pytest.raises(ValueError, match="tolerance"):
        # NaN compares false both ways: it would silently turn the freshness check off.
        WebhookVerifier("s", tolerance=float("nan"))
    with pytest.raises(ValueError, match="max_body_bytes"):
        WebhookVerifier("s", max_body_bytes=0)


def test_a_raw_body_signed_without_a_delivery_id_takes_the_webhook_id_from_it(kit):
    body = json.dumps(
        {"data": [], "meta": {"klaviyo_webhook_id": "01RAW", "timestamp": kit.now.isoformat()}}
    ).encode()
    delivery = sign_webhook(body, secret=kit.secret, timestamp=kit.now)
    assert delivery.headers["Klaviyo-Webhook-Id"] == "01RAW"
    verified = WebhookVerifier(kit.secret, clock=kit.clock).verify(delivery.body, delivery.headers)
    assert verified.delivery_id == "01RAW"


def test_a_decoded_body_is_refused(kit):
    with pytest.raises(TypeError, match="bytes"):
        WebhookVerifier(kit.secret).verify("{}", {})  # type: ignore[arg-type]


def test_secrets_never_appear_in_reprs_or_errors(kit):
    verifier = WebhookVerifier(kit.secret, clock=kit.clock)
    delivery = kit.signed(kit.event(), secret="other")
    with pytest.raises(WebhookVerificationError) as caught:
        verifier.verify(delivery.body, delivery.headers)
    assert kit.secret not in repr(verifier)
    assert kit.secret not in str(caught.value)
    assert verifier.scheme == KlaviyoSignatureScheme()


# Random names almost never spell a real header, so draw the schemes' own names (in any case)
# too: otherwise the fuzzing stops at missing_header and never reaches the signature check.
HEADER_NAMES = st.sampled_from(
    [
        "Klaviyo-Signature",
        "klaviyo-timestamp",
        "KLAVIYO-WEBHOOK-ID",
        "webhook-id",
        "Webhook-Timestamp",
        "webhook-signature",
    ]
) | st.text(max_size=20)


@pytest.mark.parametrize("scheme", [KlaviyoSignatureScheme(), StandardWebhooksScheme()])
@given(body=st.binary(max_size=2048), headers=st.dictionaries(HEADER_NAMES, st.text(), max_size=6))
def test_random_bytes_and_headers_only_ever_raise_the_verification_error(scheme, body, headers):
    secret = "whsec_" + "ZnV6ei1rZXk=" if isinstance(scheme, StandardWebhooksScheme) else "fuzz"
    verifier = WebhookVerifier(secret, scheme=scheme, max_body_bytes=1024, clock=lambda: 1.8e9)
    assert outcome(verifier, body, headers) in REASONS


@given(
    events=st.lists(
        st.fixed_dictionaries(
            {
                "topic": st.text(),
                "external_id": st.text(),
                "payload": st.dictionaries(
                    st.text(),
                    st.recursive(
                        st.none() | st.booleans() | st.integers() | st.text(),
                        lambda inner: st.lists(inner, max_size=3),
                        max_leaves=5,
                    ),
                    max_size=3,
                ),
            }
        ),
        max_size=4,
    ),
    meta=st.dictionaries(
        st.sampled_from(["klaviyo_webhook_id", "timestamp", "version"]), st.text() | st.integers()
    ),
)
def test_signed_but_arbitrary_json_only_ever_raises_the_verification_error(events, meta):
    body = json.dumps({"data": events, "meta": meta}).encode()
    delivery = sign_webhook(body, secret="fuzz-secret", delivery_id="W")
    verifier = WebhookVerifier("fuzz-secret", clock=lambda: 1.8e9)
    assert outcome(verifier, delivery.body, delivery.headers) in REASONS
