"""A seeded plan of faults: statuses, Cloudflare pages, latency, drops, hangs, lost answers."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Mapping

FaultKind = Literal["status", "cloudflare", "drop", "hang", "lost"]
_STATUSES = frozenset({429, 500, 502, 503, 504, 524})


@dataclass(frozen=True, slots=True)
class Fault:
    """What the plan decided for one request.

    Attributes:
        kind: ``status`` (a JSON:API error), ``cloudflare`` (an HTML 403 challenge page),
            ``drop`` (the connection closes with no response), ``hang`` (no answer until the
            client gives up), ``lost`` (the request is carried out and stored, then the
            connection closes before the answer: the client cannot tell it from a ``drop``),
            or ``None`` (answer normally).
        status: The error status for ``status`` faults.
        latency: Seconds to wait before answering.
    """

    kind: FaultKind | None = None
    status: int = 0
    latency: float = 0.0


@dataclass(frozen=True)
class FaultPlan:
    """Rates of faults per request, drawn from one seeded generator.

    The same seed and the same sequence of requests give the same faults on every run.

    Attributes:
        seed: Seed of the plan's random generator.
        statuses: Probability per request of each error status (429, 500, 502, 503, 504, 524).
        cloudflare: Probability of Cloudflare's HTML ``403`` challenge page.
        drop: Probability of closing the connection without a response.
        hang: Probability of never answering (the client's timeout decides).
        lost: Probability of carrying the request out, then losing the answer (a retry of a
            write sends it again, so only idempotent writes keep exactly-once).
        latency: ``(low, high)`` seconds of delay added to every request.
        hang_seconds: How long a hang lasts before the server closes the connection.

    Examples:
        >>> faults = FaultPlan(seed=7, statuses={503: 0.5}).start()
        >>> [faults.draw().status for _ in range(6)]
        [503, 0, 0, 503, 503, 503]
    """

    seed: int = 0
    statuses: Mapping[int, float] = field(default_factory=dict)
    cloudflare: float = 0.0
    drop: float = 0.0
    hang: float = 0.0
    lost: float = 0.0
    latency: tuple[float, float] = (0.0, 0.0)
    hang_seconds: float = 30.0

    def __post_init__(self) -> None:
        """Reject rates that cannot be probabilities and statuses Klaviyo does not fail with."""
        unknown = set(self.statuses) - _STATUSES
        if unknown:
            msg = f"fault statuses must be among {sorted(_STATUSES)}, got {sorted(unknown)}"
            raise ValueError(msg)
        rates = [*self.statuses.values(), self.cloudflare, self.drop, self.hang, self.lost]
        if any(rate < 0 for rate in rates) or sum(rates) > 1:
            msg = "fault rates must be non-negative and add up to at most 1"
            raise ValueError(msg)
        low, high = self.latency
        if not 0 <= low <= high:
            msg = f"latency must be (low, high) with 0 <= low <= high, got {self.latency}"
            raise ValueError(msg)

    def start(self) -> FaultSequence:
        """Return a fresh sequence of draws from the plan's seed."""
        return FaultSequence(self)


class FaultSequence:
    """The running draw of a :class:`FaultPlan`: one :class:`Fault` per request, thread-safe."""

    def __init__(self, plan: FaultPlan) -> None:
        """Start drawing from ``plan.seed``."""
        self.plan = plan
        self._rng = random.Random(plan.seed)  # noqa: S311 - reproducible faults, not secrets
        self._lock = threading.Lock()

    def draw(self) -> Fault:
        """Return the fault for the next request (two draws per request, always)."""
        plan = self.plan
        with self._lock:
            roll = self._rng.random()
            low, high = plan.latency
            latency = low + (high - low) * self._rng.random()
        choices: list[tuple[float, FaultKind, int]] = [
            *((rate, "status", status) for status, rate in sorted(plan.statuses.items())),
            (plan.cloudflare, "cloudflare", 403),
            (plan.drop, "drop", 0),
            (plan.hang, "hang", 0),
            (plan.lost, "lost", 0),
        ]
        edge = 0.0
        for rate, kind, status in choices:
            edge += rate
            if roll < edge:
                return Fault(kind, status, latency)
        return Fault(None, 0, latency)
