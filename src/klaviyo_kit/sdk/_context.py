"""The call in flight: what the pipeline's stages and the transport share about one SDK call."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from klaviyo_kit.operations import Limits, Operation

__all__ = ["OperationCall", "bind_call", "current_call"]


@dataclass(slots=True, eq=False)
class OperationCall:
    """One SDK operation being called, shared by the pipeline's stages.

    Attributes:
        operation: The operation (name, method, path, limits).
        args: The positional arguments of the SDK call.
        kwargs: The keyword arguments of the SDK call.
        attempt: The attempt in progress, counting from 1.
        status: The HTTP status of the latest response, once one arrived.
        response_headers: The headers of the latest response, once one arrived.
        response_body: The body of the latest response, once one arrived.
        throttle_wait: Seconds the rate limiter held the latest attempt back.
    """

    operation: Operation
    args: tuple[object, ...] = ()
    kwargs: Mapping[str, object] = field(default_factory=dict)
    attempt: int = 0
    status: int | None = None
    response_headers: Mapping[str, str] | None = None
    response_body: bytes | None = None
    throttle_wait: float = 0.0

    @property
    def name(self) -> str:
        """The SDK method name that was called."""
        return self.operation.name

    @property
    def limits(self) -> Limits:
        """The rate limits in force for this call's arguments."""
        return self.operation.limits_for(self.kwargs)

    def record_response(self, status: int, headers: Mapping[str, str], body: bytes = b"") -> None:
        """Remember the latest response's status, headers and body (called by the transport)."""
        self.status = status
        self.response_headers = headers
        self.response_body = body

    def forget_response(self) -> None:
        """Drop what an earlier attempt received, so only this attempt's answer is read."""
        self.status = None
        self.response_headers = None
        self.response_body = None


_CURRENT: ContextVar[OperationCall | None] = ContextVar("klaviyo_kit_call", default=None)


def current_call() -> OperationCall | None:
    """Return the SDK call in flight in this context, if any."""
    return _CURRENT.get()


@contextmanager
def bind_call(call: OperationCall) -> Iterator[OperationCall]:
    """Make ``call`` the call in flight for the duration of the block."""
    token = _CURRENT.set(call)
    try:
        yield call
    finally:
        _CURRENT.reset(token)
