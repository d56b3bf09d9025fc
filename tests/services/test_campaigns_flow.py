"""The campaign flows driven directly: polling backoff and content updates (I/O scripted)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from klaviyo_kit.services import Call, CampaignSendTimeoutError, run_flow
from klaviyo_kit.services._campaign_send import wait_flow
from klaviyo_kit.services._campaigns import _CampaignsLogic


def job(status: str) -> dict[str, object]:
    return {"data": {"type": "campaign-send-job", "id": "C1", "attributes": {"status": status}}}


class Script:
    """Answers SDK calls from a script and records them and the pauses."""

    def __init__(self, answers: Sequence[object]) -> None:
        self.answers = list(answers)
        self.calls: list[Call] = []
        self.sleeps: list[float] = []

    def execute(self, call: Call) -> object:
        self.calls.append(call)
        return self.answers.pop(0)


def test_backoff_doubles_up_to_the_cap():
    script = Script([job("queued")] * 7 + [job("complete")])
    result = run_flow(wait_flow("C1", 600, 1, 30), script.execute, script.sleeps.append)
    assert result.status == "complete"
    assert script.sleeps == [1, 2, 4, 8, 16, 30, 30]
    assert {c.method for c in script.calls} == {"get_campaign_send_job"}


def test_last_poll_happens_exactly_at_the_deadline():
    script = Script([job("processing")] * 10)
    with pytest.raises(CampaignSendTimeoutError) as info:
        run_flow(wait_flow("C1", 20, 1, 30), script.execute, script.sleeps.append)
    assert script.sleeps == [1, 2, 4, 8, 5]
    assert sum(script.sleeps) == 20
    assert len(script.calls) == 6
    assert str(info.value) == "campaign C1 was still 'processing' after 20 s (timeout 20 s)"


class SlowScript(Script):
    """Each poll takes ``seconds`` of (fake) wall time, as a throttled or retried request can."""

    def __init__(self, answers: Sequence[object], seconds: float) -> None:
        super().__init__(answers)
        self.now = 0.0
        self.seconds = seconds

    def clock(self) -> float:
        return self.now

    def execute(self, call: Call) -> object:
        self.now += self.seconds
        return super().execute(call)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_the_deadline_counts_the_time_polls_take_too():
    script = SlowScript([job("processing")] * 10, seconds=15)
    flow = wait_flow("C1", 20, 1, 30, clock=script.clock)
    with pytest.raises(CampaignSendTimeoutError) as info:
        run_flow(flow, script.execute, script.sleep)
    assert len(script.calls) == 2, "a second slow poll already passes the 20 s deadline"
    assert script.sleeps == [1]
    assert str(info.value) == "campaign C1 was still 'processing' after 31 s (timeout 20 s)"


def test_a_pause_never_outlasts_the_time_left():
    script = SlowScript([job("processing")] * 10, seconds=3)
    flow = wait_flow("C1", 20, 1, 30, clock=script.clock)
    with pytest.raises(CampaignSendTimeoutError):
        run_flow(flow, script.execute, script.sleep)
    # polls at 3, 7, 12, 19 s (pauses 1, 2, 4); then only 1 s is left, so the last pause is 1
    assert script.sleeps == [1, 2, 4, 1]
    assert script.now == 23


def test_set_content_updates_an_existing_variation():
    messages = {
        "data": [
            {
                "type": "campaign-message",
                "id": "M1",
                "relationships": {
                    "campaign-variations": {"data": [{"type": "campaign-variation", "id": "V1"}]}
                },
            }
        ]
    }
    script = Script([messages, None])
    flow = _CampaignsLogic()._content_flow("C1", {"subject": "Hi"})
    assert run_flow(flow, script.execute, script.sleeps.append) == "V1"
    first, update = script.calls
    assert (first.method, first.args) == ("get_messages_for_campaign", ("C1",))
    assert update.method == "update_campaign_variation"
    assert update.args == (
        "V1",
        {
            "data": {
                "type": "campaign-variation",
                "id": "V1",
                "attributes": {"definition": {"details": {"channel": "email", "subject": "Hi"}}},
            }
        },
    )


def test_a_campaign_without_messages_is_reported():
    script = Script([{"data": []}])
    flow = _CampaignsLogic()._template_flow("C1", "T1")
    with pytest.raises(ValueError, match="has no message"):
        run_flow(flow, script.execute, script.sleeps.append)
