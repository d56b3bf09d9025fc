"""Klaviyo's operations as data: HTTP method, path, rate limits and scopes of every SDK call.

Klaviyo publishes a burst (per second) and a steady (per minute) limit for each endpoint, counted
per account in fixed windows. The table behind this module is generated from the installed SDK's
docstrings by ``scripts/generate_operations.py`` and checked by the test suite, so the limiter, the
retry policy and the sandbox all read the same numbers.

Example:
    >>> from klaviyo_kit.operations import operation
    >>> op = operation("get_profiles")
    >>> (op.http_method, op.path, op.limits.burst, op.limits.steady)
    ('GET', '/api/profiles', 75, 750)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "SDK_REVISION",
    "ConditionalLimit",
    "Limits",
    "Operation",
    "all_operations",
    "operation",
    "operation_limits",
]

SDK_REVISION: Final = "2026-10-15"
"""The API revision the pinned SDK sends (``KlaviyoAPI._REVISION``), checked by a test."""

_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Limits:
    """Klaviyo's two fixed windows for one operation.

    Attributes:
        burst: Requests allowed in one 1-second window.
        steady: Requests allowed in one 60-second window.
    """

    burst: int
    steady: int

    def __post_init__(self) -> None:
        """Reject limits no window could honour."""
        if self.burst < 1 or self.steady < 1:
            msg = f"rate limits must be positive, got burst={self.burst} steady={self.steady}"
            raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class ConditionalLimit:
    """A stricter limit that applies when a query parameter takes a value.

    Attributes:
        kwarg: The SDK keyword argument, e.g. ``additional_fields_profile``.
        value: The value that triggers the limit, e.g. ``predictive_analytics``.
        limits: The limits in force when the value is requested.
    """

    kwarg: str
    value: str
    limits: Limits

    def applies(self, kwargs: Mapping[str, object]) -> bool:
        """Return whether a call with these keyword arguments requests the value.

        Klaviyo's docstrings name ``include=list`` and ``include=segment`` where the API's
        values are ``lists`` and ``segments``; both spellings count.
        """
        wanted = {self.value, f"{self.value}s"} if self.kwarg == "include" else {self.value}
        given = kwargs.get(self.kwarg)
        if isinstance(given, str):
            return bool(wanted & set(given.split(",")))
        if isinstance(given, (list, tuple, set, frozenset)):
            return bool(wanted & set(given))
        return False


@dataclass(frozen=True, slots=True)
class Operation:
    """One Klaviyo API operation as the SDK names it.

    Attributes:
        name: The SDK method name (``get_profiles``); aliases keep their own name.
        group: The SDK API group in snake case (``profiles``, ``data_privacy``).
        http_method: ``GET``, ``POST``, ``PATCH``, ``PUT`` or ``DELETE``.
        path: The path template, e.g. ``/api/profiles/{id}``.
        limits: The default burst and steady limits.
        scopes: The API key scopes the operation needs.
        alias_of: The canonical SDK name when ``name`` is an alias, else ``None``.
        conditional: Stricter limits for particular query parameters.
    """

    name: str
    group: str
    http_method: str
    path: str
    limits: Limits
    scopes: tuple[str, ...]
    alias_of: str | None = None
    conditional: tuple[ConditionalLimit, ...] = ()

    @property
    def canonical_name(self) -> str:
        """The SDK's own name for the operation (the alias target, or ``name``)."""
        return self.alias_of or self.name

    @property
    def bucket(self) -> str:
        """The rate-limit bucket: calls through an alias share the canonical bucket."""
        return self.canonical_name

    @property
    def is_read(self) -> bool:
        """Whether the operation only reads (GET), which makes it safe to retry."""
        return self.http_method in _SAFE_METHODS

    def limits_for(self, kwargs: Mapping[str, object]) -> Limits:
        """Return the limits in force for a call with these keyword arguments.

        Args:
            kwargs: The keyword arguments of the SDK call.

        Returns:
            The strictest conditional limit that applies, else the default limits.
        """
        chosen = self.limits
        for cond in self.conditional:
            if cond.applies(kwargs) and cond.limits.steady < chosen.steady:
                chosen = cond.limits
        return chosen


@cache
def _table() -> Mapping[str, Operation]:
    from klaviyo_kit._operations_table import ROWS  # noqa: PLC0415 - loaded on first use

    return {
        name: Operation(
            name=name,
            group=group,
            http_method=method,
            path=path,
            limits=Limits(burst, steady),
            scopes=scopes,
            alias_of=alias,
            conditional=tuple(ConditionalLimit(k, v, Limits(b, s)) for k, v, b, s in cond),
        )
        for name, group, method, path, burst, steady, scopes, alias, cond in ROWS
    }


def operation(name: str) -> Operation:
    """Return the operation an SDK method name stands for.

    Args:
        name: An SDK method name, e.g. ``create_event`` or an alias such as
            ``spawn_bulk_profile_import_job``.

    Returns:
        The operation's method, path, limits and scopes.

    Raises:
        KeyError: If the pinned SDK has no operation of that name.
    """
    try:
        return _table()[name]
    except KeyError:
        msg = f"unknown Klaviyo operation {name!r} (not in klaviyo-api's operation table)"
        raise KeyError(msg) from None


def operation_limits(name: str) -> Limits:
    """Return the default burst and steady limits of an operation.

    Args:
        name: An SDK method name.

    Returns:
        The operation's :class:`Limits`.

    Raises:
        KeyError: If the pinned SDK has no operation of that name.
    """
    return operation(name).limits


def all_operations() -> Mapping[str, Operation]:
    """Return every operation, aliases included, keyed by SDK method name."""
    return _table()
