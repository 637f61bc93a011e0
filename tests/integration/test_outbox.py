"""The outbox: one retry policy with jitter, and alerts parked while nobody can receive them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select

from bot.app.settings import Settings
from bot.delivery.notifier import BACKOFF_SECONDS, FLOOD, PACED, MaybeSent, TryLater, Unreachable
from bot.delivery.outbox import JITTER, REFUSED_FACTOR, retry_delay
from devtools.simulation import VirtualClock, running
from fake_telegram.core import FakeTelegram
from storage.db import Database
from storage.models import Escalation
from tests.conftest import ADMIN, DOCTOR, NURSE
from tests.integration.test_care_loop import PATIENT, alerts, enroll, invite, settle

OPIOIDS = "they gave me oxycodone at the dentist"


# The one retry policy


@pytest.mark.parametrize(
    ("exc", "base"),
    [
        (TryLater(15, "timed out"), 15.0),  # the network's backoff, as the notifier chose it
        (Unreachable("Forbidden"), float(BACKOFF_SECONDS[2])),  # one alert chat of several
        (MaybeSent(), float(BACKOFF_SECONDS[2])),  # a check-in asks again
        (ValueError("Bad Request: can't parse entities"), float(BACKOFF_SECONDS[2] * 4)),
    ],
)
def test_retry_delays_carry_jitter_within_bounds(exc: Exception, base: float) -> None:
    delays = [retry_delay(exc, 2, f"dose {row}") for row in range(200)]
    # Never sooner than the backoff, at most JITTER later: never a retry storm, never a lost row.
    assert all(base <= d <= base * (1 + JITTER) for d in delays)
    # Rows that failed together come back spread out, not in the same second.
    assert max(delays) - min(delays) > base * JITTER / 2
    assert len(set(delays)) > 150
    # The same row's same try waits the same: a simulation replays the same moments.
    assert retry_delay(exc, 2, "dose 7") == retry_delay(exc, 2, "dose 7")


def test_a_wait_telegram_asked_for_is_kept_to_the_second() -> None:
    for row in range(50):
        assert retry_delay(TryLater(301, FLOOD), 0, f"dose {row}") == 301
        assert retry_delay(TryLater(2.5, PACED), 3, f"alert {row}") == 2.5


def test_alerts_and_check_ins_wait_no_more_than_the_backoff_whatever_failed() -> None:
    """A refused request waits longer for a reminder; never for an alert or a check-in."""
    for n in range(8):
        base = BACKOFF_SECONDS[min(n, len(BACKOFF_SECONDS) - 1)]
        for exc in (ValueError("Bad Request"), MaybeSent(), Unreachable("Forbidden")):
            delay = retry_delay(exc, n, f"alert {n}", refused_factor=1)
            assert base <= delay <= base * (1 + JITTER)


def test_the_backoff_grows_with_each_try_and_stops_growing() -> None:
    refused = [retry_delay(ValueError(), n, "notice 1") for n in range(8)]
    for n, delay in enumerate(refused):
        base = BACKOFF_SECONDS[min(n, len(BACKOFF_SECONDS) - 1)] * REFUSED_FACTOR
        assert base <= delay <= base * (1 + JITTER)


# Alerts with nobody to receive them


async def stored(db: Database) -> list[Escalation]:
    async with db.session() as session:
        rows = await session.execute(select(Escalation).order_by(Escalation.id))
        return list(rows.scalars())


def counting(calls: list[int], deliver: Callable[[int], Awaitable[None]]) -> Callable:
    async def deliver_counted(escalation_id: int) -> None:
        calls.append(escalation_id)
        await deliver(escalation_id)

    return deliver_counted


async def test_an_alert_with_nobody_to_receive_it_is_parked_and_goes_out_once_a_team_is_set(
    care_settings: Settings, clock: VirtualClock, db: Database
) -> None:
    telegram = FakeTelegram(clock=clock.now)
    for user_id in (DOCTOR, NURSE, ADMIN):
        telegram.user(user_id).send("/start")
    # A trial without a care team: providers may invite, but no chat or admin hears alerts.
    alone = care_settings.model_copy(
        update={"provider_chat_ids": (), "admin_user_ids": (), "allow_no_care_team": True}
    )
    user = telegram.user(PATIENT)
    async with running(alone, clock, telegram) as care:
        await enroll(care, user, await invite(care), first_dose_taken=True)
        await care.say(user, OPIOIDS)
        await settle(care)
        [parked] = await stored(db)
        assert parked.tier == "urgent" and parked.status == "open"
        assert parked.next_action_at is None and parked.rounds == 0 and parked.attempts == 0

        # Hours of rounds (a night's reminders among them) never touch it.
        calls: list[int] = []
        care.services.alerts.deliver = counting(calls, care.services.alerts.deliver)  # type: ignore[method-assign]
        await settle(care, 6 * 60)
        assert calls == []
        [row] = await stored(db)
        assert (row.next_action_at, row.rounds, row.attempts) == (None, 0, 0)
        assert all(alerts(care, chat) == [] for chat in (DOCTOR, NURSE, ADMIN))

    # Restarted with the chats set: the alert goes out, once to each.
    async with running(care_settings, clock, telegram) as care:
        await settle(care)
        assert len(alerts(care, DOCTOR)) == 1 and len(alerts(care, NURSE)) == 1
        [row] = await stored(db)
        assert row.rounds == 1 and row.next_action_at is not None  # raised again, as urgent is


async def test_an_alert_no_admin_can_receive_is_parked_until_an_admin_opens_the_bot(
    care_settings: Settings, clock: VirtualClock, db: Database
) -> None:
    telegram = FakeTelegram(clock=clock.now)
    for user_id in (DOCTOR, NURSE):
        telegram.user(user_id).send("/start")
    # No provider chat; the one admin never opened the bot, so Telegram finds no chat to write.
    admins_only = care_settings.model_copy(update={"provider_chat_ids": ()})
    user = telegram.user(PATIENT)
    async with running(admins_only, clock, telegram) as care:
        await enroll(care, user, await invite(care), first_dose_taken=True)
        await care.say(user, OPIOIDS)
        await settle(care)
        [parked] = await stored(db)
        assert parked.next_action_at is None and parked.rounds == 0

        calls: list[int] = []
        deliver = care.services.alerts.deliver
        care.services.alerts.deliver = counting(calls, deliver)  # type: ignore[method-assign]
        await settle(care, 3 * 60)
        assert calls == []  # not polled: nobody it could go to has been heard from

        # The admin opens the bot: the alert reaches them at once, once.
        telegram.user(ADMIN).send("/start")
        await care.deliver()
        await care.services.alerts.settle()
        assert calls == [parked.id]
        assert len(alerts(care, ADMIN)) == 1
        [row] = await stored(db)
        assert row.rounds == 1 and row.next_action_at is not None
