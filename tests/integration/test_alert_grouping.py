"""Alerts grouped per patient: one patient's repeated findings reach the care team as one alert."""

from __future__ import annotations

from bot.ui.presenters import reason_text
from bot.ui.texts import t
from devtools.simulation import Simulation
from fake_telegram.core import FakeMessage
from tests.integration.test_care_loop import (
    PATIENT,
    WITHHELD,
    alerts,
    enroll,
    escalations,
    invite,
    settle,
)
from tests.support.harness import DOCTOR, NURSE

OPIOIDS = "they gave me oxycodone at the dentist"


def alert_id(alert: FakeMessage) -> str:
    """The escalation an alert message is about, from its Acknowledge button."""
    return alert.button_data(t("button_decide_ack")).split(":")[2]


async def test_the_same_red_flag_thirty_times_is_one_alert_per_chat_edited_with_what_is_new(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care), first_dose_taken=True)

    replies = [(await care.say(user, OPIOIDS)).text for _ in range(30)]

    # The safety stop is applied, and said, every time: only the care team's alert is folded.
    assert replies == [WITHHELD] * 30
    [escalation] = await escalations(care)
    assert escalation.folded == 29
    assert escalation.words is not None and escalation.words.count(OPIOIDS) == 30
    assert escalation.latest is not None
    new = t(
        "alert_new",
        at=f"{care.clock.now():%H:%M} UTC",
        count=30,
        reasons="; ".join(reason_text(c, e) for c, e in escalation.latest["reasons"]),
    )
    for chat in (DOCTOR, NURSE):
        [alert] = alerts(care, chat)
        assert alert.edited
        assert new in (alert.text or "")
        assert t("alert_new_words", words=OPIOIDS) in (alert.text or "")


async def test_a_folded_alert_is_raised_again_as_one_and_a_higher_tier_starts_its_own(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care), first_dose_taken=True)
    for _ in range(3):
        await care.say(user, OPIOIDS)

    # Unacknowledged, it is sent again after 30 minutes: the one alert, not one per message.
    await settle(care, 31)
    for chat in (DOCTOR, NURSE):
        sent = alerts(care, chat)
        assert len(sent) == 2
        assert {alert_id(a) for a in sent} == {alert_id(sent[0])}
        assert t("alert_again", round=2) in (sent[-1].text or "")

    # An emergency is more than the open urgent alert: its own alert, at once.
    await care.say(user, "I want to kill myself")
    for chat in (DOCTOR, NURSE):
        newest = alerts(care, chat)[-1]
        assert newest.text is not None and newest.text.startswith(t("tier_emergency"))
        assert alert_id(newest) != alert_id(alerts(care, chat)[0])
    assert [e.tier for e in await escalations(care)] == ["urgent", "emergency"]

    # A lower finding then joins the newest alert it does not outrank that already names its
    # reason (a stop for a reason an alert lacks never rides on it): no third alert.
    await care.say(user, OPIOIDS)
    urgent, emergency = await escalations(care)
    assert (urgent.folded, emergency.folded) == (3, 0)


async def test_a_finding_after_an_acknowledgement_is_an_alert_of_its_own_not_a_silent_edit(
    care: Simulation,
) -> None:
    user = care.telegram.user(PATIENT)
    await enroll(care, user, await invite(care), first_dose_taken=True)
    await care.say(user, OPIOIDS)
    doctor = care.telegram.user(DOCTOR)
    [first] = alerts(care, DOCTOR)
    first_id = alert_id(first)
    await care.tap(doctor, first, t("button_decide_ack"))

    # "I'm on it" was said about the first words; what comes after must be heard, not edited in.
    await care.say(user, "I took another oxycodone an hour ago")
    sent = alerts(care, DOCTOR)
    assert len(sent) == 2 and alert_id(sent[1]) != first_id
    assert [e.folded or 0 for e in await escalations(care)] == [0, 0]
