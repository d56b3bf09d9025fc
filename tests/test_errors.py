from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from klaviyo_kit.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    CloudflareChallengeError,
    ConflictError,
    KlaviyoError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    error_from_response,
    parse_error_body,
    parse_retry_after,
    redact,
)


def body(status: int, code: str, detail: str, **meta: object) -> str:
    return json.dumps(
        {
            "errors": [
                {
                    "id": "e-1",
                    "status": status,
                    "code": code,
                    "title": "Title.",
                    "detail": detail,
                    "source": {"pointer": "/data/attributes/email"},
                    "meta": meta,
                }
            ]
        }
    )


@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [
        (400, BadRequestError, False),
        (401, AuthenticationError, False),
        (403, PermissionDeniedError, False),
        (404, NotFoundError, False),
        (405, BadRequestError, False),
        (409, ConflictError, False),
        (410, BadRequestError, False),
        (429, RateLimitError, True),
        (500, ServerError, True),
        (502, ServerError, True),
        (503, ServerError, True),
        (504, ServerError, True),
        (524, ServerError, True),
    ],
)
def test_status_maps_to_class(status, cls, retryable):
    err = error_from_response(status, body=body(status, "x", "went wrong"))
    assert type(err) is cls
    assert isinstance(err, APIError)
    assert isinstance(err, KlaviyoError)
    assert err.status == status
    assert err.retryable is retryable


def test_json_api_body_is_parsed():
    err = error_from_response(
        400, body=body(400, "invalid", "Bad email."), operation="create_profile"
    )
    assert err.code == "invalid"
    assert err.detail == "Bad email."
    assert err.request_id == "e-1"
    assert err.errors[0].source == {"pointer": "/data/attributes/email"}
    assert str(err) == "Klaviyo API 400 invalid on create_profile: Bad email. (request e-1)"


def test_duplicate_profile_id_from_meta():
    err = error_from_response(
        409, body=body(409, "duplicate_profile", "exists", duplicate_profile_id="01DUP")
    )
    assert isinstance(err, ConflictError)
    assert err.duplicate_profile_id == "01DUP"


def test_conflict_without_meta_has_no_duplicate_id():
    err = error_from_response(409, body=body(409, "conflict", "other"))
    assert isinstance(err, ConflictError)
    assert err.duplicate_profile_id is None


def test_cloudflare_html_403_survives():
    html = "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>cf</body></html>"
    err = error_from_response(403, body=html, headers={"Content-Type": "text/html", "cf-ray": "8x"})
    assert isinstance(err, CloudflareChallengeError)
    assert isinstance(err, PermissionDeniedError)
    assert err.retryable
    assert err.errors == ()
    assert err.code is None
    assert err.body == html
    assert err.request_id == "8x"
    assert "Cloudflare" in str(err)
    assert "\n" not in str(err)


@pytest.mark.parametrize(
    "raw", [None, "", b"", "not json", "[1,2]", '{"errors": "x"}', b"\xff\xfe"]
)
def test_unparseable_bodies_give_no_details(raw):
    assert parse_error_body(raw) == ()


def test_retry_after_seconds_header():
    err = error_from_response(429, body=body(429, "throttled", "x"), headers={"Retry-After": "2"})
    assert isinstance(err, RateLimitError)
    assert err.retry_after == 2.0


def test_retry_after_header_case_insensitive():
    assert parse_retry_after({"retry-after": "7"}) == 7.0


def test_retry_after_http_date():
    now = datetime(2026, 11, 30, 12, 0, 0, tzinfo=timezone.utc)
    when = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after({"Retry-After": when}, now=now) == 30.0
    past = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after({"Retry-After": past}, now=now) == 0.0


def test_retry_after_from_detail_when_no_header():
    detail = "Request was throttled. Expected available in 3 seconds."
    err = error_from_response(429, body=body(429, "throttled", detail))
    assert isinstance(err, RateLimitError)
    assert err.retry_after == 3.0
    assert parse_retry_after({}, "Request was throttled. Expected available in 1 second.") == 1.0
    assert parse_retry_after({}, "Expected available in 0 seconds.") == 0.0


def test_retry_after_none_without_hint():
    err = error_from_response(429, body=body(429, "throttled", "Request was throttled."))
    assert isinstance(err, RateLimitError)
    assert err.retry_after is None
    assert parse_retry_after({"Retry-After": "soon"}) is None


def test_str_is_one_short_line_without_keys():
    detail = "line one\nline two pk_" + "z" * 30 + " " + "x" * 500
    err = error_from_response(400, body=body(400, "invalid", detail))
    text = str(err)
    assert "\n" not in text
    assert len(text) < 300
    assert "pk_zzz" not in text


def test_attempts_shown_when_retried():
    err = error_from_response(503, body=None)
    err.attempts = 3
    assert str(err).endswith("(after 3 attempts)")


def test_redact():
    assert redact("Authorization: Klaviyo-API-Key pk_abcdef123456") == (
        "Authorization: Klaviyo-API-Key ***"
    )
    assert redact("key=pk_abcdef1234567890 ok") == "key=pk_*** ok"
    assert redact("nothing secret") == "nothing secret"


@pytest.mark.parametrize("value", ["inf", "Infinity", "1e400", "nan", "-inf"])
def test_retry_after_that_is_no_finite_number_is_no_hint(value):
    # An infinite wait would pause a limiter bucket forever (and overflow the Redis script's
    # milliseconds); a garbled header is treated as no hint at all.
    assert parse_retry_after({"Retry-After": value}) is None
    err = error_from_response(429, body=body(429, "throttled", "x"), headers={"Retry-After": value})
    assert isinstance(err, RateLimitError)
    assert err.retry_after is None
    hinted = "Request was throttled. Expected available in 3 seconds."
    assert parse_retry_after({"Retry-After": value}, hinted) == 3.0
