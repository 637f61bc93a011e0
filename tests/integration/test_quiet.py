"""Quiet under hostile input: strangers, groups, stale presses and users who block the bot.

Through the real Application (fake Telegram, real database, virtual clock): a blocked user is an
expected state (marked, one INFO line), a stale press never costs a request Telegram would refuse,
and in a group the bot does not serve it says nothing at all.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.app.settings import Settings
from bot.rules.timing import local_today
from bot.ui.texts import t
from devtools.simulation import Simulation, VirtualClock, running
from fake_telegram.core import BLOCKED, FakeTelegram, FakeUser
from storage.db import Database
from tests.integration.test_care_loop import enroll as enroll_invited
from tests.integration.test_care_loop import invite
from tests.integration.test_commands import enroll
from tests.support.harness import ADMIN, DOCTOR, NURSE, STRANGER, patient_of


@pytest.fixture
async def patient(harness: Simulation) -> FakeUser:
    user = harness.telegram.user(4242)
    await enroll(harness, user)
    return user


GROUP, PATIENTS = -100777, (7101, 7102, 7103, 7104)


async def test_a_hostile_mix_logs_no_error_refuses_nothing_and_says_nothing_in_groups(
    care_settings: Settings, clock: VirtualClock, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Strangers, forged and double presses, stickers, edits, users blocking mid-chat, a group."""
    caplog.set_level(logging.INFO)
    telegram = FakeTelegram(clock=clock.now)
    for user_id in (DOCTOR, NURSE, ADMIN):
        telegram.user(user_id, first_name=f"Staff {user_id}").send("/start")
    async with running(care_settings, clock, telegram) as sim:
        await sim.deliver()
        await _hostile_mix(sim)

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [f"{r.name}: {r.getMessage()}" for r in errors]
    # A reply to a user who blocked the bot a moment before cannot be helped: Telegram refuses
    # it, and then the bot knows. Nothing else may be refused.
    refused = [c for c in telegram.client_errors() if c.status != 403]
    assert refused == [], [(c.method, c.status, c.body) for c in refused]
    blocked_sends = [c for c in telegram.client_errors() if c.status == 403]
    assert len(blocked_sends) <= BLOCKS, "the bot kept writing to a user who blocked it"
    assert len(telegram.messages(GROUP)) == 0, "the bot spoke in a group it does not serve"
    assert all(q["answered"] for q in telegram._queries.values()), "a press was left spinning"


BLOCKS = 40


async def _hostile_mix(sim: Simulation) -> None:
    rng, blocks = random.Random(9), 0
    users = []
    for index, user_id in enumerate(PATIENTS):
        user = sim.telegram.user(user_id)
        await enroll_invited(sim, user, await invite(sim, f"HX-{index}"))
        users.append(user)
    group = sim.telegram.group(GROUP, "Somebody's group")
    stranger = sim.telegram.user(STRANGER)
    outsiders = [stranger, sim.telegram.user(DOCTOR), sim.telegram.user(NURSE)]

    for round_ in range(300):
        user = rng.choice(users)
        roll = rng.random()
        if user.blocked:
            user.unblock()
        elif roll < 0.12 and blocks < BLOCKS:
            # A message, then the user blocks the bot before it answers.
            blocks += 1
            user.send(rng.choice(["hello", "I feel dizzy", "/today", "thanks"]))
            user.block()
        elif roll < 0.30:
            # A double tap: two presses queued on one button before the bot sees either.
            message = next((m for m in reversed(user.messages()) if m.buttons()), None)
            if message is not None:
                data = message.button_data(message.buttons()[0])
                user.forge_press(message.message_id, data)
                user.forge_press(message.message_id, data)
        elif roll < 0.40:
            user.forge_press(
                rng.randint(1, 50), rng.choice(["v1:dose:²:t", f"v1:dec:{2**40}:hold"])
            )
        elif roll < 0.48:
            user.send_sticker()
        elif roll < 0.55:
            sent = user.send("I forgot")
            user.edit(sent, "I forgot my dose")
        elif roll < 0.62:
            stranger.send(rng.choice(["/start", "/start bogus", "hi", "/patients"]))
        elif roll < 0.80:
            member = rng.choice(outsiders).in_group(group)
            member.send(
                rng.choice(
                    ["/invite AB-1 builtin-1.5", "/patients", "/today", "/start", "hello bot"]
                )
            )
        elif roll < 0.90:
            rng.choice(outsiders).in_group(group).forge_press(
                rng.randint(1, 9), rng.choice(["v1:dec:1:hold", "v1:rep:1", "nonsense"])
            )
        else:
            await sim.say(user, "/settings")
        if round_ % 5 == 4:
            await sim.deliver()
    await sim.deliver()


async def test_a_reply_to_a_user_who_just_blocked_the_bot_marks_them_with_one_info_line(
    harness: Simulation,
    patient: FakeUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    patient.send("/today")
    # The user blocks the bot before it answers; the my_chat_member update is still on its way.
    harness.telegram.fail("sendMessage", status=403, description=BLOCKED, chat_id=patient.id)
    await harness.deliver()

    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert not any(r.exc_info for r in caplog.records)
    row = await patient_of(harness, patient)
    assert row is not None and row.blocked_bot


async def test_a_double_tap_on_taken_sends_no_edit_telegram_would_refuse(
    harness: Simulation,
    patient: FakeUser,
) -> None:
    zone = ZoneInfo("America/New_York")
    night = local_today(harness.clock.now(), zone)
    await harness.run_until(datetime.combine(night, time(22, 45), zone))
    reminder = harness.reminders_to(patient)[-1]
    data = reminder.button_data(t("button_taken"))
    patient.forge_press(reminder.message_id, data)
    patient.forge_press(reminder.message_id, data)
    await harness.deliver()
    assert harness.telegram.client_errors() == []
    assert all(q["answered"] for q in harness.telegram._queries.values())
