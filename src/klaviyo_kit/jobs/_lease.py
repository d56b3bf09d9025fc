"""Leases: at most one process runs a given job at a time.

A lease is held under a key for ``ttl`` seconds. Its holder renews it while the job runs; if a
renewal fails (the lease expired and another process took it, or its server is gone) the
holder stops the job at its next checkpoint. Two leases are built in:

* :class:`StoreLease` claims the key in the :class:`~klaviyo_kit.infra.StateStore` with
  ``claim_delivery(key, ttl=...)``. A store claim cannot be extended, so the lease stays valid
  until its ``ttl`` is nearly spent and the runner then stops the job; pick a ``ttl`` longer
  than one pass.
* :class:`RedisLease` is ``SET key token NX PX ttl``, renewed and released only by its holder
  (each a small Lua script comparing the token), so a pass may run as long as it needs.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Callable

    from klaviyo_kit.infra import StateStore

__all__ = ["Lease", "RedisLease", "StoreLease", "lease_key"]

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def lease_key(name: str) -> str:
    """The key of job ``name``'s lease."""
    return f"jobs:{name}:lease"


@runtime_checkable
class Lease(Protocol):
    """An exclusive, expiring claim on one job."""

    @property
    def ttl(self) -> float:
        """Seconds a claim or renewal lasts."""

    def acquire(self) -> bool:
        """Claim the lease; ``False`` if another holder has it."""

    def renew(self) -> bool:
        """Keep the lease for another ``ttl``; ``False`` if it is no longer ours."""

    def release(self) -> None:
        """Give the lease up (only if it is still ours)."""


def _check_ttl(ttl: float) -> None:
    if ttl <= 0:
        raise ValueError(f"ttl must be positive, got {ttl!r}")


class StoreLease:
    """A lease claimed in a state store with ``claim_delivery``; valid until its ``ttl``.

    Args:
        store: The state store shared by every process that may run the job.
        name: The job's name.
        ttl: Seconds the claim lasts; longer than one pass of the job.
        margin: Fraction of ``ttl`` kept in reserve: ``renew`` answers ``False`` once less
            than this is left, so the job stops before the claim expires.
        clock: Monotonic seconds.

    Raises:
        ValueError: If ``ttl`` is not positive or ``margin`` is not in ``[0, 1)``.
    """

    def __init__(
        self,
        store: StateStore,
        name: str,
        *,
        ttl: float = 300.0,
        margin: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Prepare the lease; nothing is claimed until :meth:`acquire`."""
        _check_ttl(ttl)
        if not 0 <= margin < 1:
            raise ValueError(f"margin must be in [0, 1), got {margin!r}")
        self._store = store
        self._key = lease_key(name)
        self._ttl = ttl
        self._margin = margin
        self._clock = clock
        self._expires: float | None = None

    @property
    def ttl(self) -> float:
        """Seconds the claim lasts."""
        return self._ttl

    def acquire(self) -> bool:
        """Claim the key in the store for ``ttl`` seconds."""
        start = self._clock()
        if not self._store.claim_delivery(self._key, ttl=self._ttl):
            return False
        self._expires = start + self._ttl
        return True

    def renew(self) -> bool:
        """Whether the claim still has more than its margin left (a claim cannot be extended)."""
        if self._expires is None:
            return False
        return self._expires - self._clock() > self._ttl * self._margin

    def release(self) -> None:
        """Forget the claim so that the next run may start at once."""
        if self._expires is not None:
            self._expires = None
            self._store.release_delivery(self._key)


class RedisLease:
    """A renewable lease in Redis: ``SET NX PX`` with a token only its holder knows.

    Args:
        client: A ``redis.Redis`` client (or a Redis URL).
        name: The job's name.
        ttl: Seconds a claim or renewal lasts.
        prefix: Start of the Redis key.

    Raises:
        ValueError: If ``ttl`` is not positive.
    """

    def __init__(
        self, client: Any, name: str, *, ttl: float = 60.0, prefix: str = "klaviyo_kit"
    ) -> None:
        """Prepare the lease; nothing is claimed until :meth:`acquire`."""
        _check_ttl(ttl)
        if isinstance(client, str):
            import redis  # noqa: PLC0415 - the redis extra is optional

            client = redis.Redis.from_url(client)
        self._client = client
        self._key = f"{prefix}:{lease_key(name)}"
        self._ttl = ttl
        self._token = uuid.uuid4().hex
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    @property
    def ttl(self) -> float:
        """Seconds a claim or renewal lasts."""
        return self._ttl

    def _ms(self) -> int:
        return max(1, int(self._ttl * 1000))

    def acquire(self) -> bool:
        """Claim the key if nobody holds it."""
        return bool(self._client.set(self._key, self._token, nx=True, px=self._ms()))

    def renew(self) -> bool:
        """Extend the claim by ``ttl``; ``False`` if it expired or another holder has it."""
        return bool(self._renew(keys=[self._key], args=[self._token, self._ms()]))

    def release(self) -> None:
        """Delete the key if it is still ours."""
        self._release(keys=[self._key], args=[self._token])
