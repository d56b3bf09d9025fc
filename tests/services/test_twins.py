"""Each async service is a true twin: the same public methods with the same parameters.

Closing is the one name that differs, as on the clients: ``close()`` and ``await aclose()``.
"""

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


TWIN_NAMES = {"aclose": "close"}


def public(cls: type) -> set[str]:
    names = {name for name in dir(cls) if not name.startswith("_")}
    return {TWIN_NAMES.get(name, name) for name in names}


def twin_of(twin: type, name: str) -> object:
    async_name = {v: k for k, v in TWIN_NAMES.items()}.get(name, name)
    return getattr(twin, async_name if hasattr(twin, async_name) else name)


def parameters(function: object) -> list[tuple[str, object, object]]:
    signature = inspect.signature(function)  # type: ignore[arg-type]
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


@pytest.mark.parametrize(("sync", "twin"), PAIRS, ids=[s.__name__ for s, _ in PAIRS])
def test_the_async_twin_has_the_same_methods_and_parameters(sync: type, twin: type):
    assert public(sync) == public(twin)
    for name in sorted(public(sync)):
        if isinstance(getattr(sync, name), property):
            assert isinstance(twin_of(twin, name), property), name
            continue
        assert parameters(getattr(sync, name)) == parameters(twin_of(twin, name)), name


def test_only_async_twins_close_with_aclose():
    for sync, twin in PAIRS:
        assert "aclose" not in dir(sync), sync.__name__
        if "close" in public(twin):
            assert hasattr(twin, "aclose"), twin.__name__
            assert not hasattr(twin, "close"), twin.__name__
