from __future__ import annotations

import inspect

from klaviyo_kit import resilience


def test_all_is_sorted_and_lists_every_public_name():
    # isidentifier(): pytest's assertion rewriting (klaviyo_kit is a pytest plugin's
    # distribution) adds "@py_builtins" and "@pytest_ar" to the package's namespace.
    names = {n for n in vars(resilience) if n.isidentifier()}
    public = {n for n in names if not n.startswith("_") and n != "annotations"}
    assert resilience.__all__ == sorted(resilience.__all__)
    assert set(resilience.__all__) == public


def test_public_classes_and_functions_present_themselves_as_the_package():
    for name in resilience.__all__:
        obj = getattr(resilience, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__module__ == "klaviyo_kit.resilience", name
