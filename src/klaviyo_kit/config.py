"""Typed settings for klaviyo-kit, read from ``KLAVIYO_*`` environment variables.

Explicit keyword arguments beat the environment, the environment beats a ``.env`` file. Secrets are
:class:`pydantic.SecretStr`, masked in every repr and log line; URL settings (``redis_url``,
``base_url``) stay plain strings for the code that connects, but their credentials are masked in
``repr``/``str``, ``model_dump()``/``model_dump_json()`` and error messages
(``redis://:***@host:6379/0``). A dump is for showing settings: copy them with
``model_copy(update=...)``, not by validating a dump again.

Names are checked. An unknown keyword argument is refused; a ``KLAVIYO_*`` variable that sets
nothing is reported with :class:`UnknownSettingWarning`; both name the closest real setting. A bad
value raises :class:`~klaviyo_kit.errors.ConfigurationError` naming the argument or the variable
it came from, never the value.

Example:
    >>> from klaviyo_kit import KlaviyoSettings
    >>> s = KlaviyoSettings(private_key="pk_" + "a" * 34, environment="production")
    >>> s.cache_enabled, s.cache_ttl
    (True, 300.0)
    >>> try:
    ...     KlaviyoSettings(timeout=0)
    ... except ConfigurationError as exc:
    ...     print(exc)
    KlaviyoSettings(timeout=...): Input should be greater than 0
"""

from __future__ import annotations

import hashlib
import re
import warnings
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from klaviyo_kit import _config_sources
from klaviyo_kit._config_urls import MaskedUrl, is_masked, mask_url
from klaviyo_kit.errors import ConfigurationError
from klaviyo_kit.operations import SDK_REVISION, Limits

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pydantic import ModelWrapValidatorHandler
    from pydantic_settings import PydanticBaseSettingsSource
    from typing_extensions import Self

__all__ = [
    "BreakerSettings",
    "CacheSettings",
    "Environment",
    "KlaviyoSettings",
    "RateLimitSettings",
    "RetrySettings",
    "UnknownSettingWarning",
]

DEFAULT_BASE_URL: Final = "https://a.klaviyo.com"
_PRIVATE_KEY = re.compile(r"^pk_[A-Za-z0-9]{20,64}$")
_PUBLIC_KEY = re.compile(r"^[A-Za-z0-9]{6}$")
_REVISION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.pre)?$")
_LIMIT = re.compile(r"^\s*(\d+)\s*/\s*s\s*,\s*(\d+)\s*/\s*m\s*$")


class Environment(str, Enum):
    """Where the integration runs; decides defaults such as caching."""

    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"


class UnknownSettingWarning(UserWarning):
    """A ``KLAVIYO_*`` environment variable (or ``.env`` entry) that sets nothing was ignored.

    The message names the variable and the closest real one. A warning rather than an error: the
    environment is shared with other tools, and a variable the kit does not know may be theirs.
    ``KLAVIYO_KIT_*`` variables are the kit's own (its test servers) and are never reported. Turn
    the warning into an error where a typo must stop a deployment::

        warnings.simplefilter("error", UnknownSettingWarning)
    """


def _check_redis_url(value: str) -> str:
    scheme = urlsplit(value).scheme
    if scheme not in {"redis", "rediss", "unix"}:
        got = f"{scheme}://" if scheme else "no scheme"
        msg = f"must be a redis://, rediss:// or unix:// URL, got {got}"
        raise ValueError(msg)
    return value


_RedisUrl = Annotated[MaskedUrl, AfterValidator(_check_redis_url)]


class _SettingsModel(BaseModel):
    """What every settings model shares: frozen, strict about names, masked, clear when wrong."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    @model_validator(mode="wrap")
    @classmethod
    def _name_the_bad_setting(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        return _config_sources.validate(cls, data, handler)

    def __repr_args__(self) -> Iterator[tuple[str | None, object]]:
        """Yield the fields for ``repr``, with the credentials of URL settings masked."""
        fields = type(self).model_fields
        for name, value in super().__repr_args__():
            info = fields.get(name) if name is not None else None
            masked = info is not None and is_masked(info) and isinstance(value, str)
            yield name, mask_url(value) if masked else value


class RateLimitSettings(_SettingsModel):
    """How calls are paced before they reach Klaviyo.

    Attributes:
        enabled: Pace calls proactively (the default). Off means only 429 feedback slows calls.
        backend: ``memory`` (one process) or ``redis`` (all processes share the account budget).
        redis_url: Redis URL for the ``redis`` backend (its credentials are masked).
        on_unavailable: What the ``redis`` backend does while Redis is unreachable: ``open``
            paces in this process only (calls keep flowing), ``closed`` raises
            ``ConnectError`` (no call goes unpaced).
        headroom: Fraction of each published limit to use, 0 < headroom <= 1, to leave room for
            other integrations on the same account.
        overrides: Per-operation limits replacing the published table, as
            ``{"get_profiles": "10/s,150/m"}`` (env ``KLAVIYO_RATE_LIMIT__OVERRIDES`` as JSON).
        max_wait: Longest a call waits for a permit before ``RateLimitTimeoutError``; ``None``
            waits as long as needed.
    """

    enabled: bool = True
    backend: Annotated[str, Field(pattern="^(memory|redis)$")] = "memory"
    redis_url: _RedisUrl = "redis://127.0.0.1:6379/0"
    on_unavailable: Literal["open", "closed"] = "open"
    headroom: Annotated[float, Field(gt=0, le=1)] = 1.0
    overrides: dict[str, str] = Field(default_factory=dict)
    max_wait: Annotated[float, Field(gt=0)] | None = None

    @field_validator("overrides")
    @classmethod
    def _check_overrides(cls, value: dict[str, str]) -> dict[str, str]:
        for name, spec in value.items():
            if _LIMIT.match(spec) is None:
                msg = f"{name!r} must look like '10/s,150/m', got {spec!r}"
                raise ValueError(msg)
        return value

    def override_for(self, name: str) -> Limits | None:
        """Return the configured override for an operation, if any."""
        spec = self.overrides.get(name)
        if spec is None:
            return None
        match = _LIMIT.match(spec)
        if match is None:  # pragma: no cover - validated at construction
            return None
        return Limits(int(match.group(1)), int(match.group(2)))


class CacheSettings(_SettingsModel):
    """Caching of lookups such as metric ids, list ids and segment membership.

    Attributes:
        enabled: On or off; ``None`` means on outside development.
        ttl: Seconds an entry lives; ``None`` means 300 s in production, 60 s elsewhere.
        max_size: Most entries the in-memory cache holds.
        backend: ``memory`` or ``redis``.
        redis_url: Redis URL for the ``redis`` backend (its credentials are masked).
    """

    enabled: bool | None = None
    ttl: Annotated[float, Field(gt=0)] | None = None
    max_size: Annotated[int, Field(gt=0)] = 10_000
    backend: Annotated[str, Field(pattern="^(memory|redis)$")] = "memory"
    redis_url: _RedisUrl = "redis://127.0.0.1:6379/0"


class RetrySettings(_SettingsModel):
    """Retries of throttled, failed and timed-out calls.

    Attributes:
        attempts: Most attempts per call, the first included (1 turns retries off).
        timeout: Most seconds from a call's first attempt to the start of its last: no retry is
            made whose backoff would end later (the last attempt itself may then run up to
            ``KLAVIYO_TIMEOUT``).
        wait_initial: First backoff in seconds, before jitter.
        wait_max: Largest backoff in seconds.
    """

    attempts: Annotated[int, Field(ge=1, le=20)] = 5
    timeout: Annotated[float, Field(gt=0)] = 120.0
    wait_initial: Annotated[float, Field(ge=0)] = 0.5
    wait_max: Annotated[float, Field(gt=0)] = 30.0


class BreakerSettings(_SettingsModel):
    """The circuit breaker in front of Klaviyo.

    Attributes:
        enabled: Whether calls pass through a breaker.
        failure_threshold: Consecutive transport/5xx failures that open the circuit.
        cool_down: Seconds the circuit stays open before one trial call is let through.
    """

    enabled: bool = True
    failure_threshold: Annotated[int, Field(ge=1)] = 5
    cool_down: Annotated[float, Field(gt=0)] = 30.0


class KlaviyoSettings(BaseSettings, _SettingsModel):
    """Everything klaviyo-kit reads from the environment (prefix ``KLAVIYO_``).

    Keyword arguments win over ``KLAVIYO_*`` variables, which win over a ``.env`` file; nested
    options are ``KLAVIYO_<SECTION>__<OPTION>`` (``KLAVIYO_RATE_LIMIT__BACKEND=redis``) or the whole
    section as JSON (``KLAVIYO_RATE_LIMIT='{"backend": "redis"}'``).

    Attributes:
        private_key: ``KLAVIYO_PRIVATE_KEY``, the ``pk_…`` key for server-side calls.
        public_key: ``KLAVIYO_PUBLIC_KEY``, the 6-character site id.
        webhook_secret: ``KLAVIYO_WEBHOOK_SIGNING_SECRET``, the system webhook signing secret.
        environment: ``KLAVIYO_ENVIRONMENT``: development, staging or production.
        base_url: ``KLAVIYO_BASE_URL``, default ``https://a.klaviyo.com``.
        revision: ``KLAVIYO_REVISION``, default the pinned SDK's revision.
        timeout: ``KLAVIYO_TIMEOUT``, seconds to wait for a response.
        connect_timeout: ``KLAVIYO_CONNECT_TIMEOUT``, seconds to wait for a connection.
        rate_limit: Pacing options (``KLAVIYO_RATE_LIMIT__*``).
        cache: Cache options (``KLAVIYO_CACHE__*``).
        retry: Retry options (``KLAVIYO_RETRY__*``).
        breaker: Circuit breaker options (``KLAVIYO_BREAKER__*``).

    Raises:
        klaviyo_kit.errors.ConfigurationError: At construction, if a keyword argument is no
            setting (the message names the closest one) or a value is invalid (the message names
            the argument, ``KlaviyoSettings(timeout=...)``, or the variable it came from,
            ``KLAVIYO_TIMEOUT``, and never shows the value).

    Warns:
        UnknownSettingWarning: For each ``KLAVIYO_*`` variable (or ``.env`` entry) that sets
            nothing, naming the closest real variable; its value is ignored.
    """

    model_config = SettingsConfigDict(
        env_prefix="KLAVIYO_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        hide_input_in_errors=True,
    )

    private_key: SecretStr | None = None
    public_key: str | None = None
    webhook_secret: SecretStr | None = Field(
        default=None,
        # Only the prefixed names: an alias is read from the environment as it stands, so a bare
        # ``webhook_secret`` here would take another tool's WEBHOOK_SECRET (the keyword argument
        # works through ``populate_by_name``).
        validation_alias=AliasChoices("KLAVIYO_WEBHOOK_SIGNING_SECRET", "KLAVIYO_WEBHOOK_SECRET"),
    )
    environment: Environment = Environment.DEVELOPMENT
    base_url: MaskedUrl = DEFAULT_BASE_URL
    revision: str = SDK_REVISION
    timeout: Annotated[float, Field(gt=0)] = 30.0
    connect_timeout: Annotated[float, Field(gt=0)] = 10.0
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    breaker: BreakerSettings = Field(default_factory=BreakerSettings)

    if not TYPE_CHECKING:
        # Hidden from type checkers, so that pydantic's mypy plugin keeps the signature it
        # generates (every field by name, nothing else) and flags a misspelt argument statically.
        def __init__(self, **values: Any) -> None:
            """Read the settings from ``values``, the environment and ``.env`` (see the class)."""
            scope = _config_sources.SettingsScope(type(self), values)
            try:
                with scope:
                    super().__init__(**values)
            finally:
                for problem in scope.problems:
                    warnings.warn(problem, UnknownSettingWarning, stacklevel=2)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],  # noqa: ARG003 - pydantic-settings passes it by name
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keep pydantic-settings' sources and order; note which variables each one offers.

        Args:
            settings_cls: The settings class being built.
            init_settings: The keyword arguments.
            env_settings: The environment.
            dotenv_settings: The ``.env`` file.
            file_secret_settings: The secrets directory (unused unless configured).

        Returns:
            The sources, highest priority first.

        Raises:
            klaviyo_kit.errors.ConfigurationError: If a variable that must be JSON is not.
        """
        _config_sources.observe(env_settings, dotenv_settings)
        return init_settings, env_settings, dotenv_settings, file_secret_settings

    @field_validator("private_key")
    @classmethod
    def _check_private_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and _PRIVATE_KEY.match(value.get_secret_value()) is None:
            msg = (
                "does not look like a Klaviyo private key "
                "(expected 'pk_' followed by 20-64 letters or digits)"
            )
            raise ValueError(msg)
        return value

    @field_validator("public_key")
    @classmethod
    def _check_public_key(cls, value: str | None) -> str | None:
        if value is not None and _PUBLIC_KEY.match(value) is None:
            msg = "must be the 6-character site id (letters and digits)"
            raise ValueError(msg)
        return value

    @field_validator("environment", mode="before")
    @classmethod
    def _check_environment(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().lower()
            allowed = [e.value for e in Environment]
            if value not in allowed:
                msg = f"must be one of {', '.join(allowed)}, got {value!r}"
                raise ValueError(msg)
        return value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            msg = f"must be an http(s) URL, got {mask_url(value)!r}"
            raise ValueError(msg)
        return value.rstrip("/")

    @field_validator("revision")
    @classmethod
    def _check_revision(cls, value: str) -> str:
        if _REVISION.match(value) is None:
            msg = f"must look like 2026-10-15 or 2026-10-15.pre, not {value!r}"
            raise ValueError(msg)
        return value

    @property
    def cache_enabled(self) -> bool:
        """Whether caching is on: the explicit setting, else on outside development."""
        if self.cache.enabled is not None:
            return self.cache.enabled
        return self.environment is not Environment.DEVELOPMENT

    @property
    def cache_ttl(self) -> float:
        """Cache entry lifetime: the explicit setting, else 300 s in production, 60 s elsewhere."""
        if self.cache.ttl is not None:
            return self.cache.ttl
        return 300.0 if self.environment is Environment.PRODUCTION else 60.0

    @property
    def account_fingerprint(self) -> str:
        """A stable, non-reversible id for the account the private key belongs to.

        Rate-limit buckets and cache keys are scoped by it, so two keys never share a budget and
        the key itself never appears in Redis or in logs.
        """
        if self.private_key is None:
            return "anonymous"
        digest = hashlib.sha256(self.private_key.get_secret_value().encode()).hexdigest()
        return digest[:16]

    def require_private_key(self) -> SecretStr:
        """Return the private key, or raise if none is configured.

        Raises:
            klaviyo_kit.errors.ConfigurationError: If ``KLAVIYO_PRIVATE_KEY`` is not set.
        """
        if self.private_key is None:
            msg = (
                "KLAVIYO_PRIVATE_KEY is not set: pass private_key= or set the environment variable"
            )
            raise ConfigurationError(msg)
        return self.private_key
