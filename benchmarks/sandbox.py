"""Sandbox throughput: the handler alone, the in-process transport, HTTP, and the official SDK.

Run: python -m benchmarks.sandbox [--requests 2000]. Each line prints requests/s and the ratio to
the bare handler measured in the same run, so numbers compare across machines. A last line shows
that ``time_scale`` shortens Klaviyo's windows in proportion: it drives ``get_accounts`` (1/s,
15/m) through a full steady window at ``time_scale=60`` and prints the wall time (about 1 s).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import TYPE_CHECKING

import httpx

from klaviyo_kit.sandbox import Sandbox

if TYPE_CHECKING:
    from collections.abc import Callable

KEY = "pk_" + "x" * 34
HEADERS = {"Authorization": f"Klaviyo-API-Key {KEY}", "revision": "2026-10-15"}


def _body(i: int) -> bytes:
    return json.dumps(
        {"data": {"type": "profile", "attributes": {"email": f"p{i}@example.com"}}}
    ).encode()


def _rate(count: int, step: Callable[[int], object]) -> float:
    start = time.perf_counter()
    for i in range(count):
        step(i)
    return count / (time.perf_counter() - start)


def _handler(count: int) -> float:
    sandbox = Sandbox(seed=1, rate_limits=False)
    return _rate(count, lambda i: sandbox.handle("POST", "/api/profiles", "", HEADERS, _body(i)))


def _transport(count: int) -> float:
    sandbox = Sandbox(seed=1, rate_limits=False)
    with httpx.Client(transport=sandbox.transport(), base_url="http://s", headers=HEADERS) as c:
        return _rate(count, lambda i: c.post("/api/profiles", content=_body(i)).raise_for_status())


def _http(count: int) -> float:
    sandbox = Sandbox(seed=1, rate_limits=False)
    with sandbox.serve() as server, httpx.Client(base_url=server.url, headers=HEADERS) as c:
        return _rate(count, lambda i: c.post("/api/profiles", content=_body(i)).raise_for_status())


def _sdk(count: int) -> float:
    from klaviyo_api import KlaviyoAPI  # noqa: PLC0415 - measured separately from import time
    from openapi_client.models.profile_create_query import (  # noqa: PLC0415
        ProfileCreateQuery,
    )

    sandbox = Sandbox(seed=1, rate_limits=False)
    with sandbox.serve() as server:
        sdk = KlaviyoAPI(KEY, test_host=server.url, max_retries=1)

        def create(i: int) -> None:
            body = {"data": {"type": "profile", "attributes": {"email": f"p{i}@example.com"}}}
            sdk.Profiles.create_profile(ProfileCreateQuery.from_dict(body))

        return _rate(count, create)


def _scaled_window() -> tuple[int, int, float]:
    sandbox = Sandbox(time_scale=60)
    with httpx.Client(transport=sandbox.transport(), base_url="http://s", headers=HEADERS) as c:
        start = time.perf_counter()
        ok = throttled = 0
        while ok < 16:  # one more than the steady limit: crosses a window
            response = c.get("/api/accounts")
            if response.status_code == 429:
                throttled += 1
                time.sleep(float(response.headers["Retry-After"]))
            else:
                ok += 1
        return ok, throttled, time.perf_counter() - start


def main() -> None:
    """Print each path's throughput beside the bare handler's."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    count = parser.parse_args().requests
    baseline = _handler(count)
    print(f"{'Sandbox.handle (baseline)':34} {baseline:9.0f} req/s  1.00")
    for name, run in [
        ("httpx + sandbox.transport()", _transport),
        ("httpx over sandbox.serve()", _http),
        ("official SDK over sandbox.serve()", _sdk),
    ]:
        rate = run(count)
        print(f"{name:34} {rate:9.0f} req/s  {rate / baseline:.2f}")
    ok, throttled, seconds = _scaled_window()
    print(
        f"time_scale=60: {ok} get_accounts (15/min) with {throttled} 429s in {seconds:.2f} s "
        "(Klaviyo's pace: 60 s)"
    )


if __name__ == "__main__":
    main()
