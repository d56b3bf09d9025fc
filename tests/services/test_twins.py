"""Each async service is a true twin: the same public methods with the same parameters."""

from __future__ import annotations

import inspect

import pytest

from klaviyo_kit import services

PAIRS = [
    (services.Profiles, services.AsyncProfiles),
    (services.Events, services.AsyncEvents),
    (services.Lists, services.AsyncLists),
    (services.Segments, services.AsyncSegments),
    (services.Campaigns, services.AsyncCampaigns),
    (services.Metrics, services.AsyncMetrics),
]


def public(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


def parameters(function: object) -> list[tuple[str, object, object]]:
    signature = inspect.signature(function)  # type: ignore[arg-type]
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


@pytest.mark.parametrize(("sync", "twin"), PAIRS, ids=[s.__name__ for s, _ in PAIRS])
def test_the_async_twin_has_the_same_methods_and_parameters(sync: type, twin: type):
    assert public(sync) == public(twin)
    for name in sorted(public(sync)):
        assert parameters(getattr(sync, name)) == parameters(getattr(twin, name)), name
