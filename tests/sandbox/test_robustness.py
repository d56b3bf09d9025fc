"""Malformed bodies get JSON:API 4xx answers, never a 500: valid bodies, one node at a time broken."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest

from klaviyo_kit.sandbox import Sandbox

HEADERS = {"Authorization": "Klaviyo-API-Key pk_" + "x" * 34, "revision": "2026-10-15"}
ODD_VALUES: list[Any] = [None, True, -1, 1.5, "", "x", "2026-13-01", [], [None], [1], {}, [{}]]


def profile(email: str = "a@b.co") -> dict[str, Any]:
    return {"type": "profile", "attributes": {"email": email}}


def metric(name: str = "M") -> dict[str, Any]:
    return {"data": {"type": "metric", "attributes": {"name": name}}}


def consent(kind: str, value: str) -> dict[str, Any]:
    subs = {"email": {"marketing": {"consent": value}}}
    entry = {"type": "profile", "attributes": {"email": "a@b.co", "subscriptions": subs}}
    return {"data": {"type": kind, "attributes": {"profiles": {"data": [entry]}}}}


def emails(kind: str) -> dict[str, Any]:
    entry = {"type": "profile", "attributes": {"email": "a@b.co"}}
    return {"data": {"type": kind, "attributes": {"profiles": {"data": [entry]}}}}


EVENT = {
    "type": "event",
    "attributes": {
        "properties": {"a": 1},
        "time": "2026-01-01T00:00:00Z",
        "value": 3,
        "unique_id": "u",
        "metric": metric(),
        "profile": {"data": profile()},
    },
}
SAMPLES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/api/profiles", {"data": profile()}),
    ("POST", "/api/profile-import", {"data": profile()}),
    (
        "PATCH",
        "/api/profiles/{profile}",
        {
            "data": {
                "type": "profile",
                "id": "{profile}",
                "attributes": {"first_name": "x"},
                "meta": {"patch_properties": {"unset": ["a"]}},
            }
        },
    ),
    ("POST", "/api/events", {"data": EVENT}),
    (
        "POST",
        "/api/event-bulk-create-jobs",
        {
            "data": {
                "type": "event-bulk-create-job",
                "attributes": {
                    "events-bulk-create": {
                        "data": [
                            {
                                "type": "event-bulk-create",
                                "attributes": {
                                    "profile": {"data": profile()},
                                    "events": {
                                        "data": [
                                            {
                                                "type": "event",
                                                "attributes": {
                                                    "properties": {},
                                                    "metric": metric(),
                                                },
                                            }
                                        ]
                                    },
                                },
                            }
                        ]
                    }
                },
            }
        },
    ),
    (
        "POST",
        "/api/lists",
        {"data": {"type": "list", "attributes": {"name": "L", "opt_in_process": "single_opt_in"}}},
    ),
    (
        "POST",
        "/api/lists/{list}/relationships/profiles",
        {"data": [{"type": "profile", "id": "{profile}"}]},
    ),
    (
        "POST",
        "/api/metric-aggregates",
        {
            "data": {
                "type": "metric-aggregate",
                "attributes": {
                    "metric_id": "{metric}",
                    "measurements": ["count"],
                    "interval": "day",
                    "by": ["x"],
                    "filter": [
                        "greater-or-equal(datetime,2026-01-01T00:00:00)",
                        "less-than(datetime,2026-01-03T00:00:00)",
                    ],
                },
            }
        },
    ),
    (
        "POST",
        "/api/templates",
        {
            "data": {
                "type": "template",
                "attributes": {"name": "T", "editor_type": "CODE", "html": "<p/>"},
            }
        },
    ),
    (
        "POST",
        "/api/campaigns",
        {
            "data": {
                "type": "campaign",
                "attributes": {
                    "definition": {"name": "C"},
                    "audiences": [{"temporary_id": "a", "included": ["{list}"]}],
                    "messages": [
                        {
                            "audience_temporary_id": "a",
                            "variations": [{"definition": {"details": {"subject": "s"}}}],
                        }
                    ],
                },
            }
        },
    ),
    (
        "POST",
        "/api/campaign-message-assign-template",
        {
            "data": {
                "type": "campaign-message",
                "id": "{message}",
                "relationships": {"template": {"data": {"type": "template", "id": "{template}"}}},
            }
        },
    ),
    (
        "POST",
        "/api/campaign-send-jobs",
        {"data": {"type": "campaign-send-job", "id": "{campaign}"}},
    ),
    (
        "POST",
        "/api/profile-bulk-import-jobs",
        {
            "data": {
                "type": "profile-bulk-import-job",
                "attributes": {"profiles": {"data": [profile()]}},
                "relationships": {"lists": {"data": [{"type": "list", "id": "{list}"}]}},
            }
        },
    ),
    (
        "POST",
        "/api/profile-subscription-bulk-create-jobs",
        consent("profile-subscription-bulk-create-job", "SUBSCRIBED"),
    ),
    (
        "POST",
        "/api/profile-subscription-bulk-delete-jobs",
        consent("profile-subscription-bulk-delete-job", "UNSUBSCRIBED"),
    ),
    (
        "POST",
        "/api/profile-suppression-bulk-create-jobs",
        emails("profile-suppression-bulk-create-job"),
    ),
    (
        "POST",
        "/api/profile-suppression-bulk-delete-jobs",
        emails("profile-suppression-bulk-delete-job"),
    ),
    (
        "POST",
        "/api/webhooks",
        {
            "data": {
                "type": "webhook",
                "attributes": {"name": "w", "endpoint_url": "https://x.y/h", "secret_key": "s"},
                "relationships": {
                    "webhook-topics": {
                        "data": [{"type": "webhook-topic", "id": "event:klaviyo.opened_email"}]
                    }
                },
            }
        },
    ),
]


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


def replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copied = copy.deepcopy(document)
    parent = copied
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return copied


def seeded_account() -> tuple[Sandbox, dict[str, str]]:
    sandbox = Sandbox(seed=1, rate_limits=False)

    def post(path: str, body: dict[str, Any]) -> Any:
        response = sandbox.handle("POST", path, headers=HEADERS, body=json.dumps(body).encode())
        assert response.status < 300, response.body
        return json.loads(response.body) if response.body else None

    ids = {"profile": post("/api/profiles", {"data": profile("seed@b.co")})["data"]["id"]}
    ids["list"] = post("/api/lists", {"data": {"type": "list", "attributes": {"name": "L"}}})[
        "data"
    ]["id"]
    post("/api/events", {"data": EVENT})
    ids["metric"] = next(iter(sandbox.account.metrics))
    ids["template"] = post("/api/templates", SAMPLES[8][2])["data"]["id"]
    campaign = json.loads(json.dumps(SAMPLES[9][2]).replace("{list}", ids["list"]))
    ids["campaign"] = post("/api/campaigns", campaign)["data"]["id"]
    ids["message"] = sandbox.account.campaigns[ids["campaign"]].extra["messages"][0]
    return sandbox, ids


@pytest.mark.parametrize("seed", range(4))
def test_broken_bodies_never_answer_500(seed):
    rng = random.Random(seed)  # noqa: S311 - reproducible mutations, not secrets
    sandbox, ids = seeded_account()
    for _ in range(150):
        method, path, body = rng.choice(SAMPLES)
        text = json.dumps(body)
        for name, value in ids.items():
            text, path = text.replace(f"{{{name}}}", value), path.replace(f"{{{name}}}", value)
        document = json.loads(text)
        broken = replaced(document, rng.choice(paths(document)), rng.choice(ODD_VALUES))
        response = sandbox.handle(method, path, headers=HEADERS, body=json.dumps(broken).encode())
        assert response.status < 500, (method, path, broken, response.body)


def test_a_bad_entry_in_a_bulk_event_job_stores_nothing():
    sandbox = Sandbox(seed=1, rate_limits=False)
    good = {"type": "event", "attributes": {"properties": {}, "metric": metric()}}
    bad = {"type": "event", "attributes": {"properties": {}, "metric": metric(""), "value": 1}}
    entries = [
        {
            "type": "event-bulk-create",
            "attributes": {"profile": {"data": profile(e)}, "events": {"data": events}},
        }
        for e, events in [("a@b.co", [good]), ("c@d.co", [good, bad])]
    ]
    body = {
        "data": {
            "type": "event-bulk-create-job",
            "attributes": {"events-bulk-create": {"data": entries}},
        }
    }
    response = sandbox.handle(
        "POST", "/api/event-bulk-create-jobs", headers=HEADERS, body=json.dumps(body).encode()
    )
    assert response.status == 400
    pointer = json.loads(response.body)["errors"][0]["source"]["pointer"]
    assert pointer == (
        "/data/attributes/events-bulk-create/data/1/attributes/events/data/1/attributes"
        "/metric/data/attributes/name"
    )
    assert sandbox.account.events == {}
    assert sandbox.account.profiles == {}
