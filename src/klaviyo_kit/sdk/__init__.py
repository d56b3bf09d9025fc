"""The SDK layer: the official klaviyo-api SDK, carried by httpx, behind one call pipeline.

Nothing here imports the SDK at import time; a group's SDK module loads on the group's first use.
"""

from __future__ import annotations

from klaviyo_kit.sdk._apis import (
    GROUPS,
    ApiProxy,
    AsyncApiGroup,
    AsyncSdkApis,
    SdkApis,
    normalize_kwargs,
    operation_for,
)
from klaviyo_kit.sdk._context import OperationCall, current_call
from klaviyo_kit.sdk._pipeline import AsyncPipeline, AsyncStage, Pipeline, Stage
from klaviyo_kit.sdk._session import SdkSession, build_http_client
from klaviyo_kit.sdk._stages import (
    AsyncBreakerStage,
    AsyncHooksStage,
    AsyncLimiterStage,
    AsyncRetryStage,
    BreakerStage,
    HooksStage,
    LimiterStage,
    RetryStage,
)
from klaviyo_kit.sdk._translate import translate_errors
from klaviyo_kit.sdk._transport import HttpxRestClient, HttpxRestResponse

__all__ = [
    "GROUPS",
    "ApiProxy",
    "AsyncApiGroup",
    "AsyncBreakerStage",
    "AsyncHooksStage",
    "AsyncLimiterStage",
    "AsyncPipeline",
    "AsyncRetryStage",
    "AsyncSdkApis",
    "AsyncStage",
    "BreakerStage",
    "HooksStage",
    "HttpxRestClient",
    "HttpxRestResponse",
    "LimiterStage",
    "OperationCall",
    "Pipeline",
    "RetryStage",
    "SdkApis",
    "SdkSession",
    "Stage",
    "build_http_client",
    "current_call",
    "normalize_kwargs",
    "operation_for",
    "translate_errors",
]

for _name in __all__:
    _obj = globals()[_name]
    if hasattr(_obj, "__module__") and isinstance(_obj, type):
        _obj.__module__ = __name__
