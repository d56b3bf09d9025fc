"""The httpx adapter encodes bodies as the SDK's urllib3 client would, dropping nothing."""

from __future__ import annotations

from urllib.parse import parse_qsl

import httpx
import pytest

from klaviyo_kit.sdk import HttpxRestClient

URL = "https://a.klaviyo.com/api/image-upload"


def sent_through(**request: object) -> httpx.Request:
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        req.read()
        seen.append(req)
        return httpx.Response(204)

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        rest = HttpxRestClient(http, timeout=httpx.Timeout(5.0))
        response = rest.request("POST", URL, **request)  # type: ignore[arg-type]
    assert response.read() == b""
    return seen[0]


def test_form_fields_keep_repeated_names():
    sent = sent_through(
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        post_params=[("tag", "a"), ("tag", "b"), ("name", "logo")],
    )
    assert parse_qsl(sent.content.decode()) == [("tag", "a"), ("tag", "b"), ("name", "logo")]


def test_multipart_keeps_repeated_names_files_and_json_parts():
    sent = sent_through(
        headers={"Content-Type": "multipart/form-data"},
        post_params=[
            ("tag", "a"),
            ("tag", "b"),
            ("meta", {"k": 1}),
            ("file", ("logo.png", b"\x89PNG", "image/png")),
        ],
    )
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    body = sent.content
    assert body.count(b'name="tag"') == 2
    assert b"\r\n\r\na\r\n" in body
    assert b"\r\n\r\nb\r\n" in body
    assert b'{"k": 1}' in body
    assert b'filename="logo.png"' in body
    assert b"\x89PNG" in body


def test_body_and_post_params_together_are_refused():
    with pytest.raises(ValueError, match="post_params"):
        sent_through(
            headers={"Content-Type": "application/json"}, body={"a": 1}, post_params=[("b", "2")]
        )


def test_sdk_image_upload_goes_out_as_multipart():
    from klaviyo_kit import KlaviyoClient, KlaviyoSettings

    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        req.read()
        seen.append(req)
        return httpx.Response(201, json={"data": {"type": "image", "id": "7", "attributes": {}}})

    settings = KlaviyoSettings(private_key="pk_" + "d4" * 17, rate_limit={"enabled": False})
    with KlaviyoClient(settings, transport=httpx.MockTransport(handler)) as client:
        out = client.sdk.images.upload_image_from_file(b"\x89PNG-bytes", name="logo", hidden=True)
    assert out == {"data": {"type": "image", "id": "7", "attributes": {}}}
    body = seen[0].content
    assert seen[0].url == URL
    assert seen[0].headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'name="name"\r\n\r\nlogo\r\n' in body
    assert b'name="file"; filename="file"' in body
    assert b"\x89PNG-bytes" in body
