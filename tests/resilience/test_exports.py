from __future__ import annotations

import inspect

from klaviyo_kit import resilience


def test_all_is_sorted_and_lists_every_public_name():
    public = {n for n in vars(resilience) if not n.startswith("_") and n != "annotations"}
    assert resilience.__all__ == sorted(resilience.__all__)
    assert set(resilience.__all__) == public


def test_public_classes_and_functions_present_themselves_as_the_package():
    for name in resilience.__all__:
        obj = getattr(resilience, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__module__ == "klaviyo_kit.resilience", name
