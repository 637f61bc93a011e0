"""Crashes while patients type and a night of reminders goes out: nothing lost (issue 9).

The real `python -m bot` process against the fake Bot API server, killed with SIGKILL again and
again and started again at once, as a crash-looping service would be. What the patients typed and
the nights that were due are then read back from the fake Telegram and from the database.
"""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from bot.rules.plans import BUILTIN_PLANS
from bot.rules.timing import local_today
from fake_telegram.core import FakeTelegram, FakeUser
from fake_telegram.server import FakeBotApiServer
from storage.db import Database
from storage.models import Dose, Escalation, Patient, Report
from tests.e2e.test_process import BotProcess, eventually, refused, reminders
from tests.support.harness import TOKEN

KILLS = 10
NIGHT = 200  # patients whose reminder is due as the test starts
TYPISTS = 50  # other patients, typing while the process is killed
FIRST_NIGHT, FIRST_TYPIST = 20_000, 30_000
RED_FLAGS = (
    "I want to kill myself",
    "my throat is swelling and I can't breathe",
    "I took oxycodone for my back tonight",
)
SCRIPTS = (
    ("/today", "thanks", "/plan"),
    ("I have a question about my capsules", "/help"),
    ("/plan", "is it normal to dream a lot?", "/today"),
)


def script(index: int) -> tuple[str, ...]:
    """What one typist sends: a red flag for one in five, commands and words for everyone."""
    words = SCRIPTS[index % len(SCRIPTS)]
    if index % 5 == 0:
        return (RED_FLAGS[index // 5 % len(RED_FLAGS)], *words[:1])
    return words


async def seed(db: Database, core: FakeTelegram, now: datetime) -> None:
    """Enrolled patients, straight into the database: NIGHT due now, TYPISTS reminded earlier."""
    plan = BUILTIN_PLANS["builtin-1.5"].to_dict()
    zone = ZoneInfo("UTC")

    def patient(user_id: int, bedtime: datetime) -> dict[str, object]:
        core.user(user_id)
        core._know(user_id)  # they opened the bot once, long ago
        return {
            "id": user_id,
            "telegram_user_id": user_id,
            "chat_id": user_id,
            "enrolled_at": now - timedelta(days=1),
            "consent_at": now - timedelta(days=1),
            "plan": plan,
            "start_date": local_today(bedtime, zone),
            "bedtime": bedtime.time().replace(second=0, microsecond=0),
            "timezone": "UTC",
            "reminders_paused": False,
            "blocked_bot": False,
            "created_at": now - timedelta(days=1),
        }

    def night(user_id: int, remind: datetime, status: str) -> dict[str, object]:
        return {
            "patient_id": user_id,
            "night": local_today(remind, zone),
            "step": 1,
            "dose_mg": Decimal("1.5"),
            "capsule_mg": Decimal("1.5"),
            "capsules": 1,
            "step_up": False,
            "status": status,
            "remind_at": remind,
            "cutoff_at": remind + timedelta(hours=4),
            "next_action_at": remind if status == "scheduled" else None,
            "sent_at": None if status == "scheduled" else remind,
            "sent_late": False,
            "snoozes": 0,
            "attempts": 0,
            "answered_at": None if status == "scheduled" else remind,
        }

    due = now - timedelta(seconds=30)
    earlier = now - timedelta(hours=1)
    night_ids = range(FIRST_NIGHT, FIRST_NIGHT + NIGHT)
    typist_ids = range(FIRST_TYPIST, FIRST_TYPIST + TYPISTS)
    async with db.engine.begin() as connection:
        await connection.execute(
            insert(Patient),
            [patient(i, due) for i in night_ids] + [patient(i, earlier) for i in typist_ids],
        )
        await connection.execute(
            insert(Dose.__table__),
            [night(i, due, "scheduled") for i in night_ids]
            + [night(i, earlier, "taken") for i in typist_ids],
        )


async def type_along(core: FakeTelegram, rng: random.Random, seconds: float) -> dict[int, list]:
    """Every typist sends their script, spread over `seconds`; what each one sent, in order."""
    timeline = []
    for index, user_id in enumerate(range(FIRST_TYPIST, FIRST_TYPIST + TYPISTS)):
        texts = script(index)
        moments = sorted(rng.uniform(0, seconds) for _ in texts)
        timeline += [(at, user_id, text) for at, text in zip(moments, texts, strict=True)]
    timeline.sort()
    sent: dict[int, list[str]] = {}
    loop = asyncio.get_running_loop()
    start = loop.time()
    for at, user_id, text in timeline:
        await asyncio.sleep(max(0.0, start + at - loop.time()))
        core.user(user_id).send(text)
        sent.setdefault(user_id, []).append(text)
    return sent


@pytest.fixture
async def telegram() -> AsyncIterator[tuple[FakeTelegram, FakeBotApiServer]]:
    core = FakeTelegram()
    async with FakeBotApiServer(core, token=TOKEN) as server:
        yield core, server


async def started(bot: BotProcess, core: FakeTelegram) -> None:
    """Start the process and wait until it polls: started up, at work."""
    polls = len(core.calls("getUpdates"))
    await bot.start()
    await eventually(lambda: len(core.calls("getUpdates")) > polls, what="the bot polling")


def answers(user: FakeUser) -> int:
    return len(user.messages())


@pytest.mark.chaos
async def test_ten_kills_while_patients_type_and_a_night_goes_out_lose_nothing(
    telegram: tuple[FakeTelegram, FakeBotApiServer],
    database_url: str,
    db: Database,
    tmp_path: Path,
) -> None:
    core, server = telegram
    rng = random.Random(9)
    await seed(db, core, datetime.now(UTC))
    bot = BotProcess(server.base_url, database_url, tmp_path)
    typing = asyncio.ensure_future(type_along(core, rng, seconds=20))
    try:
        for _ in range(KILLS):
            await started(bot, core)
            # Killed while at work: sending the night, handling what patients typed.
            await asyncio.sleep(rng.uniform(0.2, 1.5))
            assert await bot.stop(signal.SIGKILL) == -signal.SIGKILL
        await started(bot, core)  # for good: it must also stop cleanly at the end
        sent = await typing
        night = [core.user(i) for i in range(FIRST_NIGHT, FIRST_NIGHT + NIGHT)]
        typists = {core.user(i): texts for i, texts in sent.items()}

        def missing() -> tuple[int, int]:
            return (
                len([u for u in night if not reminders(u)]),
                len([u for u, texts in typists.items() if answers(u) < len(texts)]),
            )

        try:
            await eventually(lambda: missing() == (0, 0), seconds=45)
        except AssertionError:
            nights, patients = missing()
            message = f"{nights} nights not reminded, {patients} typists unanswered"
            raise AssertionError(message) from None
        await asyncio.sleep(2)  # duplicates, if any, have time to show
    finally:
        if not typing.done():
            typing.cancel()
        code = await bot.stop() if bot.process is not None else 0
    assert code == 0, bot.log_tail()
    # Paced evenly under the fake's 30 a second, even straight after each restart: no 429.
    assert [c.method for c in core.requests if c.status == 429 and not c.injected] == []

    # Zero messages lost: every red flag is stored as a concern, every patient was answered.
    async with db.session() as session:
        reports = {
            (r.patient_id, r.words) for r in (await session.execute(select(Report))).scalars()
        }
        alerted = {e.patient_id for e in (await session.execute(select(Escalation))).scalars()}
    flagged = [(u.id, text) for u, texts in typists.items() for text in texts if text in RED_FLAGS]
    assert len(flagged) == TYPISTS // 5
    assert [f for f in flagged if f not in reports] == [], "red flags not stored"
    assert [u for u, _ in flagged if u not in alerted] == [], "red flags without a concern"
    unanswered = [u.id for u, texts in typists.items() if answers(u) < len(texts)]
    assert unanswered == []

    # Zero nights lost, and at most one duplicate reminder per kill.
    counts = [len(reminders(u)) for u in night]
    assert [u.id for u, n in zip(night, counts, strict=True) if n == 0] == [], "nights lost"
    # A night recorded sent with no next one planned is tomorrow's night lost (issue 9, finding 2);
    # a night still claimed ("sending") by a killed process is settled by the dispatcher later.
    async with db.session() as session:
        doses = list((await session.execute(select(Dose))).scalars())
    sent_tonight = {d.patient_id for d in doses if d.status == "sent"}
    planned = {d.patient_id for d in doses if d.status == "scheduled"}
    assert sorted(sent_tonight - planned) == [], "nights sent with no next night planned"
    duplicates = sum(n - 1 for n in counts if n > 1)
    assert duplicates <= KILLS, f"{duplicates} duplicate reminders for {KILLS} kills"
    assert [r for r in refused(core) if not r.startswith(("403", "409"))] == [], bot.log_tail()
    assert "Traceback" not in bot.log.read_text(errors="replace"), bot.log_tail()
    print(
        f"chaos: {KILLS} kills, {sum(counts)} reminders for {NIGHT} nights, "
        f"{duplicates} duplicates, {sum(len(v) for v in sent.values())} messages typed"
    )
