"""Every public name is in the API reference (``::: klaviyo_kit.…`` in docs/)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PACKAGES = [
    "klaviyo_kit",
    "klaviyo_kit.client",
    "klaviyo_kit.config",
    "klaviyo_kit.errors",
    "klaviyo_kit.health",
    "klaviyo_kit.infra",
    "klaviyo_kit.jobs",
    "klaviyo_kit.operations",
    "klaviyo_kit.resilience",
    "klaviyo_kit.sandbox",
    "klaviyo_kit.sdk",
    "klaviyo_kit.sdk.types",
    "klaviyo_kit.services",
    "klaviyo_kit.services.filters",
    "klaviyo_kit.webhooks",
    "klaviyo_kit.webhooks.handlers",
]


def directives() -> set[str]:
    found: set[str] = set()
    for page in DOCS.rglob("*.md"):
        found.update(re.findall(r"^:::\s+([\w.]+)", page.read_text(encoding="utf-8"), re.MULTILINE))
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_is_documented(package):
    documented = directives()
    module = importlib.import_module(package)
    missing = []
    for name in getattr(module, "__all__", []):
        if name.startswith("__"):
            continue
        obj = getattr(module, name)
        home = getattr(obj, "__module__", None)
        candidates = {f"{package}.{name}", package, f"klaviyo_kit.{name}"}
        if isinstance(home, str):
            candidates |= {home, f"{home}.{name}"}
        if not candidates & documented:
            missing.append(name)
    assert missing == [], f"{package}: add to docs/reference: {missing}"
