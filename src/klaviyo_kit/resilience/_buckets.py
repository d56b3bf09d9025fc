"""Which rate-limit buckets one SDK call counts against."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from klaviyo_kit.operations import Limits, Operation

__all__ = ["BucketLimit", "rate_limit_buckets"]


@dataclass(frozen=True, slots=True)
class BucketLimit:
    """One counter a call takes a permit from.

    Attributes:
        bucket: The name to pass to :meth:`RateLimiter.acquire`.
        limits: Limits to pass with it, or ``None`` for the table's (and the overrides').
    """

    bucket: str
    limits: Limits | None = None


def rate_limit_buckets(
    operation: Operation, kwargs: Mapping[str, object] | None = None
) -> tuple[BucketLimit, ...]:
    """Return every bucket a call counts against: its own, plus one per conditional limit.

    Klaviyo counts ``additional-fields``/``include`` options that carry a stricter limit on a
    counter of their own, *in addition* to the endpoint's (a call with two such options takes
    three permits). Acquire each returned bucket before sending the call.

    Args:
        operation: The SDK operation.
        kwargs: The keyword arguments of the SDK call.

    Returns:
        The operation's own bucket first, then one bucket per conditional limit that applies.

    Example:
        >>> from klaviyo_kit.operations import operation
        >>> wanted = {"additional_fields_profile": ["predictive_analytics"]}
        >>> for b in rate_limit_buckets(operation("get_profiles"), wanted):
        ...     print(b.bucket, b.limits)
        get_profiles None
        get_profiles[additional_fields_profile=predictive_analytics] Limits(burst=10, steady=150)
    """
    given = kwargs or {}
    extra = tuple(
        BucketLimit(f"{operation.bucket}[{cond.kwarg}={cond.value}]", cond.limits)
        for cond in operation.conditional
        if cond.applies(given)
    )
    return (BucketLimit(operation.name), *extra)
