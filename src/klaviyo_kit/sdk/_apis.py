"""Lazy, cached getters for the SDK's API groups, whose methods run through the call pipeline.

``client.sdk.profiles`` is built on first access and cached (``client.sdk.profiles is
client.sdk.profiles``). To type checkers it *is* the SDK's ``ProfilesApi``, so every method keeps
its generated signature; at run time each operation goes through the kit's pipeline (rate limits,
breaker, retries, error translation). The group's SDK module is imported on first access only.
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Final, Protocol

from klaviyo_kit.operations import operation
from klaviyo_kit.sdk.types import next_cursor

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from openapi_client.api.accounts_api import AccountsApi
    from openapi_client.api.billing_api import BillingApi
    from openapi_client.api.brands_api import BrandsApi
    from openapi_client.api.campaigns_api import CampaignsApi
    from openapi_client.api.catalogs_api import CatalogsApi
    from openapi_client.api.client_api import ClientApi
    from openapi_client.api.conversations_api import ConversationsApi
    from openapi_client.api.coupons_api import CouponsApi
    from openapi_client.api.custom_objects_api import CustomObjectsApi
    from openapi_client.api.data_privacy_api import DataPrivacyApi
    from openapi_client.api.events_api import EventsApi
    from openapi_client.api.flows_api import FlowsApi
    from openapi_client.api.forms_api import FormsApi
    from openapi_client.api.images_api import ImagesApi
    from openapi_client.api.lists_api import ListsApi
    from openapi_client.api.metrics_api import MetricsApi
    from openapi_client.api.profiles_api import ProfilesApi
    from openapi_client.api.reporting_api import ReportingApi
    from openapi_client.api.reviews_api import ReviewsApi
    from openapi_client.api.segments_api import SegmentsApi
    from openapi_client.api.tags_api import TagsApi
    from openapi_client.api.templates_api import TemplatesApi
    from openapi_client.api.text_messaging_api import TextMessagingApi
    from openapi_client.api.tracking_settings_api import TrackingSettingsApi
    from openapi_client.api.translations_api import TranslationsApi
    from openapi_client.api.web_feeds_api import WebFeedsApi
    from openapi_client.api.webhooks_api import WebhooksApi

    from klaviyo_kit.operations import Operation

__all__ = [
    "GROUPS",
    "ApiProxy",
    "AsyncApiGroup",
    "AsyncSdkApis",
    "SdkApis",
    "normalize_kwargs",
    "operation_for",
]

GROUPS: Final[Mapping[str, str]] = {
    "accounts": "Accounts",
    "billing": "Billing",
    "brands": "Brands",
    "campaigns": "Campaigns",
    "catalogs": "Catalogs",
    "client": "Client",
    "conversations": "Conversations",
    "coupons": "Coupons",
    "custom_objects": "Custom_Objects",
    "data_privacy": "Data_Privacy",
    "events": "Events",
    "flows": "Flows",
    "forms": "Forms",
    "images": "Images",
    "lists": "Lists",
    "metrics": "Metrics",
    "profiles": "Profiles",
    "reporting": "Reporting",
    "reviews": "Reviews",
    "segments": "Segments",
    "tags": "Tags",
    "templates": "Templates",
    "text_messaging": "Text_Messaging",
    "tracking_settings": "Tracking_Settings",
    "translations": "Translations",
    "web_feeds": "Web_Feeds",
    "webhooks": "Webhooks",
}
"""Snake-case group name → the ``KlaviyoAPI`` property that builds the group."""

_VARIANTS: Final = ("_with_http_info", "_without_preload_content")


def operation_for(method: str) -> Operation:
    """Return the operation an SDK method (or its ``_with_http_info`` variant) performs.

    Raises:
        KeyError: If the name is no SDK operation.
    """
    base = method
    for suffix in _VARIANTS:
        base = base.removesuffix(suffix)
    return operation(base)


def normalize_kwargs(kwargs: dict[str, object]) -> dict[str, object]:
    """Accept a full ``links.next`` URL as ``page_cursor``, as the SDK documents."""
    cursor = kwargs.get("page_cursor")
    if isinstance(cursor, str) and "://" in cursor:
        kwargs["page_cursor"] = next_cursor(cursor)
    return kwargs


class ApiProxy:
    """One SDK API group whose operations run through the kit's call pipeline.

    Attribute access returns the SDK's attribute, except that every operation method is wrapped:
    the wrapper keeps the SDK method's name, docstring and signature (``inspect.signature`` works).
    """

    def __init__(
        self,
        group: str,
        api: object,
        invoke: Callable[
            [Operation, Callable[..., object], tuple[object, ...], Mapping[str, object]], object
        ],
    ) -> None:
        """Wrap ``api`` (an SDK ``*Api`` instance) so its calls go through ``invoke``."""
        self._group = group
        self._api = api
        self._invoke = invoke
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> object:
        """Return the SDK attribute ``name``, wrapping operation methods through the pipeline."""
        target = getattr(self._api, name)
        if name.startswith("_") or not callable(target):
            return target
        try:
            op = operation_for(name)
        except KeyError:
            return target
        wrapped = self._wrap(op, name)
        with self._lock:
            return self.__dict__.setdefault(name, wrapped)

    def _wrap(self, op: Operation, name: str) -> Callable[..., object]:
        # The generated method itself, not the SDK wrapper's monkeypatched copy: it keeps its
        # signature, and the wrapper's retries and cursor parsing are replaced by ours.
        original = getattr(type(self._api), name).__get__(self._api)
        invoke = self._invoke

        @functools.wraps(original)
        def method(*args: object, **kwargs: object) -> object:
            return invoke(op, original, args, normalize_kwargs(kwargs))

        return method

    def __dir__(self) -> list[str]:
        """List the SDK group's attributes, for completion in a REPL."""
        return sorted(set(dir(self._api)) | set(self.__dict__))

    def __repr__(self) -> str:
        """Name the group; the proxy holds no secrets, but never show the SDK's config."""
        return f"<klaviyo_kit sdk.{self._group}>"


class _GroupGetters:
    """Build each API group's proxy on first access and cache it (shared by both clients)."""

    def __init__(
        self,
        build_group: Callable[[str], object],
        invoke: Callable[
            [Operation, Callable[..., object], tuple[object, ...], Mapping[str, object]], object
        ],
    ) -> None:
        """Create the getters; ``build_group(property_name)`` returns the SDK's group object."""
        self._build_group = build_group
        self._invoke = invoke
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> object:
        """Build, cache and return the proxy for API group ``name``."""
        prop = GROUPS.get(name)
        if prop is None:
            msg = f"the Klaviyo SDK has no API group {name!r}; groups: {', '.join(GROUPS)}"
            raise AttributeError(msg)
        with self._lock:
            cached = self.__dict__.get(name)
            if cached is None:
                cached = ApiProxy(name, self._build_group(prop), self._invoke)
                self.__dict__[name] = cached
            return cached

    def __dir__(self) -> list[str]:
        """List the API groups."""
        return sorted(GROUPS)

    def __repr__(self) -> str:
        """Show which groups have been built so far."""
        built = sorted(k for k in self.__dict__ if k in GROUPS)
        return f"<klaviyo_kit sdk groups built={built}>"


class SdkApis(_GroupGetters):
    """Lazy getters for every SDK API group: ``client.sdk.profiles``, ``client.sdk.events``.

    Each group is built on first access (importing only that group's SDK module) and cached.
    To type checkers each group is the SDK's own ``*Api`` class, signatures and all.
    """

    if TYPE_CHECKING:
        accounts: AccountsApi
        billing: BillingApi
        brands: BrandsApi
        campaigns: CampaignsApi
        catalogs: CatalogsApi
        client: ClientApi
        conversations: ConversationsApi
        coupons: CouponsApi
        custom_objects: CustomObjectsApi
        data_privacy: DataPrivacyApi
        events: EventsApi
        flows: FlowsApi
        forms: FormsApi
        images: ImagesApi
        lists: ListsApi
        metrics: MetricsApi
        profiles: ProfilesApi
        reporting: ReportingApi
        reviews: ReviewsApi
        segments: SegmentsApi
        tags: TagsApi
        templates: TemplatesApi
        text_messaging: TextMessagingApi
        tracking_settings: TrackingSettingsApi
        translations: TranslationsApi
        web_feeds: WebFeedsApi
        webhooks: WebhooksApi


class AsyncApiGroup(Protocol):
    """An SDK API group on the async client: every operation returns an awaitable."""

    def __getattr__(self, name: str) -> Callable[..., Awaitable[object]]:
        """Return the awaitable operation ``name``."""


class AsyncSdkApis(_GroupGetters):
    """The async client's getters: ``await aclient.sdk.profiles.get_profiles(page_size=50)``.

    The SDK call runs in the client's worker threads through the async pipeline.
    """

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> AsyncApiGroup:
            """Return the proxy for API group ``name``."""
