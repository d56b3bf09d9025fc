from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from klaviyo_kit.webhooks import EventStatus, WebhookRouter, WebhookVerifier
from klaviyo_kit.webhooks.handlers import (
    CONSENT_TOPICS,
    ENGAGEMENT_TOPICS,
    SUPPRESSION_TOPICS,
    Channel,
    EngagementKind,
    SQLWebhookRepository,
    register_default_handlers,
)

T0 = datetime(2026, 9, 4, 12, 0, tzinfo=timezone.utc)
FIXED = datetime(2030, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", "postgres"])
def sql_store(request):
    return request.getfixturevalue(f"{request.param}_store")


@pytest.fixture
def wired(kit, sql_store):
    router = WebhookRouter(sql_store)
    repository = SQLWebhookRepository.from_store(sql_store)
    register_default_handlers(router, repository, clock=lambda: FIXED)
    verifier = WebhookVerifier(kit.secret, clock=kit.clock)

    def deliver(*events):
        delivery = kit.signed(*events)
        return router.dispatch(verifier.verify(delivery.body, delivery.headers))

    return deliver, repository


def topic(suffix: str) -> str:
    return f"event:klaviyo.{suffix}"


def test_consent_and_suppression_update_the_profile_record(kit, wired):
    deliver, repository = wired
    report = deliver(
        kit.event(topic("subscribed_to_email_marketing"), profile_id="P1", at=T0),
        kit.event(topic("unsubscribed_from_sms_marketing"), profile_id="P1", at=T0),
        kit.event(
            topic("manually_suppressed_from_email_marketing"),
            profile_id="P1",
            at=T0 + timedelta(minutes=1),
        ),
    )
    assert report.count(EventStatus.PROCESSED) == 3
    email = repository.get_channel_state("P1", Channel.EMAIL)
    assert email is not None
    assert (email.subscribed, email.consent_at, email.suppressed) == (True, T0, True)
    assert email.suppressed_at == T0 + timedelta(minutes=1)
    sms = repository.get_channel_state("P1", Channel.SMS)
    assert sms is not None
    assert (sms.subscribed, sms.suppressed) == (False, None)
    assert repository.get_channel_state("nobody", Channel.EMAIL) is None


def test_a_late_arriving_older_change_does_not_win(kit, wired):
    deliver, repository = wired
    deliver(
        kit.event(
            topic("unsubscribed_from_email_marketing"), profile_id="P2", at=T0 + timedelta(hours=1)
        )
    )
    deliver(kit.event(topic("subscribed_to_email_marketing"), profile_id="P2", at=T0))
    deliver(kit.event(topic("manually_unsuppressed_from_email_marketing"), profile_id="P2", at=T0))
    state = repository.get_channel_state("P2", Channel.EMAIL)
    assert state is not None
    assert (state.subscribed, state.consent_at) == (False, T0 + timedelta(hours=1))
    assert state.suppressed is False


def test_subscriptions_update_list_membership(kit, wired):
    deliver, repository = wired
    deliver(
        kit.event(
            topic("subscribed_to_email_marketing"),
            profile_id="P1",
            at=T0,
            properties={"list_id": "L1"},
        ),
        kit.event(
            topic("subscribed_to_email_marketing"),
            profile_id="P2",
            at=T0,
            properties={"$list": "L1"},
        ),
        kit.event(
            topic("subscribed_to_email_marketing"),
            profile_id="P1",
            at=T0,
            properties={"List ID": "L2"},
        ),
        kit.event(
            topic("subscribed_to_sms_marketing"), profile_id="P3", at=T0, properties={"list": "L1"}
        ),
        kit.event(topic("subscribed_to_email_marketing"), profile_id="P4", at=T0),
    )
    assert repository.list_members("L1") == {"P1", "P2"}
    assert repository.list_members("L1", Channel.SMS) == {"P3"}
    deliver(
        kit.event(
            topic("unsubscribed_from_email_marketing"),
            profile_id="P2",
            at=T0 + timedelta(minutes=1),
            properties={"list_id": "L1"},
        )
    )
    assert repository.list_members("L1") == {"P1"}
    # A global unsubscribe names no list: the profile leaves every list of the channel.
    deliver(
        kit.event(
            topic("unsubscribed_from_email_marketing"),
            profile_id="P1",
            at=T0 + timedelta(minutes=2),
        )
    )
    assert repository.list_members("L1") == frozenset()
    assert repository.list_members("L2") == frozenset()
    assert repository.list_members("L1", Channel.SMS) == {"P3"}


def test_engagement_is_counted_once_per_event_with_first_and_last_times(kit, wired):
    deliver, repository = wired
    opened_early = kit.event(topic("opened_email"), profile_id="P1", at=T0)
    delivery = [
        kit.event(topic("received_email"), profile_id="P1", at=T0),
        opened_early,
        kit.event(topic("opened_email"), profile_id="P1", at=T0 + timedelta(days=2)),
        kit.event(topic("clicked_email"), profile_id="P1", at=T0 + timedelta(days=1)),
        kit.event(topic("bounced_email"), profile_id="P2", at=T0),
        kit.event(topic("marked_email_as_spam"), profile_id="P2", at=T0),
        kit.event(topic("opened_push"), profile_id="P1", at=T0),
    ]
    deliver(*delivery)
    assert deliver(*delivery).replayed
    summary = repository.get_engagement("P1")
    assert summary.counts == {
        EngagementKind.RECEIVED: 1,
        EngagementKind.OPENED: 2,
        EngagementKind.CLICKED: 1,
    }
    assert summary.last_at[EngagementKind.OPENED] == T0 + timedelta(days=2)
    everyone = {s.profile_id: s for s in repository.iter_engagement()}
    assert set(everyone) == {"P1", "P2"}
    assert everyone["P2"].counts == {EngagementKind.BOUNCED: 1, EngagementKind.MARKED_SPAM: 1}
    assert repository.get_engagement("P1", Channel.PUSH).counts == {EngagementKind.OPENED: 1}
    assert repository.get_engagement("P9").counts == {}


def test_events_without_a_profile_or_a_time_are_handled_safely(kit, wired):
    deliver, repository = wired
    item = kit.event(topic("clicked_email"), profile_id="P5")
    payload = item["payload"]
    assert isinstance(payload, dict)
    payload["data"]["attributes"] = {}
    report = deliver(item, kit.event(topic("opened_email"), profile_id=None))
    assert report.count(EventStatus.PROCESSED) == 2
    assert repository.get_engagement("P5").last_at == {EngagementKind.CLICKED: FIXED}


def test_the_topic_tables_use_klaviyos_documented_topics():
    documented = {
        "received_email",
        "opened_email",
        "clicked_email",
        "bounced_email",
        "dropped_email",
        "marked_email_as_spam",
        "subscribed_to_email_marketing",
        "unsubscribed_from_email_marketing",
        "manually_suppressed_from_email_marketing",
        "manually_unsuppressed_from_email_marketing",
        "updated_email_preferences",
        "sent_sms",
        "received_sms",
        "clicked_sms",
        "failed_to_deliver_sms",
        "subscribed_to_sms_marketing",
        "unsubscribed_from_sms_marketing",
        "received_push",
        "opened_push",
        "bounced_push",
    }
    for table in (CONSENT_TOPICS, SUPPRESSION_TOPICS, ENGAGEMENT_TOPICS):
        for name in table:
            assert name.removeprefix("event:klaviyo.") in documented


def test_a_global_unsubscribe_wins_over_an_older_subscription_that_arrives_later(kit, wired):
    deliver, repository = wired
    # The global unsubscribe (no list named) happens last but is delivered first.
    deliver(
        kit.event(
            topic("unsubscribed_from_email_marketing"), profile_id="P6", at=T0 + timedelta(hours=1)
        )
    )
    deliver(
        kit.event(
            topic("subscribed_to_email_marketing"),
            profile_id="P6",
            at=T0,
            properties={"list_id": "L7"},
        )
    )
    assert repository.list_members("L7") == frozenset()
    # A subscription after the global unsubscribe counts again, on its own list only.
    deliver(
        kit.event(
            topic("subscribed_to_email_marketing"),
            profile_id="P6",
            at=T0 + timedelta(hours=2),
            properties={"list_id": "L8"},
        )
    )
    assert repository.list_members("L8") == {"P6"}
    assert repository.list_members("L7") == frozenset()
