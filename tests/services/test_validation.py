from __future__ import annotations

import math

import pytest

from klaviyo_kit.errors import InvalidInputError
from klaviyo_kit.services import ProfileInput
from klaviyo_kit.services._inputs import coerce
from klaviyo_kit.services._validate import (
    check_email,
    check_json_value,
    check_name,
    check_number,
    check_phone,
)


@pytest.mark.parametrize(
    "email", ["ada@example.com", " ada@example.com ", 'o"brien@ex.com'.replace('"', "'")]
)
def test_good_emails(email):
    assert check_email(email) == email.strip()


@pytest.mark.parametrize("email", ["", "ada", "ada@", "@example.com", "a b@example.com", "a@b", 5])
def test_bad_emails_name_the_field(email):
    with pytest.raises(InvalidInputError) as info:
        check_email(email, "user.email")
    assert info.value.field == "user.email"
    assert str(info.value).startswith("user.email:")
    assert isinstance(info.value, ValueError)


def test_phone():
    assert check_phone("+15005550006") == "+15005550006"
    with pytest.raises(InvalidInputError, match=r"E\.164"):
        check_phone("555-0006")


def test_name():
    assert check_name(" Placed Order ", "metric") == "Placed Order"
    with pytest.raises(InvalidInputError, match="metric: must be a non-empty string"):
        check_name("  ", "metric")
    with pytest.raises(InvalidInputError, match="limit is 3"):
        check_name("abcd", "metric", max_length=3)


@pytest.mark.parametrize("value", ["12", None, True, math.inf, math.nan])
def test_number(value):
    with pytest.raises(InvalidInputError, match="value"):
        check_number(value, "value")


def test_json_value_limits():
    check_json_value({"a": [1, "x", {"b": None}]}, "properties")
    with pytest.raises(InvalidInputError, match=r"properties\.note: is 102401 bytes"):
        check_json_value({"note": "x" * (100 * 1024 + 1)}, "properties")
    with pytest.raises(InvalidInputError, match="limit is 4000"):
        check_json_value({"items": list(range(4001))}, "properties")
    deep: dict[str, object] = {}
    node = deep
    for _ in range(12):
        node["n"] = {}
        node = node["n"]  # type: ignore[assignment]
    with pytest.raises(InvalidInputError, match="nests deeper"):
        check_json_value(deep, "properties")
    with pytest.raises(InvalidInputError, match="not a JSON value"):
        check_json_value({"when": object()}, "properties")


def test_profile_input():
    attrs = ProfileInput(email="ada@example.com", properties={"plan": "pro"}).attributes()
    assert attrs == {"email": "ada@example.com", "properties": {"plan": "pro"}}
    with pytest.raises(InvalidInputError, match="needs at least one of email"):
        ProfileInput(first_name="Ada").attributes()
    with pytest.raises(InvalidInputError, match=r"profile: is .* bytes; the limit is 100 KB"):
        ProfileInput(
            email="a@b.co", properties={f"k{i}": "x" * 60_000 for i in range(2)}
        ).attributes()


def test_coerce_names_the_field():
    with pytest.raises(InvalidInputError) as info:
        coerce(ProfileInput, {"email": "not-an-email"}, "rows[7]")
    assert info.value.field == "rows[7].email"
    with pytest.raises(InvalidInputError) as info:
        coerce(ProfileInput, {"emial": "a@b.co"}, "profile")
    assert info.value.field == "profile.emial"
