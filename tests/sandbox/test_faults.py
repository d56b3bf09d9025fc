"""A seeded fault plan: the same faults in the same order on every run, in process and on wire."""

from __future__ import annotations

import httpx
import pytest

from klaviyo_kit.sandbox import Fault, FaultPlan, Sandbox

HEADERS = {"Authorization": "Klaviyo-API-Key pk_" + "x" * 34, "revision": "2026-10-15"}
PLAN = FaultPlan(
    seed=42,
    statuses={429: 0.05, 500: 0.05, 503: 0.05, 504: 0.05, 524: 0.05},
    cloudflare=0.05,
    drop=0.05,
    hang=0.05,
    latency=(0.0, 0.2),
)


def outcomes(plan: FaultPlan, count: int) -> tuple[list[str], list[float]]:
    slept: list[float] = []
    sandbox = Sandbox(faults=plan, rate_limits=False, sleep=slept.append)
    client = httpx.Client(transport=sandbox.transport(), base_url="http://s", headers=HEADERS)
    return [attempt(client) for _ in range(count)], slept


def attempt(client: httpx.Client) -> str:
    try:
        return str(client.get("/api/accounts").status_code)
    except httpx.HTTPError as error:
        return type(error).__name__


def test_a_seeded_plan_gives_the_same_faults_every_run():
    first, first_sleeps = outcomes(PLAN, 300)
    second, second_sleeps = outcomes(PLAN, 300)
    assert first == second
    assert first_sleeps == second_sleeps
    assert set(first) == {
        "200",
        "403",
        "429",
        "500",
        "503",
        "504",
        "524",
        "RemoteProtocolError",
        "ReadTimeout",
    }


def test_another_seed_gives_other_faults():
    first, _ = outcomes(PLAN, 100)
    other, _ = outcomes(FaultPlan(seed=43, statuses=PLAN.statuses, drop=0.05, hang=0.05), 100)
    assert first != other


def test_fault_bodies_look_like_klaviyo_and_cloudflare():
    sandbox = Sandbox(faults=FaultPlan(cloudflare=1.0))
    client = httpx.Client(transport=sandbox.transport(), base_url="http://s", headers=HEADERS)
    page = client.get("/api/accounts")
    assert page.status_code == 403
    assert page.headers["Content-Type"].startswith("text/html")
    assert page.headers["cf-mitigated"] == "challenge"
    sandbox.set_faults(FaultPlan(statuses={503: 1.0}))
    unavailable = client.get("/api/accounts")
    assert unavailable.json()["errors"][0]["status"] == 503
    sandbox.set_faults(FaultPlan(statuses={429: 1.0}))
    assert client.get("/api/accounts").headers["Retry-After"] == "1"
    sandbox.set_faults(None)
    assert client.get("/api/accounts").status_code == 200
    assert sandbox.faults_seen[-1] == Fault()


def test_an_in_process_hang_waits_for_the_read_timeout():
    slept: list[float] = []
    sandbox = Sandbox(faults=FaultPlan(hang=1.0), sleep=slept.append)
    client = httpx.Client(
        transport=sandbox.transport(), base_url="http://s", headers=HEADERS, timeout=7.5
    )
    with pytest.raises(httpx.ReadTimeout):
        client.get("/api/accounts")
    assert slept == [7.5]


def test_drops_and_hangs_over_http():
    sandbox = Sandbox(faults=FaultPlan(drop=1.0, hang_seconds=5.0))
    with sandbox.serve() as server, httpx.Client(base_url=server.url, headers=HEADERS) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/api/accounts")
        sandbox.set_faults(FaultPlan(hang=1.0, hang_seconds=5.0))
        with pytest.raises(httpx.ReadTimeout):
            client.get("/api/accounts", timeout=0.2)


def test_a_lost_answer_stores_the_request_then_drops_the_connection():
    sandbox = Sandbox(faults=FaultPlan(lost=1.0), rate_limits=False)
    body = {"data": {"type": "list", "attributes": {"name": "Lost answers"}}}
    c = httpx.Client(transport=sandbox.transport(), base_url="http://s", headers=HEADERS)
    with c, pytest.raises(httpx.RemoteProtocolError):
        c.post("/api/lists", json=body)
    with sandbox.serve() as server, httpx.Client(base_url=server.url, headers=HEADERS) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/api/lists", json={"data": {**body["data"], "attributes": {"name": "B"}}})
        sandbox.set_faults(None)
        names = [item["attributes"]["name"] for item in client.get("/api/lists").json()["data"]]
    assert sorted(names) == ["B", "Lost answers"]
    assert [fault.kind for fault in sandbox.faults_seen[:2]] == ["lost", "lost"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"statuses": {418: 0.1}},
        {"drop": -0.1},
        {"drop": 0.6, "hang": 0.6},
        {"lost": 0.5, "cloudflare": 0.6},
        {"latency": (2.0, 1.0)},
    ],
)
def test_impossible_plans_are_rejected(kwargs):
    with pytest.raises(ValueError, match=r"fault|latency"):
        FaultPlan(**kwargs)


def test_closing_the_server_drops_kept_alive_connections_too():
    sandbox = Sandbox(rate_limits=False)
    server = sandbox.serve()
    with httpx.Client(base_url=server.url, headers=HEADERS) as client:
        assert client.get("/api/accounts").status_code == 200
        server.close()
        with pytest.raises(httpx.TransportError):
            client.get("/api/accounts")
