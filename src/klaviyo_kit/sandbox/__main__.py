"""Run the sandbox as a standalone Klaviyo-compatible server: ``python -m klaviyo_kit.sandbox``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import TYPE_CHECKING

from klaviyo_kit.sandbox._faults import FaultPlan
from klaviyo_kit.sandbox._sandbox import Sandbox

if TYPE_CHECKING:
    from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m klaviyo_kit.sandbox",
        description="Serve a stateful, Klaviyo-compatible fake of one account over HTTP.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8787, help="port to bind; 0 picks one (8787)")
    parser.add_argument("--seed", type=int, default=None, help="seed ids and faults")
    parser.add_argument(
        "--time-scale", type=float, default=1.0, help="run rate-limit windows N times faster"
    )
    parser.add_argument(
        "--no-rate-limits", action="store_true", help="answer every request, never 429"
    )
    parser.add_argument("--api-key", default=None, help="accept only this private key")
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="share of requests that fail with 500/503/504 (seeded by --seed)",
    )
    return parser


def main(argv: Sequence[str] | None = None, *, stop: threading.Event | None = None) -> int:
    """Serve until interrupted, terminated, or ``stop`` is set; return the exit status.

    Args:
        argv: Command-line arguments (default: ``sys.argv[1:]``).
        stop: An event that ends serving when set (for embedding and tests).

    Returns:
        ``0`` after a clean shutdown.
    """
    args = _parser().parse_args(argv)
    share = args.fault_rate / 3
    faults = (
        FaultPlan(seed=args.seed or 0, statuses={500: share, 503: share, 504: share})
        if args.fault_rate
        else None
    )
    sandbox = Sandbox(
        seed=args.seed,
        time_scale=args.time_scale,
        rate_limits=not args.no_rate_limits,
        faults=faults,
        api_key=args.api_key,
    )
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    with sandbox.serve(args.host, args.port) as server:
        sys.stdout.write(
            f"Klaviyo sandbox (account {sandbox.account.id}) listening on {server.url}\n"
        )
        sys.stdout.flush()
        try:
            stop.wait()
        except KeyboardInterrupt:
            sys.stdout.write("stopped\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
