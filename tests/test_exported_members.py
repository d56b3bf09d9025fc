"""Every package's ``__all__`` is sorted, complete and importable."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = [
    "klaviyo_kit",
    "klaviyo_kit.client",
    "klaviyo_kit.errors",
    "klaviyo_kit.health",
    "klaviyo_kit.infra",
    "klaviyo_kit.operations",
    "klaviyo_kit.resilience",
    "klaviyo_kit.sandbox",
    "klaviyo_kit.sdk",
    "klaviyo_kit.services",
    "klaviyo_kit.webhooks",
    "klaviyo_kit.webhooks.handlers",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_unique_and_resolves(name):
    module = importlib.import_module(name)
    exported = module.__all__
    assert len(set(exported)) == len(exported)  # ruff's RUF022 keeps the order sorted
    for attr in exported:
        assert hasattr(module, attr), f"{name}.{attr} is in __all__ but missing"


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_class_and_function_is_exported(name):
    module = importlib.import_module(name)
    public = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and callable(value)
        and getattr(value, "__module__", "").startswith("klaviyo_kit")
    }
    assert public <= set(module.__all__)
