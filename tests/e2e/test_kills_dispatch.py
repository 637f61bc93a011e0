"""The real process killed while it sends, and stopped with a care-team group's alerts queued.

Patients are written straight into the database, their nights due now, before the process starts;
then the fake Telegram is watched for what arrives, and the database for what the bot recorded.
"""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.escalations import store
from bot.settings import Settings
from bot.triage import Finding, Tier
from fake_telegram.core import FakeTelegram
from fake_telegram.server import FakeBotApiServer
from storage.db import Database
from storage.models import Dose, Escalation
from storage.repositories import Repository
from tests.conftest import TOKEN
from tests.e2e.test_process import BotProcess, eventually, refused, reminders
from tests.seed import seed_patients

GROUP = -4002
PATIENTS = 200
KILLS = 10


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeTelegram, FakeBotApiServer]]:
    core = FakeTelegram()
    async with FakeBotApiServer(core, token=TOKEN) as server:
        yield core, server


async def test_ten_kills_while_200_reminders_go_out_lose_none_and_duplicate_at_most_one_each(
    fake: tuple[FakeTelegram, FakeBotApiServer],
    database_url: str,
    db: Database,
    settings: Settings,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    """Issue 9: 15 kills during a 300-reminder night lost 2-3 first reminders."""
    core, server = fake
    users = [core.user(70000 + i, opened=True) for i in range(PATIENTS)]
    await seed_patients(db, settings, [u.id for u in users], datetime.now(UTC))
    bot = BotProcess(server.base_url, database_url, tmp_path)
    chance = random.Random(9)

    def delivered() -> int:
        return sum(1 for u in users if reminders(u))

    kills = 0
    await bot.start()
    while kills < KILLS:
        # A random moment while it sends: after a few more reminders have gone out.
        target = min(delivered() + chance.randint(1, 12), PATIENTS)
        await eventually(lambda t=target: delivered() >= t, seconds=30, what="more reminders")
        if delivered() == PATIENTS:
            break
        await asyncio.sleep(chance.uniform(0, 0.05))
        assert await bot.stop(signal.SIGKILL) == -signal.SIGKILL
        kills += 1
        await bot.start()
    await eventually(lambda: delivered() == PATIENTS, seconds=40, what="every reminder")
    await asyncio.sleep(1.5)  # a round more: nothing else comes
    assert await bot.stop() == 0, bot.log_tail()

    assert kills == KILLS, f"all {PATIENTS} reminders were out after {kills} kills"
    counts = [len(reminders(u)) for u in users]
    assert min(counts) == 1  # zero lost
    duplicates = sum(counts) - PATIENTS
    record_property("duplicate reminders", f"{duplicates} for {kills} kills")
    assert duplicates <= kills, f"{duplicates} duplicates for {kills} kills"
    async with db.session() as session:
        statuses = (
            await session.execute(
                select(Dose.status, func.count()).group_by(Dose.status).order_by(Dose.status)
            )
        ).all()
    # Each night recorded sent, each patient's next night planned.
    assert [tuple(row) for row in statuses] == [("scheduled", PATIENTS), ("sent", PATIENTS)]
    assert refused(core) == []
    assert "Traceback" not in bot.log.read_text(errors="replace"), bot.log_tail()


async def test_sigterm_with_100_alerts_queued_for_a_group_exits_within_ten_seconds(
    fake: tuple[FakeTelegram, FakeBotApiServer],
    database_url: str,
    db: Database,
    settings: Settings,
    tmp_path: Path,
    latency: Callable[[str, float], None],
) -> None:
    """Issue 9: SIGTERM with 100 alerts queued for a care-team group took 230 s to exit."""
    core, server = fake
    core.group(GROUP)
    now = datetime.now(UTC)
    alerted = list(range(71000, 71100))
    await seed_patients(db, settings, alerted, now + timedelta(hours=6))
    async with db.session() as session:
        repo = Repository(session)
        for user_id in alerted:
            patient = await repo.patient_by_user(user_id)
            assert patient is not None
            await store(repo, patient, Finding(Tier.ROUTINE, "blocked_bot"), now)
        await repo.commit()
    bot = BotProcess(server.base_url, database_url, tmp_path)
    bot.env["PROVIDER_CHAT_IDS"] = str(GROUP)
    await bot.start()
    await eventually(lambda: len(core.messages(GROUP)) > 0, seconds=30, what="the first alerts")

    loop = asyncio.get_running_loop()
    began = loop.time()
    assert await bot.stop(signal.SIGTERM) == 0, bot.log_tail()
    took = loop.time() - began
    latency("SIGTERM to exit, 100 alerts queued for a group", took)
    assert took < 10, f"took {took:.1f} s to stop"

    in_group = len(core.messages(GROUP))
    assert 0 < in_group <= 20  # the group's pace: 20 a minute
    async with db.session() as session:
        waiting = await session.scalar(
            select(func.count())
            .select_from(Escalation)
            .where(Escalation.rounds == 0, Escalation.next_action_at.is_not(None))
        )
    assert waiting == len(alerted) - in_group  # what was not sent stays due
    assert refused(core) == []
