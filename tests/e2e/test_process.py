"""The real `python -m bot` process against our fake Bot API server, over HTTP on loopback.

No test-only code path in the bot: it is started as an admin would start it, with settings in its
environment, and killed as a crash would kill it. The tests act as the patients, and read the
database the process writes to see what it recorded.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.rules.timing import local_today, reminder_at
from bot.ui.texts import t
from fake_telegram.core import FakeMessage, FakeTelegram, FakeUser
from fake_telegram.server import FakeBotApiServer
from storage.db import Database
from storage.models import Dose
from storage.repositories import Repository
from tests.support.harness import TOKEN
from tests.support.updates import handled

REPO = Path(__file__).resolve().parents[2]
REMINDER = t("reminder", dose="\x00").split("\x00")[0]
LATE = t("reminder_late", due="\x00", dose="").split("\x00")[0]


async def eventually(check: Callable[[], bool], seconds: float = 20.0, what: str = "") -> None:
    """Wait, bounded, until `check()` is true."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)


class BotProcess:
    """`python -m bot run` as a child process, pointed at the fake server and a database.

    `run` never migrates, as on a clinic's server: the database is migrated first (the `db`
    fixture, or `python -m bot migrate`). `args = []` is `ldn-bot` alone: migrate, then poll.
    """

    def __init__(self, base_url: str, database_url: str, workdir: Path) -> None:
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))},
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": base_url,
            "DATABASE_URL": database_url,
            "DEFAULT_TIMEZONE": "UTC",
            "DISPATCH_INTERVAL_SECONDS": "1",
            "CLINIC_NAME": "E2E Clinic",
            "LOG_LEVEL": "INFO",
            "ALLOW_SELF_ENROLLMENT": "true",
            # Patients enrolling alone, with no care team: a trial the bot must be told it is.
            "ALLOW_NO_CARE_TEAM": "true",
            "TOLERANCE_CHECK_DAYS": "0",
            # Its web app (/healthz, /metrics) on a free port: several bots run side by side.
            "WEBHOOK_PORT": "0",
            "PYTHONPATH": str(REPO),
        }
        self.args: list[str] = ["run"]  # after `python -m bot`: `run --webhook`, say
        self.workdir = workdir  # no .env there: the environment is the whole configuration
        self.log = workdir / "bot.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                *self.args,
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=log,
            )

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        """Stop the process with `sig`; one that hangs is killed, never left behind."""
        assert self.process is not None
        process, self.process = self.process, None
        if process.returncode is None:
            process.send_signal(sig)
        try:
            return await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise AssertionError(f"the bot did not stop on {sig!r}:\n{self.log_tail()}") from None

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
async def telegram() -> AsyncIterator[tuple[FakeTelegram, FakeBotApiServer]]:
    core = FakeTelegram()
    async with FakeBotApiServer(core, token=TOKEN) as server:
        yield core, server


@pytest.fixture
async def bot(
    telegram: tuple[FakeTelegram, FakeBotApiServer], database_url: str, db: Database, tmp_path: Path
) -> AsyncIterator[BotProcess]:
    core, server = telegram
    process = BotProcess(server.base_url, database_url, tmp_path)
    await process.start()
    yield process
    if process.process is not None:
        assert await process.stop() == 0, process.log_tail()
    # Everything the process asked of Telegram, up to its shutdown, passed the fake's checks
    # (a 403 for a patient who blocked the bot is Telegram's answer to a send it could not foresee).
    assert [r for r in refused(core) if not r.startswith("403")] == [], process.log_tail()
    assert "Traceback" not in process.log.read_text(errors="replace"), process.log_tail()


async def settled(user: FakeUser, before: int, update: dict, what: str) -> None:
    """Wait for the bot's answer to arrive, all of it: new messages, and `update` handled."""
    await eventually(lambda: len(user.messages()) > before, what=what)
    await handled(update, what=what)


async def conversation(user: FakeUser, *steps: str) -> None:
    """Type or tap through `steps`; a step starting with '[' taps the button so labelled."""
    for step in steps:
        count = len(user.messages())
        if step.startswith("["):
            question = next(m for m in reversed(user.messages()) if m.buttons())
            update = user.press(question, question.label_starting(step[1:]))
        else:
            update = user.send(step)
        await settled(user, count, update, what=f"an answer to {step!r}")


def reminders(user: FakeUser) -> list[FakeMessage]:
    return [m for m in user.messages() if m.text and m.text.startswith((REMINDER, LATE))]


async def rows(db: Database) -> list[Dose]:
    async with db.session() as session:
        return list((await session.execute(select(Dose).order_by(Dose.id))).scalars())


def bedtime_in(minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%H:%M")


def next_night(bedtime: str) -> str:
    """The night whose reminder at `bedtime` (UTC) comes next, as the patient would type it.

    Between midnight and 06:00 it is still yesterday evening's night, unless its bedtime has
    passed: at 05:45, a 06:15 bedtime is the coming night's, not yesterday's.
    """
    now, zone = datetime.now(UTC), ZoneInfo("UTC")
    night = local_today(now, zone)
    if reminder_at(night, datetime.strptime(bedtime, "%H:%M").time(), zone) <= now:
        night += timedelta(days=1)
    return night.isoformat()


async def enroll(user: FakeUser, bedtime: str) -> None:
    night = next_night(bedtime)
    await conversation(
        user,
        "/start",
        "[Yes",
        "[None of these",
        "[0.5 mg",
        "UTC",
        "[UTC",
        night,
        bedtime,
        "[Yes, start",
    )
    assert user.last().text == t("enrolled", bedtime=bedtime)


def refused(core: FakeTelegram) -> list[str]:
    return [f"{c.status} {c.method}: {c.body.get('description')}" for c in core.client_errors()]


async def test_enrollment_then_the_first_reminder_at_the_bedtime_typed_then_taken(
    telegram: tuple[FakeTelegram, FakeBotApiServer], bot: BotProcess, db: Database
) -> None:
    core, _ = telegram
    user = core.user(1001)
    bedtime = bedtime_in(30)
    night = date.fromisoformat(next_night(bedtime))
    await enroll(user, bedtime)
    # The night is due at the bedtime typed; brought forward to now rather than waited for.
    [row] = await rows(db)
    due = reminder_at(night, datetime.strptime(bedtime, "%H:%M").time(), ZoneInfo("UTC"))
    assert (row.night, row.status, row.remind_at, row.next_action_at) == (
        night,
        "scheduled",
        due,
        due,
    )
    async with db.session() as session:
        now = datetime.now(UTC)
        await session.execute(update(Dose).values(remind_at=now, next_action_at=now))
        await session.commit()
    await eventually(lambda: len(reminders(user)) == 1, seconds=60, what="the reminder")
    user.press(reminders(user)[0], t("button_taken"))
    # Bounded loosely: a busy CI machine has been seen to take over 20 s here.
    await eventually(lambda: t("recorded_taken") in (reminders(user)[0].text or ""), seconds=60)
    assert [r.status for r in await rows(db)][:1] == ["taken"]
    assert refused(core) == []


async def test_a_bedtime_that_passed_while_stopped_is_sent_late_once(
    telegram: tuple[FakeTelegram, FakeBotApiServer], bot: BotProcess, db: Database
) -> None:
    core, _ = telegram
    user = core.user(1002)
    await enroll(user, bedtime_in(30))
    await bot.stop()
    # While the bot is down, its bedtime passes: move tonight's row 20 minutes into the past.
    async with db.session() as session:
        past = datetime.now(UTC) - timedelta(minutes=20)
        await session.execute(update(Dose).values(remind_at=past, next_action_at=past))
        await session.commit()
    await bot.start()
    await eventually(lambda: len(reminders(user)) == 1, what="the late reminder")
    assert reminders(user)[0].text.startswith(LATE)
    await asyncio.sleep(3)  # three more dispatcher rounds: nothing more comes
    assert len(reminders(user)) == 1
    assert refused(core) == []


async def test_killed_and_restarted_no_reminder_twice_and_onboarding_resumes(
    telegram: tuple[FakeTelegram, FakeBotApiServer], bot: BotProcess, db: Database
) -> None:
    core, _ = telegram
    enrolled, halfway = core.user(1003), core.user(1004)
    await asyncio.gather(
        enroll(enrolled, bedtime_in(30)),
        conversation(halfway, "/start", "[Yes", "[None of these", "[1.5 mg"),
    )
    async with db.session() as session:
        now = datetime.now(UTC)
        await session.execute(update(Dose).values(remind_at=now, next_action_at=now))
        await session.commit()
    await eventually(lambda: len(reminders(enrolled)) == 1, what="the reminder")
    # Killed once the send is on record: a recorded send is never repeated. (Killed between the
    # send and its record, the night is sent again: one duplicate, never a loss; test_chaos.py.)
    for _ in range(200):
        if any(d.status == "sent" for d in await rows(db)):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the reminder was never recorded as sent")

    assert await bot.stop(signal.SIGKILL) == -signal.SIGKILL
    await bot.start()
    await conversation(halfway, "Kolkata", "[Kolkata")  # the zone question, where they left off
    assert halfway.last().text == t("ask_start")
    await asyncio.sleep(3)
    assert len(reminders(enrolled)) == 1
    assert refused(core) == []


async def test_flood_limits_and_server_errors_still_deliver_and_a_blocked_patient_gets_nothing(
    telegram: tuple[FakeTelegram, FakeBotApiServer], bot: BotProcess, db: Database
) -> None:
    core, _ = telegram
    patients = [core.user(1100 + i) for i in range(3)]
    blocked = core.user(1199)
    # Four people enrolling at the same time, each in their own chat.
    await asyncio.gather(*(enroll(user, bedtime_in(30)) for user in [*patients, blocked]))
    blocked.block()
    sent_before_block = len(core.requests)
    # Telegram tells the bot at once (the member update "kicked"), and the bot marks them.
    for _ in range(100):
        async with db.session() as session:
            patient = await Repository(session).patients.by_user(blocked.id)
        if patient is not None and patient.blocked_bot:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the blocked patient was not marked")
    # Server errors first, on two nights' first tries (each due again after the first backoff,
    # 5 s); then flood waits, as long as Telegram asks (1 s).
    core.fail("sendMessage", status=500, times=2)
    core.fail("sendMessage", status=429, retry_after=1, times=2)
    async with db.session() as session:
        now = datetime.now(UTC)
        await session.execute(update(Dose).values(remind_at=now, next_action_at=now))
        await session.commit()
    await eventually(
        lambda: all(len(reminders(u)) == 1 for u in patients), seconds=60, what="every reminder"
    )
    injected = [c.status for c in core.calls("sendMessage") if c.injected]
    assert sorted(injected) == [429, 429, 500, 500]  # the failures really happened
    await asyncio.sleep(3)
    assert [len(reminders(u)) for u in patients] == [1, 1, 1]

    # The bot sends nothing to the blocked patient: every night due again, and still nothing.
    def sends_to_blocked() -> int:
        calls = core.requests[sent_before_block:]
        return len(
            [
                c
                for c in calls
                if c.method == "sendMessage" and c.params.get("chat_id") == blocked.id
            ]
        )

    assert sends_to_blocked() == 0
    async with db.session() as session:
        now = datetime.now(UTC)
        await session.execute(update(Dose).values(next_action_at=now))
        await session.commit()
    await asyncio.sleep(3)
    assert sends_to_blocked() == 0


# Our own polling loop: start-up, a Telegram that fails for a while, SIGTERM.


async def test_a_token_telegram_refuses_stops_start_up_with_exit_code_2(
    telegram: tuple[FakeTelegram, FakeBotApiServer],
    database_url: str,
    db: Database,
    tmp_path: Path,
) -> None:
    _, server = telegram
    bot = BotProcess(server.base_url, database_url, tmp_path)
    bot.env["BOT_TOKEN"] = "123456:NOT-the-token-the-server-knows"
    await bot.start()
    assert bot.process is not None
    assert await asyncio.wait_for(bot.process.wait(), 30) == 2
    log = bot.log.read_text()
    assert "Cannot start: Telegram refused BOT_TOKEN (see @BotFather)." in log
    assert "Traceback" not in log and "NOT-the-token" not in log
    assert "Unclosed" not in log, "the HTTP sessions are closed on the way out"


async def test_a_telegram_that_does_not_answer_stops_start_up_in_one_line_with_exit_code_1(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    with socket.socket() as probe:  # a port nothing listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bot = BotProcess(f"http://127.0.0.1:{port}/bot", database_url, tmp_path)
    await bot.start()
    assert bot.process is not None
    assert await asyncio.wait_for(bot.process.wait(), 30) == 1
    log = bot.log.read_text()
    assert f"Cannot start: Telegram did not answer at http://127.0.0.1:{port}/bot" in log, log
    assert "Traceback" not in log and TOKEN.split(":")[1] not in log
    assert "Unclosed" not in log, "the HTTP sessions are closed on the way out"


async def test_polling_that_fails_for_a_while_is_retried_calmly_and_nothing_is_lost(
    telegram: tuple[FakeTelegram, FakeBotApiServer], bot: BotProcess
) -> None:
    core, _ = telegram
    user = core.user(1301)
    core.fail("getUpdates", status=502, times=4)
    update = user.send("/help")
    await settled(user, 0, update, what="the answer to /help, once Telegram answers again")
    assert [c.status for c in core.calls("getUpdates") if c.injected] == [502] * 4
    log = bot.log.read_text()
    assert log.count("Polling failed") <= 2, bot.log_tail()
    assert "Traceback" not in log
    assert await bot.stop(signal.SIGTERM) == 0
    assert "Application.stop() complete" in bot.log.read_text()
