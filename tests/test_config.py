from __future__ import annotations

import pytest
from pydantic import ValidationError

from klaviyo_kit import Environment, KlaviyoSettings
from klaviyo_kit.config import CacheSettings, RateLimitSettings
from klaviyo_kit.errors import ConfigurationError
from klaviyo_kit.operations import SDK_REVISION, Limits

KEY = "pk_" + "a1" * 17


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    for name in list(__import__("os").environ):
        if name.startswith("KLAVIYO_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env file


def test_reads_environment(monkeypatch):
    monkeypatch.setenv("KLAVIYO_PRIVATE_KEY", KEY)
    monkeypatch.setenv("KLAVIYO_PUBLIC_KEY", "AbC123")
    monkeypatch.setenv("KLAVIYO_WEBHOOK_SIGNING_SECRET", "whsecret-0123456789")
    monkeypatch.setenv("KLAVIYO_ENVIRONMENT", "Production")
    monkeypatch.setenv("KLAVIYO_RATE_LIMIT__BACKEND", "redis")
    monkeypatch.setenv("KLAVIYO_RATE_LIMIT__OVERRIDES", '{"get_profiles": "10/s,150/m"}')
    monkeypatch.setenv("KLAVIYO_CACHE__TTL", "42")
    s = KlaviyoSettings()
    assert s.private_key is not None
    assert s.private_key.get_secret_value() == KEY
    assert s.public_key == "AbC123"
    assert s.webhook_secret is not None
    assert s.webhook_secret.get_secret_value() == "whsecret-0123456789"
    assert s.environment is Environment.PRODUCTION
    assert s.rate_limit.backend == "redis"
    assert s.rate_limit.override_for("get_profiles") == Limits(10, 150)
    assert s.rate_limit.override_for("get_events") is None
    assert s.cache_ttl == 42.0


def test_defaults():
    s = KlaviyoSettings()
    assert s.private_key is None
    assert s.environment is Environment.DEVELOPMENT
    assert s.base_url == "https://a.klaviyo.com"
    assert s.revision == SDK_REVISION
    assert s.timeout == 30.0
    assert s.connect_timeout == 10.0
    assert s.rate_limit.enabled
    assert s.rate_limit.overrides == {}


@pytest.mark.parametrize(
    ("environment", "enabled", "ttl"),
    [("development", False, 60.0), ("staging", True, 60.0), ("production", True, 300.0)],
)
def test_cache_defaults_follow_environment(environment, enabled, ttl):
    s = KlaviyoSettings(environment=environment)
    assert s.cache_enabled is enabled
    assert s.cache_ttl == ttl


def test_explicit_cache_settings_win():
    s = KlaviyoSettings(environment="development", cache={"enabled": True, "ttl": 5})
    assert s.cache_enabled
    assert s.cache_ttl == 5


def test_explicit_kwargs_beat_environment(monkeypatch):
    monkeypatch.setenv("KLAVIYO_ENVIRONMENT", "production")
    assert KlaviyoSettings(environment="staging").environment is Environment.STAGING


@pytest.mark.parametrize(
    ("field", "value", "variable"),
    [
        ("private_key", "sk_live_not_klaviyo", "KLAVIYO_PRIVATE_KEY"),
        ("private_key", "pk_short", "KLAVIYO_PRIVATE_KEY"),
        ("public_key", "ABCDEFG", "KLAVIYO_PUBLIC_KEY"),
        ("public_key", "AB-12", "KLAVIYO_PUBLIC_KEY"),
        ("environment", "prod", "KLAVIYO_ENVIRONMENT"),
        ("base_url", "a.klaviyo.com", "KLAVIYO_BASE_URL"),
        ("revision", "latest", "KLAVIYO_REVISION"),
    ],
)
def test_bad_values_name_the_variable(field, value, variable):
    with pytest.raises(ValidationError) as info:
        KlaviyoSettings(**{field: value})
    assert variable in str(info.value)


def test_bad_private_key_from_env_is_not_echoed(monkeypatch):
    monkeypatch.setenv("KLAVIYO_PRIVATE_KEY", "pk_bad-key-with-secret-material")
    with pytest.raises(ValidationError) as info:
        KlaviyoSettings()
    assert "KLAVIYO_PRIVATE_KEY" in str(info.value)
    assert "secret-material" not in str(info.value)


def test_bad_override_names_the_operation():
    with pytest.raises(ValidationError, match="get_profiles"):
        KlaviyoSettings(rate_limit={"overrides": {"get_profiles": "ten per second"}})


def test_secrets_are_masked_in_repr():
    s = KlaviyoSettings(private_key=KEY, webhook_secret="topsecret-webhook-value")
    assert KEY not in repr(s)
    assert "topsecret" not in repr(s)
    assert KEY not in str(s.model_dump())


def test_account_fingerprint_is_stable_and_not_the_key():
    a = KlaviyoSettings(private_key=KEY).account_fingerprint
    assert a == KlaviyoSettings(private_key=KEY).account_fingerprint
    assert KEY not in a
    assert a != KlaviyoSettings(private_key="pk_" + "b2" * 17).account_fingerprint
    assert KlaviyoSettings().account_fingerprint == "anonymous"


def test_require_private_key():
    with pytest.raises(ConfigurationError, match="KLAVIYO_PRIVATE_KEY"):
        KlaviyoSettings().require_private_key()


def test_settings_are_frozen():
    s = KlaviyoSettings()
    with pytest.raises(ValidationError):
        s.timeout = 1.0  # type: ignore[misc]


def test_redis_passwords_are_masked_in_repr():
    s = KlaviyoSettings(
        private_key=KEY,
        rate_limit={"backend": "redis", "redis_url": "redis://:hunter2@redis.internal:6380/1"},
        cache={"backend": "redis", "redis_url": "rediss://app:hunter3@cache.internal/0"},
    )
    for text in (repr(s), str(s), repr(s.rate_limit), repr(s.cache)):
        assert "hunter2" not in text
        assert "hunter3" not in text
    assert "redis://:***@redis.internal:6380/1" in repr(s.rate_limit)
    assert "rediss://app:***@cache.internal/0" in repr(s.cache)
    # The value itself is untouched: the limiter and the cache still connect with it.
    assert s.rate_limit.redis_url == "redis://:hunter2@redis.internal:6380/1"
    assert "redis://127.0.0.1:6379/0" in repr(KlaviyoSettings().rate_limit)


def test_redis_outage_mode_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("KLAVIYO_RATE_LIMIT__ON_UNAVAILABLE", "closed")
    assert KlaviyoSettings().rate_limit.on_unavailable == "closed"
    monkeypatch.setenv("KLAVIYO_RATE_LIMIT__ON_UNAVAILABLE", "sometimes")
    with pytest.raises(ValidationError, match=r"rate_limit\.on_unavailable"):
        KlaviyoSettings()


@pytest.mark.parametrize(
    ("section", "variable"),
    [("rate_limit", "KLAVIYO_RATE_LIMIT__REDIS_URL"), ("cache", "KLAVIYO_CACHE__REDIS_URL")],
)
def test_a_redis_url_that_is_not_one_is_refused_by_name(section, variable):
    with pytest.raises(ValidationError) as info:
        KlaviyoSettings.model_validate(
            {section: {"redis_url": "http://:hunter2@redis.internal:6379/0"}}
        )
    assert variable in str(info.value)
    assert "hunter2" not in str(info.value)
    model = RateLimitSettings if section == "rate_limit" else CacheSettings
    with pytest.raises(ValidationError) as direct:
        model(redis_url="http://:hunter2@redis.internal:6379/0")
    assert variable in str(direct.value)
    assert "hunter2" not in str(direct.value)
    for good in ("redis://localhost", "rediss://u:p@h:6380/2", "unix:///tmp/redis.sock"):
        settings = KlaviyoSettings.model_validate({section: {"redis_url": good}})
        assert getattr(settings, section).redis_url == good
