"""A night's backlog through the real Application and the fake Telegram, its limits on (issue 11).

Telegram's limits are the fake's own: about 30 sends a second overall, 20 a minute per group. The
reminders go in the bulk lane, rounds back to back; an alert typed meanwhile goes ahead of them.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.app.settings import Settings
from bot.ui.texts import t
from devtools.simulation import Simulation
from fake_telegram.state import Call
from tests.integration.test_care_loop import alerts
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
