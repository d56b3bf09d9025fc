from __future__ import annotations

import warnings
from typing import Any

import pytest
from pydantic import ValidationError

from klaviyo_kit import Environment, KlaviyoSettings
from klaviyo_kit.config import CacheSettings, RateLimitSettings, UnknownSettingWarning
from klaviyo_kit.errors import ConfigurationError, KlaviyoError
from klaviyo_kit.operations import SDK_REVISION, Limits

KEY = "pk_" + "a1" * 17


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    for name in list(__import__("os").environ):
        if name.startswith("KLAVIYO_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env file


def test_reads_environment(monkeypatch):
    warnings.simplefilter("error")  # every variable below is a setting: none is reported
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


BAD_VALUES = [
    ("private_key", "sk_live_not_klaviyo", "does not look like a Klaviyo private key"),
    ("private_key", "pk_short", "does not look like a Klaviyo private key"),
    ("public_key", "ABCDEFG", "must be the 6-character site id"),
    ("public_key", "AB-12", "must be the 6-character site id"),
    ("environment", "prod", "must be one of development, staging, production"),
    ("base_url", "a.klaviyo.com", "must be an http(s) URL"),
    ("revision", "latest", "must look like 2026-10-15"),
    ("timeout", "soon", "Input should be a valid number"),
    ("connect_timeout", "0", "Input should be greater than 0"),
]


@pytest.mark.parametrize(("field", "value", "reason"), BAD_VALUES)
def test_a_bad_keyword_argument_is_named_as_written(field, value, reason):
    with pytest.raises(ConfigurationError) as info:
        KlaviyoSettings(**{field: value})
    assert str(info.value).startswith(f"KlaviyoSettings({field}=...): {reason}")
    assert f"KLAVIYO_{field.upper()}" not in str(info.value)  # not where it came from
    assert "errors.pydantic.dev" not in str(info.value)
    assert isinstance(info.value, KlaviyoError)


@pytest.mark.parametrize(("field", "value", "reason"), BAD_VALUES)
def test_a_bad_environment_variable_is_named_as_set(monkeypatch, field, value, reason):
    monkeypatch.setenv(f"KLAVIYO_{field.upper()}", value)
    with pytest.raises(ConfigurationError) as info:
        KlaviyoSettings()
    assert str(info.value).startswith(f"KLAVIYO_{field.upper()}: {reason}")
    assert "errors.pydantic.dev" not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__  # no pydantic report chained below it


def test_the_variable_is_named_as_the_user_spelt_the_prefix_and_nesting(monkeypatch):
    monkeypatch.setenv("klaviyo_timeout", "soon")  # names are case-insensitive
    monkeypatch.setenv("KLAVIYO_RATE_LIMIT", '{"backend": "mem"}')  # a whole section as JSON
    monkeypatch.setenv("KLAVIYO_CACHE__BACKEND", "disk")
    with pytest.raises(ConfigurationError) as info:
        KlaviyoSettings()
    message = str(info.value)
    assert message.startswith("3 invalid settings: ")
    assert "KLAVIYO_TIMEOUT: Input should be a valid number" in message
    assert "KLAVIYO_RATE_LIMIT (backend): String should match pattern" in message
    assert "KLAVIYO_CACHE__BACKEND: String should match pattern" in message


def test_a_keyword_argument_and_the_environment_are_told_apart_in_one_section(monkeypatch):
    monkeypatch.setenv("KLAVIYO_RATE_LIMIT__BACKEND", "disk")
    monkeypatch.setenv("KLAVIYO_TIMEOUT", "soon")
    with pytest.raises(ConfigurationError) as info:
        KlaviyoSettings(timeout=5, rate_limit={"enabled": False, "headroom": 2})
    message = str(info.value)
    assert "KlaviyoSettings(rate_limit={'headroom': ...}): Input should be less than" in message
    assert "KLAVIYO_RATE_LIMIT__BACKEND: String should match pattern" in message
    assert "TIMEOUT" not in message  # the argument won, the variable was never used


def test_a_bad_value_in_the_dotenv_file_is_named_with_the_file(tmp_path):
    (tmp_path / ".env").write_text("KLAVIYO_CONNECT_TIMEOUT=abc\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"^KLAVIYO_CONNECT_TIMEOUT in \.env: Input"):
        KlaviyoSettings()
    assert KlaviyoSettings(_env_file=None).connect_timeout == 10.0


def test_a_variable_that_is_not_json_is_named(monkeypatch):
    monkeypatch.setenv("KLAVIYO_RATE_LIMIT__OVERRIDES", "{get_profiles: 10/s,150/m}")
    with pytest.raises(ConfigurationError, match=r"^KLAVIYO_RATE_LIMIT__OVERRIDES: not valid JSON"):
        KlaviyoSettings()


def test_model_validate_reports_like_the_constructor(monkeypatch):
    monkeypatch.setenv("KLAVIYO_CACHE__TTL", "-1")
    with pytest.raises(ConfigurationError) as info:
        KlaviyoSettings.model_validate({"timeout": "soon"})
    assert "KlaviyoSettings(timeout=...): Input should be a valid number" in str(info.value)
    assert "KLAVIYO_CACHE__TTL: Input should be greater than 0" in str(info.value)


def test_a_settings_section_built_directly_names_its_argument():
    with pytest.raises(ConfigurationError, match=r"^RateLimitSettings\(headroom=\.\.\.\): "):
        RateLimitSettings(headroom=0)


def test_bad_private_key_from_env_is_not_echoed(monkeypatch):
    monkeypatch.setenv("KLAVIYO_PRIVATE_KEY", "pk_bad-key-with-secret-material")
    with pytest.raises(ConfigurationError) as info:
        KlaviyoSettings()
    assert "KLAVIYO_PRIVATE_KEY" in str(info.value)
    assert "secret-material" not in str(info.value)


def test_bad_override_names_the_operation():
    with pytest.raises(ConfigurationError, match="get_profiles") as info:
        KlaviyoSettings(rate_limit={"overrides": {"get_profiles": "ten per second"}})
    assert str(info.value).startswith("KlaviyoSettings(rate_limit={'overrides': ...}): ")


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
    with pytest.raises(
        ConfigurationError, match=r"^KLAVIYO_RATE_LIMIT__ON_UNAVAILABLE: Input should be 'open'"
    ):
        KlaviyoSettings()


@pytest.mark.parametrize(
    ("section", "variable"),
    [("rate_limit", "KLAVIYO_RATE_LIMIT__REDIS_URL"), ("cache", "KLAVIYO_CACHE__REDIS_URL")],
)
def test_a_redis_url_that_is_not_one_is_refused_by_name(monkeypatch, section, variable):
    bad = "http://:hunter2@redis.internal:6379/0"
    reason = "must be a redis://, rediss:// or unix:// URL, got http://"
    with pytest.raises(ConfigurationError) as info:
        KlaviyoSettings.model_validate({section: {"redis_url": bad}})
    assert str(info.value) == f"KlaviyoSettings({section}={{'redis_url': ...}}): {reason}"
    model = RateLimitSettings if section == "rate_limit" else CacheSettings
    with pytest.raises(ConfigurationError) as direct:
        model(redis_url=bad)
    assert str(direct.value) == f"{model.__name__}(redis_url=...): {reason}"
    monkeypatch.setenv(variable, bad)
    with pytest.raises(ConfigurationError) as from_env:
        KlaviyoSettings()
    assert str(from_env.value) == f"{variable}: {reason}"
    monkeypatch.delenv(variable)
    for good in ("redis://localhost", "rediss://u:p@h:6380/2", "unix:///tmp/redis.sock"):
        settings = KlaviyoSettings.model_validate({section: {"redis_url": good}})
        assert getattr(settings, section).redis_url == good


# Names are checked: a misspelt argument is refused, a misspelt variable reported.


def test_an_unknown_keyword_argument_is_refused_with_the_closest_field():
    with pytest.raises(ConfigurationError) as info:
        KlaviyoSettings(webhook_signing_secret="whsecret-0123456789")  # type: ignore[call-arg]
    assert str(info.value) == (
        "KlaviyoSettings(webhook_signing_secret=...): not a setting; did you mean webhook_secret?"
    )
    assert "whsecret" not in str(info.value)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: KlaviyoSettings(rate_limit={"backnd": "redis"}),
            "KlaviyoSettings(rate_limit={'backnd': ...}): not a setting; did you mean backend?",
        ),
        (
            lambda: RateLimitSettings(backnd="redis"),  # type: ignore[call-arg]
            "RateLimitSettings(backnd=...): not a setting; did you mean backend?",
        ),
        (
            lambda: KlaviyoSettings(retry={"atempts": 3}),
            "KlaviyoSettings(retry={'atempts': ...}): not a setting; did you mean attempts?",
        ),
        (
            lambda: KlaviyoSettings(colour="blue"),  # type: ignore[call-arg]
            "KlaviyoSettings(colour=...): not a setting",
        ),
    ],
)
def test_unknown_names_in_sections_are_refused_too(build, message):
    with pytest.raises(ConfigurationError) as info:
        build()
    assert str(info.value) == message


@pytest.mark.parametrize(
    "name", ["webhook_secret", "KLAVIYO_WEBHOOK_SIGNING_SECRET", "KLAVIYO_WEBHOOK_SECRET"]
)
def test_the_field_name_and_every_alias_are_accepted_as_arguments(name):
    values: dict[str, Any] = {name: "whsecret-0123456789"}
    secret = KlaviyoSettings(**values).webhook_secret
    assert secret is not None
    assert secret.get_secret_value() == "whsecret-0123456789"


def test_an_unprefixed_webhook_secret_of_another_tool_is_not_read(monkeypatch):
    monkeypatch.setenv("WEBHOOK_SECRET", "someone-elses-secret")
    assert KlaviyoSettings().webhook_secret is None
    monkeypatch.setenv("KLAVIYO_WEBHOOK_SECRET", "whsecret-0123456789")
    secret = KlaviyoSettings().webhook_secret
    assert secret is not None
    assert secret.get_secret_value() == "whsecret-0123456789"


@pytest.mark.parametrize(
    ("variable", "closest"),
    [
        ("KLAVIYO_RATELIMIT__BACKEND", "KLAVIYO_RATE_LIMIT__BACKEND"),  # one underscore short
        ("KLAVIYO_RATE_LIMIT_BACKEND", "KLAVIYO_RATE_LIMIT__BACKEND"),  # one delimiter short
        ("KLAVIYO_RATE_LIMIT__BACKND", "KLAVIYO_RATE_LIMIT__BACKEND"),
        ("KLAVIYO_WEBHOOK_SIGNING_SECERT", "KLAVIYO_WEBHOOK_SIGNING_SECRET"),
        ("KLAVIYO_TIMEOUTS", "KLAVIYO_TIMEOUT"),
    ],
)
def test_a_misspelt_variable_is_reported_with_the_closest_and_ignored(
    monkeypatch, variable, closest
):
    monkeypatch.setenv(variable, "redis")
    with pytest.warns(UnknownSettingWarning) as record:
        settings = KlaviyoSettings()
    assert [str(w.message) for w in record] == [
        f"{variable} is not a klaviyo-kit setting and was ignored; did you mean {closest}?"
    ]
    assert record[0].filename == __file__  # points at the caller, not at the kit
    assert settings.rate_limit.backend == "memory"


def test_a_variable_like_no_setting_is_reported_without_a_guess(monkeypatch):
    monkeypatch.setenv("KLAVIYO_ZZZ", "1")
    with pytest.warns(
        UnknownSettingWarning, match=r"^KLAVIYO_ZZZ is not a klaviyo-kit setting and was ignored$"
    ):
        KlaviyoSettings()


def test_unknown_keys_in_a_json_section_are_reported(monkeypatch):
    monkeypatch.setenv("KLAVIYO_RATE_LIMIT", '{"enabeld": false, "backend": "redis"}')
    with pytest.warns(UnknownSettingWarning) as record:
        settings = KlaviyoSettings()
    assert [str(w.message) for w in record] == [
        (
            "KLAVIYO_RATE_LIMIT: 'enabeld' is not a klaviyo-kit setting and was ignored; "
            "did you mean 'enabled'?"
        )
    ]
    assert settings.rate_limit.enabled
    assert settings.rate_limit.backend == "redis"


def test_a_misspelt_entry_in_the_dotenv_file_is_reported(tmp_path):
    (tmp_path / ".env").write_text(
        "KLAVIYO_CACHE__TTLL=5\nKLAVIYO_CACHE__TTL=7\nDATABASE_URL=not-ours\n", encoding="utf-8"
    )
    with pytest.warns(UnknownSettingWarning) as record:
        settings = KlaviyoSettings()
    assert [str(w.message) for w in record] == [
        (
            "KLAVIYO_CACHE__TTLL in .env is not a klaviyo-kit setting and was ignored; "
            "did you mean KLAVIYO_CACHE__TTL?"
        )
    ]
    assert settings.cache_ttl == 7.0


def test_the_kits_own_variables_and_every_setting_form_are_not_reported(monkeypatch):
    warnings.simplefilter("error")
    monkeypatch.setenv("KLAVIYO_KIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("KLAVIYO_KIT_TEST_POSTGRES_URL", "postgresql://127.0.0.1/kit")
    monkeypatch.setenv("KLAVIYO_WEBHOOK_SECRET", "whsecret-0123456789")
    monkeypatch.setenv("KLAVIYO_RATE_LIMIT__OVERRIDES__GET_PROFILES", "10/s,150/m")
    monkeypatch.setenv("KLAVIYO_CACHE", '{"ttl": 5}')
    monkeypatch.setenv("klaviyo_breaker__cool_down", "3")
    settings = KlaviyoSettings()
    assert settings.rate_limit.override_for("get_profiles") == Limits(10, 150)
    assert settings.cache_ttl == 5.0
    assert settings.breaker.cool_down == 3.0


def test_the_warning_is_a_user_warning_of_its_own():
    assert issubclass(UnknownSettingWarning, UserWarning)
    assert UnknownSettingWarning.__module__ == "klaviyo_kit.config"


def test_a_misspelt_variable_is_reported_even_when_another_is_refused(monkeypatch):
    monkeypatch.setenv("KLAVIYO_TIMEOUTS", "5")
    monkeypatch.setenv("KLAVIYO_TIMEOUT", "soon")
    with (
        pytest.warns(UnknownSettingWarning, match="did you mean KLAVIYO_TIMEOUT"),
        pytest.raises(ConfigurationError, match=r"^KLAVIYO_TIMEOUT: "),
    ):
        KlaviyoSettings()


def test_a_source_pydantic_settings_cannot_read_is_a_configuration_error(monkeypatch):
    from pydantic_settings import EnvSettingsSource, SettingsError

    def unreadable(self):
        raise SettingsError('error parsing value for field "cache" from source "EnvSettingsSource"')

    monkeypatch.setattr(EnvSettingsSource, "__call__", unreadable)
    with pytest.raises(ConfigurationError, match=r'^the environment could not be read: .*"cache"'):
        KlaviyoSettings(_env_file=None)
