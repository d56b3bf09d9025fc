"""Backends import their extras lazily and name the extra when it is missing."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest


def test_importing_infra_loads_no_optional_dependency():
    code = (
        "import sys, klaviyo_kit.infra as i; i.MemoryCache; i.MemoryQueue; i.MemoryStateStore;"
        "print(sorted(m for m in ('redis', 'sqlalchemy', 'klaviyo_api', 'openapi_client')"
        " if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    ("module", "missing", "extra"),
    [
        ("klaviyo_kit.infra._redis", "redis", "redis"),
        ("klaviyo_kit.infra._sql_schema", "sqlalchemy", "sql"),
    ],
)
def test_a_missing_extra_is_named(monkeypatch, module, missing, extra):
    monkeypatch.setitem(sys.modules, missing, None)
    monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.raises(ImportError, match=rf"pip install 'klaviyo-kit\[{extra}\]'"):
        importlib.import_module(module)


def test_lazy_names_resolve_and_unknown_names_fail():
    from klaviyo_kit import infra

    assert infra.RedisQueue.__module__ == "klaviyo_kit.infra"
    assert infra.SQLStateStore.__name__ == "SQLStateStore"
    with pytest.raises(AttributeError, match="NoSuchThing"):
        _ = infra.NoSuchThing


def test_public_names_are_exported_from_the_package():
    from klaviyo_kit import infra

    assert infra.__all__ == sorted(infra.__all__)
    for name in infra.__all__:
        value = getattr(infra, name)
        if isinstance(value, type) or inspect.isfunction(value):
            assert value.__module__ == "klaviyo_kit.infra", name
