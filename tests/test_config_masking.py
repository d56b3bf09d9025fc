"""Credentials in URL settings are masked wherever settings are shown, intact where they are used."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import BaseModel

from klaviyo_kit import KlaviyoClient, KlaviyoSettings
from klaviyo_kit._config_urls import is_masked, mask_url
from klaviyo_kit.config import CacheSettings, RateLimitSettings
from klaviyo_kit.errors import ConfigurationError

KEY = "pk_" + "a1" * 17
LIMITER_URL = "redis://:hunter2@redis.internal:6380/1"
CACHE_URL = "rediss://app:hunter3@cache.internal/0?password=hunter4"
BASE_URL = "https://proxy-user:hunter5@proxy.internal/klaviyo"
SECRETS = ("hunter2", "hunter3", "hunter4", "hunter5")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    for name in list(__import__("os").environ):
        if name.startswith("KLAVIYO_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def settings() -> KlaviyoSettings:
    return KlaviyoSettings(
        private_key=KEY,
        environment="production",  # caching on
        base_url=BASE_URL,
        rate_limit={"backend": "redis", "redis_url": LIMITER_URL},
        cache={"backend": "redis", "redis_url": CACHE_URL},
    )


def shows_no_secret(text: str) -> bool:
    return not any(secret in text for secret in SECRETS) and KEY not in text


def test_dumps_mask_every_url_credential(settings):
    dumped = settings.model_dump()
    assert dumped["rate_limit"]["redis_url"] == "redis://:***@redis.internal:6380/1"
    assert dumped["cache"]["redis_url"] == "rediss://app:***@cache.internal/0?password=***"
    assert dumped["base_url"] == "https://proxy-user:***@proxy.internal/klaviyo"
    assert shows_no_secret(str(dumped))
    as_json = settings.model_dump_json()
    assert shows_no_secret(as_json)
    assert json.loads(as_json)["rate_limit"]["redis_url"] == "redis://:***@redis.internal:6380/1"
    assert shows_no_secret(json.dumps(settings.model_dump(mode="json")))
    assert shows_no_secret(settings.rate_limit.model_dump_json())


def test_repr_and_str_mask_every_url_credential(settings, caplog):
    for text in (repr(settings), str(settings), repr(settings.rate_limit), str(settings.cache)):
        assert shows_no_secret(text)
    assert "base_url='https://proxy-user:***@proxy.internal/klaviyo'" in repr(settings)
    assert "redis_url='rediss://app:***@cache.internal/0?password=***'" in repr(settings.cache)
    with caplog.at_level(logging.INFO):
        logging.getLogger("klaviyo_kit.test").info("settings: %s", settings)
    assert shows_no_secret(caplog.text)
    assert "redis://:***@redis.internal:6380/1" in caplog.text


def test_the_code_that_connects_gets_the_real_url(settings):
    assert settings.rate_limit.redis_url == LIMITER_URL
    assert settings.cache.redis_url == CACHE_URL
    assert settings.base_url == BASE_URL
    pytest.importorskip("redis")
    from klaviyo_kit.infra._build import build_cache

    cache = build_cache(settings)  # connects lazily: nothing is sent here
    pool = cache._client.connection_pool  # type: ignore[attr-defined]
    assert pool.connection_kwargs["password"] == "hunter3"
    assert pool.connection_kwargs["username"] == "app"
    assert shows_no_secret(repr(cache))


def test_a_url_refused_at_validation_is_shown_masked():
    with pytest.raises(ConfigurationError) as info:
        KlaviyoSettings(base_url="ftp://user:hunter2@files.internal/klaviyo")
    assert str(info.value) == (
        "KlaviyoSettings(base_url=...): must be an http(s) URL, got 'ftp://user:***@files.internal/klaviyo'"
    )
    with pytest.raises(ConfigurationError) as redis_info:
        RateLimitSettings(redis_url="http://:hunter2@redis.internal/0")
    assert "hunter2" not in str(redis_info.value)


def test_a_url_from_the_environment_is_masked_in_errors_and_dumps(monkeypatch):
    monkeypatch.setenv("KLAVIYO_BASE_URL", "ftp://user:hunter2@files.internal")
    with pytest.raises(ConfigurationError, match=r"^KLAVIYO_BASE_URL: ") as info:
        KlaviyoSettings()
    assert "hunter2" not in str(info.value)
    assert "hunter2" not in repr(info.value)
    monkeypatch.setenv("KLAVIYO_BASE_URL", BASE_URL)
    monkeypatch.setenv("KLAVIYO_CACHE__REDIS_URL", LIMITER_URL)
    settings = KlaviyoSettings()
    assert settings.cache.redis_url == LIMITER_URL
    assert shows_no_secret(settings.model_dump_json() + repr(settings))


def test_urls_without_credentials_are_shown_as_they_are():
    settings = KlaviyoSettings()
    assert settings.model_dump()["base_url"] == "https://a.klaviyo.com"
    assert "redis://127.0.0.1:6379/0" in repr(settings.rate_limit)
    assert CacheSettings().model_dump()["redis_url"] == "redis://127.0.0.1:6379/0"


def url_fields(model: type[BaseModel], path: str = "") -> list[tuple[str, bool]]:
    found = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found += url_fields(annotation, f"{path}{name}.")
        elif name.endswith(("url", "dsn")):
            found.append((f"{path}{name}", is_masked(info)))
    return found


def test_every_url_setting_is_masked():
    # A new URL setting (a database URL, a proxy) must use MaskedUrl, or this fails.
    fields = url_fields(KlaviyoSettings)
    assert {name for name, _ in fields} >= {"base_url", "rate_limit.redis_url", "cache.redis_url"}
    assert [name for name, masked in fields if not masked] == []


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:hunter2@host:6379/0", "redis://:***@host:6379/0"),
        ("redis://default:hunter2@host", "redis://default:***@host"),
        ("postgresql://user:hunter2@host/db", "postgresql://user:***@host/db"),
        (
            "postgresql+psycopg://user:p%40ss@host:5432/db",
            "postgresql+psycopg://user:***@host:5432/db",
        ),
        ("https://token-hunter2@proxy/path", "https://***@proxy/path"),  # a bare user is a token
        ("redis://:p@ss@host/0", "redis://:***@host/0"),  # the last @ ends the userinfo
        ("rediss://u:hunter2@[::1]:6380/2#frag", "rediss://u:***@[::1]:6380/2#frag"),
        ("unix://:hunter2@/tmp/redis.sock?db=0", "unix://:***@/tmp/redis.sock?db=0"),
        (
            "unix:///tmp/redis.sock?db=1&password=hunter2",
            "unix:///tmp/redis.sock?db=1&password=***",
        ),
        (
            "https://h/x?api_key=hunter2&page=2&Access_Token=hunter2",
            "https://h/x?api_key=***&page=2&Access_Token=***",
        ),
        ("https://h/x?email=a@b.example", "https://h/x?email=a@b.example"),  # no userinfo
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://[::1", "redis://[::1"),  # malformed: left as is, not raised about
        ("not a url", "not a url"),
        ("", ""),
    ],
)
def test_mask_url(url, shown):
    assert mask_url(url) == shown


def test_the_client_and_session_reprs_mask_the_base_url_credentials():
    settings = KlaviyoSettings(
        private_key="pk_" + "m" * 34, base_url="https://proxy-user:hunter2@proxy.example.com"
    )
    with KlaviyoClient(settings) as client:
        shown = repr(client) + repr(client._session)
    assert "hunter2" not in shown
    assert "proxy.example.com" in shown
