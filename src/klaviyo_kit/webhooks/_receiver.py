"""``WebhookReceiver``: verify then dispatch, and the HTTP answer for each outcome (no I/O)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from klaviyo_kit.errors import WebhookVerificationError
from klaviyo_kit.webhooks._reasons import VerificationReason, reject

if TYPE_CHECKING:
    from collections.abc import Mapping

    from klaviyo_kit.webhooks._results import DispatchReport
    from klaviyo_kit.webhooks._router import WebhookRouter
    from klaviyo_kit.webhooks._verifier import WebhookVerifier

_STATUS_BY_REASON: Final[Mapping[str, int]] = {
    VerificationReason.MISSING_HEADER.value: 400,
    VerificationReason.MALFORMED.value: 400,
    VerificationReason.BAD_SIGNATURE.value: 401,
    VerificationReason.WEBHOOK_ID_MISMATCH.value: 401,
    VerificationReason.BODY_TOO_LARGE.value: 413,
    # Stale means "seen or too old": a 4xx/5xx would only make the sender try again.
    VerificationReason.STALE.value: 200,
}
_JSON: Final = (("content-type", "application/json"),)
logger = logging.getLogger("klaviyo_kit.webhooks")


@dataclass(frozen=True, slots=True)
class WebhookResponse:
    """The HTTP answer to one delivery.

    Attributes:
        status: 204 processed; 200 stale or replayed (acknowledged, not processed); 400 bad
            request; 401 bad signature; 405 not a POST; 413 too large; 500 an event failed,
            so the sender redelivers (the events already processed then replay as duplicates).
        body: A small JSON body (empty for 204).
        headers: Response headers as ``(name, value)`` pairs.
        report: The dispatch report when the delivery was verified.
    """

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    report: DispatchReport | None = field(default=None, compare=False)

    @classmethod
    def json(cls, status: int, content: Mapping[str, object]) -> WebhookResponse:
        """Build a response with a compact JSON body."""
        return cls(status, json.dumps(content, separators=(",", ":")).encode(), _JSON)


NOT_ALLOWED: Final = WebhookResponse(405, b"", (("allow", "POST"),))


def rejection(error: WebhookVerificationError) -> WebhookResponse:
    """Log a delivery that failed verification and return the answer to it.

    Every rejection is logged (with the reason as ``record.reason``): a stale delivery is
    acknowledged with 200, so its events are never redelivered, and a run of bad signatures
    usually means a rotated secret. The message never carries a secret.
    """
    logger.warning("webhook delivery rejected: %s", error, extra={"reason": error.reason})
    status = _STATUS_BY_REASON.get(error.reason, 400)
    key = "result" if status == 200 else "error"  # noqa: PLR2004 - "acknowledged" answers
    return WebhookResponse.json(status, {key: error.reason})


def too_large(limit: int) -> WebhookResponse:
    """Log and answer a body an adapter stopped reading past ``limit`` bytes (413)."""
    return rejection(
        reject(VerificationReason.BODY_TOO_LARGE, f"the body is over the {limit}-byte limit")
    )


def answer(report: DispatchReport) -> WebhookResponse:
    """Return the answer to a verified delivery, given what dispatching it did.

    Any failed event makes the answer a 500, even when others were processed: one status
    answers the whole POST, and a 2xx would tell Klaviyo the failed event landed too, so it
    would never be redelivered. The failed events' claims were released and the processed
    ones kept, so the redelivery replays those as duplicates and retries only the failures.
    500, not 503: a handler raising is a server error, not an outage, and 500 is among the
    codes Klaviyo documents as retried (429, 500, 502, 503; documented for flow webhooks,
    and no policy is published for system webhooks).

    The body names the failed events by ``external_id``; why they failed stays in the
    report and the log, never in the answer.
    """
    if report.failures:
        failed = [result.external_id for result in report.failures]
        return WebhookResponse.json(
            500, {"error": "handler_failed", "failed": len(failed), "failed_ids": failed}
        )
    if report.replayed:
        return WebhookResponse.json(200, {"result": "duplicate"})
    return WebhookResponse(204, report=report)


class WebhookReceiver:
    """Verify a delivery, dispatch it and choose the status code; frameworks only do the I/O.

    Args:
        verifier: Checks the signature before anything is parsed.
        router: Dispatches the verified events.

    Example:
        >>> receiver = WebhookReceiver(verifier, router)  # doctest: +SKIP
        >>> response = receiver.handle(request_body, request_headers)  # doctest: +SKIP
        >>> response.status  # doctest: +SKIP
        204
    """

    __slots__ = ("router", "verifier")

    def __init__(self, verifier: WebhookVerifier, router: WebhookRouter) -> None:
        """Pair a verifier with a router."""
        self.verifier = verifier
        self.router = router

    @property
    def max_body_bytes(self) -> int:
        """The largest body accepted; adapters stop reading past it."""
        return self.verifier.max_body_bytes

    def handle(self, body: bytes, headers: Mapping[str, str]) -> WebhookResponse:
        """Verify and dispatch one delivery from synchronous code."""
        try:
            delivery = self.verifier.verify(body, headers)
        except WebhookVerificationError as exc:
            return rejection(exc)
        report = self.router.dispatch(delivery)
        return _with_report(answer(report), report)

    async def ahandle(self, body: bytes, headers: Mapping[str, str]) -> WebhookResponse:
        """Verify and dispatch one delivery from async code."""
        try:
            delivery = self.verifier.verify(body, headers)
        except WebhookVerificationError as exc:
            return rejection(exc)
        report = await self.router.adispatch(delivery)
        return _with_report(answer(report), report)


def _with_report(response: WebhookResponse, report: DispatchReport) -> WebhookResponse:
    return WebhookResponse(response.status, response.body, response.headers, report)
