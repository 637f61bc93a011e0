"""The care team's daily digest (CARE_TEAM_DIGEST_AT), through the real stack on a virtual clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.app.settings import Settings
from bot.ui.texts_provider import PROVIDER_TEXTS
from devtools.simulation import Simulation, VirtualClock, running
from fake_telegram.core import FakeMessage, FakeTelegram
from storage.db import Database
from storage.models import Digest
from tests.integration.test_care_loop import PATIENT, enroll, invite, report
from tests.support.harness import ADMIN, DOCTOR, NURSE

NEW_YORK = ZoneInfo("America/New_York")
HEADER = PROVIDER_TEXTS["digest_header"].split("{")[0]


def digests(telegram: FakeTelegram, chat_id: int) -> list[FakeMessage]:
    return [m for m in telegram.messages(chat_id) if (m.text or "").startswith(HEADER)]


def at_eight(day: int) -> datetime:
    """08:00 in New York on that day of March 2026, in UTC (EST before the 8th, EDT after)."""
    return datetime(2026, 3, day, 8, tzinfo=NEW_YORK).astimezone(UTC)


@pytest.fixture
def digesting(care_settings: Settings) -> Settings:
    """The care team's clinic, with a digest at 08:00 in New York."""
    return care_settings.model_copy(update={"care_team_digest_at": "08:00"})


def staffed(clock: VirtualClock) -> FakeTelegram:
    telegram = FakeTelegram(clock=clock.now)
    for user_id in (DOCTOR, NURSE, ADMIN):
        telegram.user(user_id).send("/start")
    return telegram


async def test_the_digest_comes_once_a_day_at_its_time_to_each_provider_chat_restarts_or_not(
    digesting: Settings, clock: VirtualClock, db: Database
) -> None:
    settings, telegram = digesting, staffed(clock)
    async with running(settings, clock, telegram) as care:
        await care.deliver()
        await care.run_until(at_eight(5) - timedelta(minutes=1))
        assert digests(telegram, DOCTOR) == []
        await care.run_until(at_eight(5) + timedelta(minutes=1))
        assert len(digests(telegram, DOCTOR)) == 1 and len(digests(telegram, NURSE)) == 1
        # Only the providers' chats: an admin has /stats.
        assert digests(telegram, ADMIN) == []
        await care.run_until(at_eight(6) - timedelta(minutes=5))
    # Stopped and started again, twice, just before and just after the next digest's time.
    async with running(settings, clock, telegram) as care:
        await care.run_until(at_eight(6) + timedelta(minutes=1))
    async with running(settings, clock, telegram) as care:
        await care.run_until(at_eight(6) + timedelta(hours=3))
        assert len(digests(telegram, DOCTOR)) == 2 and len(digests(telegram, NURSE)) == 2
        # Across the change to summer time (8 March): still 08:00 on the clinic's clock.
        await care.run_until(at_eight(9) + timedelta(minutes=1))
    sent = [datetime.fromtimestamp(m.date, UTC) for m in digests(telegram, DOCTOR)]
    assert [at.astimezone(NEW_YORK).strftime("%d %H:%M") for at in sent] == [
        "05 08:00",
        "06 08:00",
        "07 08:00",
        "08 08:00",
        "09 08:00",
    ]
    async with db.session() as session:
        rows = (await session.execute(select(Digest))).scalars().all()
    assert len(rows) == 2 * 5 + 2  # tomorrow's are planned already, one per chat


async def test_the_digest_names_new_patients_waiting_alerts_and_doses_not_taken(
    digesting: Settings, clock: VirtualClock, db: Database
) -> None:
    settings, telegram = digesting, staffed(clock)
    async with running(settings, clock, telegram) as care:
        await care.deliver()
        user = telegram.user(PATIENT)
        await enroll(care, user, await invite(care, label="AB-1"))
        await care.run_until(clock.now() + timedelta(minutes=1))  # plans Thursday's
        # The first night's reminder goes unanswered: missed.
        await care.run_until(at_eight(5) + timedelta(minutes=1))
        [digest] = digests(telegram, DOCTOR)
        assert digest.text is not None
        assert PROVIDER_TEXTS["digest_enrolled"].format(count=1, labels="AB-1") in digest.text
        assert PROVIDER_TEXTS["digest_waiting_none"] in digest.text
        assert PROVIDER_TEXTS["digest_low_line"].format(label="AB-1", percent="0%") in digest.text

        await report(care, user, grades={"stomach": "grade_3"})  # an urgent alert, not answered
        await care.run_until(at_eight(6) + timedelta(minutes=1))
        digest = digests(telegram, DOCTOR)[-1]
        assert digest.text is not None
        assert PROVIDER_TEXTS["digest_enrolled_none"] in digest.text
        waiting = PROVIDER_TEXTS["digest_waiting"].format(
            count=1, urgent=1, oldest=PROVIDER_TEXTS["cl_age_hours"].format(n=23)
        )
        assert waiting in digest.text


async def test_a_digest_of_a_day_gone_by_is_not_sent_late(
    digesting: Settings, clock: VirtualClock, db: Database
) -> None:
    settings, telegram = digesting, staffed(clock)
    async with running(settings, clock, telegram) as care:
        await care.deliver()
        await care.run_until(at_eight(5) - timedelta(minutes=1))  # plans Thursday's
        await care.run_until(at_eight(5) + timedelta(minutes=1))
    # The bot is down from Thursday morning to Sunday noon: Friday's digest is still planned.
    clock.advance(days=3, hours=4)
    async with running(settings, clock, telegram) as care:
        await care.run_until(clock.now() + timedelta(minutes=1))
        # Neither Friday's digest nor three at once: the next comes on Monday morning.
        assert len(digests(telegram, DOCTOR)) == 1
        await care.run_until(at_eight(9) + timedelta(minutes=1))
        assert len(digests(telegram, DOCTOR)) == 2


async def test_no_digest_unless_a_time_is_set(care: Simulation) -> None:
    assert care.services.settings.care_team_digest_at == ""
    await care.run_until(at_eight(6) + timedelta(minutes=1))
    assert digests(care.telegram, DOCTOR) == [] and digests(care.telegram, NURSE) == []
