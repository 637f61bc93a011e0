"""A night's backlog through the real Application and the fake Telegram, its limits on (issue 11).

Telegram's limits are the fake's own: about 30 sends a second overall, 20 a minute per group. The
reminders go in the bulk lane, rounds back to back; an alert typed meanwhile goes ahead of them.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.app.settings import Settings
from bot.delivery import answering as answering_module
from bot.ui.texts import t
from devtools.simulation import Simulation
from fake_telegram.state import Call
from tests.integration.test_care_loop import alerts
from tests.integration.test_reminders import TONIGHT, bedtime, enroll, night, reminders
from tests.support.harness import DOCTOR
from tests.support.seed import seed_patients

PATIENTS = 1000
FIRST = 70000


def reminder_sends(care: Simulation) -> list[Call]:
    taken = t("button_taken")
    return [
        c
        for c in care.telegram.calls("sendMessage")
        if c.ok and c.params.get("chat_id") != DOCTOR and taken in str(c.params.get("reply_markup"))
    ]


async def test_a_thousand_reminders_and_an_alert_typed_meanwhile_cause_no_429(
    care: Simulation, care_settings: Settings
) -> None:
    users = [care.telegram.user(FIRST + i, opened=True) for i in range(PATIENTS)]
    now = care.clock.now()
    await seed_patients(care.services.db, care_settings, [u.id for u in users], now)
    dispatcher = care.services.dispatcher
    before = len(care.telegram.requests)

    dispatcher.start(3600)  # one round, then the next at once while they come full
    try:
        for _ in range(600):  # at most a minute: about four seconds at the pace
            if len(reminder_sends(care)) >= 100:
                break
            await asyncio.sleep(0.1)
        typed_after = len(reminder_sends(care))
        await care.say(users[-1], "I want to kill myself")
        for _ in range(900):  # at most three minutes: about forty seconds at the pace
            if len(reminder_sends(care)) >= PATIENTS - 1 and not dispatcher.backlog:
                break
            await asyncio.sleep(0.2)
    finally:
        await dispatcher.stop()

    calls = care.telegram.requests[before:]
    assert [c for c in calls if c.status == 429] == []
    assert not dispatcher.backlog
    # Each reminder once.
    sent_to = [c.params["chat_id"] for c in reminder_sends(care)]
    assert len(sent_to) == len(set(sent_to)) >= PATIENTS - 1
    # The alert went ahead of the reminders still queued when it was typed: hundreds of them
    # went out after it, only the few under way went before.
    [alert] = alerts(care, DOCTOR)
    sends = [c for c in calls if c.method == "sendMessage" and c.ok]
    at = next(i for i, c in enumerate(sends) if c.params.get("chat_id") == DOCTOR)
    reminder_ids = {id(c) for c in reminder_sends(care)}
    reminders_before = len([c for c in sends[:at] if id(c) in reminder_ids])
    assert reminders_before - typed_after <= 50
    assert len(sent_to) - reminders_before >= PATIENTS // 2
    assert alert.date <= int((now + timedelta(minutes=1)).timestamp())
    assert care.telegram.client_errors() == []


async def test_a_reminder_due_while_the_bot_answers_someone_waits_for_the_answer(
    harness: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dispatcher makes way for answers under way (their CPU is the same event loop), then
    sends as soon as none is."""
    monkeypatch.setattr(answering_module, "MAKE_WAY_SECONDS", 30.0)
    user = harness.telegram.user(205)
    await enroll(harness, user)
    harness.clock.set(bedtime(TONIGHT))
    answering = harness.services.intake.answering
    answering.begin()  # an update being handled
    round_ = asyncio.create_task(harness.dispatch())
    await asyncio.sleep(0.2)
    assert reminders(user) == [] and not round_.done()
    # Not even claimed: its claim, its reading and its words wait too.
    assert (await night(harness, user, TONIGHT)).status == "scheduled"
    answering.end()
    await asyncio.wait_for(round_, 10)
    assert len(reminders(user)) == 1
