from __future__ import annotations

from pathlib import Path

import klaviyo_api
import pytest

import klaviyo_kit
from klaviyo_kit._operations_gen import render_table
from klaviyo_kit.operations import (
    SDK_REVISION,
    Limits,
    all_operations,
    operation,
    operation_limits,
)

TABLE = Path(klaviyo_kit.__file__).parent / "_operations_table.py"


def test_shipped_table_matches_the_installed_sdk():
    assert TABLE.read_text(encoding="utf-8") == render_table(), (
        "the installed klaviyo-api disagrees with the shipped table: "
        "run python scripts/generate_operations.py"
    )


def test_revision_constant_matches_the_sdk():
    assert klaviyo_api.KlaviyoAPI._REVISION == SDK_REVISION


def test_every_public_sdk_operation_is_in_the_table():
    from openapi_client.api.profiles_api import ProfilesApi

    public = {
        n
        for n in vars(ProfilesApi)
        if not n.startswith("_") and not n.endswith(("_with_http_info", "_without_preload_content"))
    }
    assert public <= set(all_operations())


@pytest.mark.parametrize(
    ("name", "method", "path", "limits"),
    [
        ("get_profiles", "GET", "/api/profiles", Limits(75, 750)),
        ("create_event", "POST", "/api/events", Limits(350, 3500)),
        ("bulk_create_events", "POST", "/api/event-bulk-create-jobs", Limits(10, 150)),
        ("get_accounts", "GET", "/api/accounts", Limits(1, 15)),
        ("query_campaign_values", "POST", "/api/campaign-values-reports", Limits(1, 2)),
        ("add_profiles_to_list", "POST", "/api/lists/{id}/relationships/profiles", Limits(10, 150)),
    ],
)
def test_known_operations(name, method, path, limits):
    op = operation(name)
    assert (op.http_method, op.path, op.limits) == (method, path, limits)
    assert operation_limits(name) == limits


def test_alias_shares_the_canonical_bucket():
    alias = operation("spawn_bulk_profile_import_job")
    assert alias.alias_of == "bulk_import_profiles"
    assert alias.bucket == "bulk_import_profiles" == operation("bulk_import_profiles").bucket


def test_conditional_limits():
    op = operation("get_profiles")
    assert op.limits_for({}) == Limits(75, 750)
    assert op.limits_for({"additional_fields_profile": ["predictive_analytics"]}) == Limits(10, 150)
    assert op.limits_for({"additional_fields_profile": ["subscriptions"]}) == Limits(75, 750)
    profile = operation("get_profile")
    assert profile.limits_for({"include": ["list"]}) == Limits(1, 15)
    # The API's include values are plural; the docstring's singular names the same thing.
    assert profile.limits_for({"include": ["lists"]}) == Limits(1, 15)
    assert profile.limits_for({"include": ["segments", "push-tokens"]}) == Limits(1, 15)
    assert profile.limits_for({"include": ["push-tokens"]}) == Limits(75, 750)


def test_scopes_and_reads():
    op = operation("get_profiles")
    assert op.scopes == ("profiles:read",)
    assert op.is_read
    assert not operation("create_profile").is_read


def test_unknown_operation():
    with pytest.raises(KeyError, match="no_such_thing"):
        operation("no_such_thing")


def test_limits_reject_nonsense():
    with pytest.raises(ValueError, match="positive"):
        Limits(0, 10)
