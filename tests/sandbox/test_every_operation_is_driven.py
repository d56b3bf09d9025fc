"""Every operation the sandbox models is called through the official SDK by some test here."""

from __future__ import annotations

import re
from pathlib import Path

from klaviyo_kit.operations import operation
from klaviyo_kit.sandbox._handlers import HANDLERS

HERE = Path(__file__).parent


def test_each_modelled_operation_has_an_sdk_test():
    sources = "".join(p.read_text() for p in HERE.glob("test_sdk_*.py"))
    sources += (HERE / "test_webhooks.py").read_text()
    missing = [name for name in HANDLERS if not re.search(rf"\.{name}\(", sources)]
    assert missing == []


def test_handlers_are_keyed_by_canonical_operation_names():
    assert all(operation(name).alias_of is None for name in HANDLERS)
