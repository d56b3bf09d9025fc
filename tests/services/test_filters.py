from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from klaviyo_kit.services.filters import (
    and_,
    any_,
    contains,
    equals,
    greater_than,
    less_than,
    quote,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ada@example.com", '"ada@example.com"'),
        ('o"brien@example.com', '"o\\"brien@example.com"'),
        ("back\\slash@example.com", '"back\\\\slash@example.com"'),
        ("zoë@exämple.com", '"zoë@exämple.com"'),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (2.5, "2.5"),
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc), "2026-01-02T03:04:05+00:00"),
        (datetime(2026, 1, 2, 3, 4, 5), "2026-01-02T03:04:05+00:00"),  # noqa: DTZ001
        (date(2026, 1, 2), "2026-01-02"),
        (["a", 'b"c'], '["a","b\\"c"]'),
    ],
)
def test_quote(value, expected):
    assert quote(value) == expected


def test_quote_rejects_other_types():
    with pytest.raises(TypeError, match="dict"):
        quote({"a": 1})


def test_builders():
    since = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert equals("email", "a@b.co") == 'equals(email,"a@b.co")'
    assert any_("id", ["1", "2"]) == 'any(id,["1","2"])'
    assert contains("name", "Sale") == 'contains(name,"Sale")'
    assert greater_than("updated", since) == "greater-than(updated,2026-01-01T00:00:00+00:00)"
    assert less_than("datetime", since) == "less-than(datetime,2026-01-01T00:00:00+00:00)"
    assert and_(equals("a", 1)) == "equals(a,1)"
    assert and_(equals("a", 1), equals("b", 2)) == "and(equals(a,1),equals(b,2))"


def test_field_names_are_checked():
    with pytest.raises(ValueError, match="field name"):
        equals('email,"x"),equals(id', "y")
    with pytest.raises(ValueError, match="at least one"):
        and_()
