from __future__ import annotations

import logging

import httpx
import pytest
import respx

import klaviyo_kit
from klaviyo_kit import ClientState, KlaviyoClient, KlaviyoSettings
from klaviyo_kit.errors import ConfigurationError, NotFoundError

KEY = "pk_" + "e5" * 17


def test_api_groups_are_lazy_and_cached():
    with KlaviyoClient(KlaviyoSettings(private_key=KEY)) as client:
        assert client.sdk.profiles is client.sdk.profiles
        assert client.sdk.profiles.get_profiles is client.sdk.profiles.get_profiles
        assert client.sdk.data_privacy is client.sdk.data_privacy
        with pytest.raises(AttributeError, match="no API group 'Profiles'"):
            _ = client.sdk.Profiles


def test_sdk_methods_keep_signature_and_docs():
    import inspect

    with KlaviyoClient(KlaviyoSettings(private_key=KEY)) as client:
        method = client.sdk.profiles.get_profiles
        assert method.__name__ == "get_profiles"
        assert "Get all profiles" in (method.__doc__ or "")
        params = inspect.signature(method).parameters
        assert "page_size" in params
        assert "self" not in params


def test_session_needs_a_key_only_when_used(monkeypatch):
    monkeypatch.delenv("KLAVIYO_PRIVATE_KEY", raising=False)
    with (
        KlaviyoClient(KlaviyoSettings()) as client,
        pytest.raises(ConfigurationError, match="KLAVIYO_PRIVATE_KEY"),
    ):
        _ = client.sdk.profiles


def test_closed_client_refuses_work():
    client = KlaviyoClient(KlaviyoSettings(private_key=KEY))
    profiles = client.sdk.profiles
    client.close()
    assert client.state is ClientState.CLOSED
    with pytest.raises(RuntimeError, match="closed"):
        _ = client.sdk
    with pytest.raises(RuntimeError, match="closed"):
        profiles.get_profiles()
    client.close()  # idempotent


def test_context_manager_closes_the_http_client():
    client = KlaviyoClient(KlaviyoSettings(private_key=KEY))
    with client:
        http = client._http
    assert http.is_closed


def test_injected_http_client_is_not_closed():
    http = httpx.Client()
    with KlaviyoClient(KlaviyoSettings(private_key=KEY), http_client=http):
        pass
    assert not http.is_closed
    http.close()


def test_transport_and_http_client_conflict():
    with pytest.raises(ValueError, match="not both"):
        KlaviyoClient(
            transport=httpx.MockTransport(lambda r: httpx.Response(200)), http_client=httpx.Client()
        )


def test_mock_transport_is_used():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": [], "links": {"self": str(request.url)}})

    with KlaviyoClient(
        KlaviyoSettings(private_key=KEY), transport=httpx.MockTransport(handler)
    ) as c:
        assert c.sdk.lists.get_lists() == {
            "data": [],
            "links": {"self": "https://a.klaviyo.com/api/lists"},
        }
    assert seen[0].url.path == "/api/lists"


def test_default_client_singleton(monkeypatch):
    monkeypatch.setenv("KLAVIYO_PRIVATE_KEY", KEY)
    klaviyo_kit.reset_default_client()
    first = klaviyo_kit.default_client()
    assert klaviyo_kit.default_client() is first
    klaviyo_kit.reset_default_client()
    assert first.state is ClientState.CLOSED
    second = klaviyo_kit.default_client()
    assert second is not first
    klaviyo_kit.reset_default_client()


@respx.mock
def test_key_appears_in_no_repr_error_or_log(caplog):
    caplog.set_level(logging.DEBUG)
    respx.get("https://a.klaviyo.com/api/profiles/nope").mock(
        return_value=httpx.Response(
            404,
            json={
                "errors": [{"id": "x", "code": "not_found", "title": "Not found", "detail": "no"}]
            },
        )
    )
    settings = KlaviyoSettings(private_key=KEY)
    with KlaviyoClient(settings) as client:
        with pytest.raises(NotFoundError) as info:
            client.sdk.profiles.get_profile("nope")
        texts = [
            repr(client),
            repr(settings),
            repr(client.sdk),
            repr(client.sdk.profiles),
            repr(client._session),
            str(info.value),
            repr(info.value),
            repr(info.value.headers),
        ]
    texts += [record.getMessage() for record in caplog.records]
    assert caplog.records, "httpx logs each request at DEBUG/INFO; the check must see them"
    for text in texts:
        assert KEY not in text


class TrackedTransport(httpx.MockTransport):
    """A mock transport that remembers being closed (an httpx client closes its transport)."""

    closed = False

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("client_class", ["KlaviyoClient", "AsyncKlaviyoClient"])
def test_a_failed_construction_closes_what_it_built(client_class):
    transport = TrackedTransport(lambda r: httpx.Response(200))
    cls = getattr(klaviyo_kit, client_class)
    with pytest.raises(TypeError):
        cls(KlaviyoSettings(private_key=KEY), transport=transport, hooks=[object()])
    assert transport.closed


def test_services_are_built_once_even_under_concurrency():
    from concurrent.futures import ThreadPoolExecutor

    with KlaviyoClient(KlaviyoSettings(private_key=KEY)) as client:
        with ThreadPoolExecutor(8) as pool:
            seen = set(pool.map(lambda _: id(client.events), range(64)))
        assert len(seen) == 1
        assert client.profiles is client.profiles
