"""Shared fixtures: a real database, a fake clock, and the real bot against our fake Telegram."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from telegram import Update
from telegram.ext import Application

from bot.application import Services, build_application
from bot.settings import Settings
from fake_telegram.core import FakeMessage, FakeTelegram, FakeUser
from fake_telegram.transport import FakeRequest
from storage.db import Database
from storage.models import Dose, Patient
from storage.repositories import Repository

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TOKEN = "123456:TEST-token-for-the-fake-server"


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        assert now.tzinfo is not None
        self._now = now.astimezone(UTC)

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """On PostgreSQL, a database of this test run's own, migrated once and dropped at the end.

    Its own database, so that two test runs on one server never trip over each other.
    """
    if not TEST_DATABASE_URL:
        yield None
        return
    server = make_url(TEST_DATABASE_URL).set(drivername="postgresql+asyncpg")
    name = f"ldn_test_{os.getpid()}_{secrets.token_hex(3)}"

    async def admin(statement: str) -> None:
        engine = create_async_engine(server, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(statement))
        await engine.dispose()

    async def create() -> None:
        await admin(f'CREATE DATABASE "{name}"')
        db = Database(server.set(database=name).render_as_string(hide_password=False))
        await db.migrate()
        await db.dispose()

    asyncio.run(create())
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def database_url(postgres_url: str | None, tmp_path: Path) -> str:
    return postgres_url or f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated, empty database, on SQLite or on PostgreSQL when TEST_DATABASE_URL is set."""
    database = Database(database_url)
    if database.url.get_backend_name() == "postgresql":
        async with database.engine.begin() as connection:
            await connection.execute(
                text("TRUNCATE doses, plan_holds, patients RESTART IDENTITY CASCADE")
            )
    else:
        await database.migrate()
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> FakeClock:
    # A Wednesday afternoon in New York.
    return FakeClock(datetime(2026, 3, 4, 17, 0, tzinfo=UTC))


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=TOKEN,
        database_url=database_url,
        telegram_api_base_url="http://fake.invalid/bot",
        clinic_name="Test Clinic",
        clinic_contact="+1 555 0100",
        emergency_number="911",
        default_timezone="America/New_York",
        reminder_followup_minutes=30,
        reminder_cutoff_hours=4,
    )


class Harness:
    """The real Application, fed updates from fake users, with the clock under the test's hand."""

    def __init__(self, app: Application, telegram: FakeTelegram, clock: FakeClock) -> None:
        self.app = app
        self.telegram = telegram
        self.clock = clock

    @property
    def services(self) -> Services:
        return self.app.bot_data.services

    async def deliver(self) -> None:
        """Process every update the fake users produced, in order."""
        for update in self.telegram.take_updates():
            await self.app.process_update(Update.de_json(update, self.app.bot))

    async def say(self, user: FakeUser, text: str) -> FakeMessage:
        """The user types `text`; return the last message the bot sent them."""
        user.send(text)
        await self.deliver()
        return user.last()

    async def tap(self, user: FakeUser, message: FakeMessage, label: str) -> FakeMessage:
        """The user presses a button (found by its label's start) on `message`."""
        current = self.telegram.message(message.chat_id, message.message_id) or message
        matches = [b for b in current.buttons() if b.startswith(label)]
        assert matches, f"no button starting {label!r} in {current.buttons()}"
        user.press(current, matches[0])
        await self.deliver()
        return user.last()

    async def dispatch(self) -> None:
        await self.services.dispatcher.dispatch()

    async def run_until(self, moment: datetime) -> None:
        """Move the clock to `moment`, stopping at every due time on the way, as the job would."""
        previous = None
        while True:
            async with self.services.db.session() as session:
                due = await Repository(session).next_due_at()
            if due is None or due > moment:
                break
            assert (due, self.clock.now()) != previous, (
                f"the dispatcher is stuck on a row due {due}"
            )
            previous = (due, self.clock.now())
            self.clock.set(max(due, self.clock.now()))
            await self.dispatch()
        self.clock.set(moment)
        await self.dispatch()

    def reminders_to(self, user: FakeUser) -> list[FakeMessage]:
        return [m for m in user.messages() if any(b.startswith("✅") for b in _all_buttons(m))]


def _all_buttons(message: FakeMessage) -> list[str]:
    return message.buttons()


async def patient_of(harness: Harness, user: FakeUser) -> Patient | None:
    """The user's patient row as the database has it now."""
    async with harness.services.db.session() as session:
        return await Repository(session).patient_by_user(user.id)


async def doses_of(harness: Harness, user: FakeUser) -> list[Dose]:
    """Every night's row of the user, oldest first (none before they enroll)."""
    async with harness.services.db.session() as session:
        repo = Repository(session)
        patient = await repo.patient_by_user(user.id)
        if patient is None:
            return []
        return list(await repo.doses_between(patient.id, date.min, date.max))


@asynccontextmanager
async def running_bot(
    settings: Settings,
    clock: FakeClock,
    telegram: FakeTelegram,
    request: FakeRequest | None = None,
) -> AsyncIterator[Harness]:
    """Start the real Application against `telegram` as run_polling would, and stop it after."""
    app = build_application(
        settings,
        clock=clock,
        request=request or FakeRequest(telegram),
        get_updates_request=FakeRequest(telegram),
    )
    await app.initialize()
    assert app.post_init is not None and app.post_shutdown is not None
    await app.post_init(app)  # what run_polling does right after initialize()
    try:
        yield Harness(app, telegram, clock)
    finally:
        await app.shutdown()
        await app.post_shutdown(app)


@pytest.fixture
async def harness(settings: Settings, clock: FakeClock, db: Database) -> AsyncIterator[Harness]:
    telegram = FakeTelegram(clock=clock.now)
    async with running_bot(settings, clock, telegram) as running:
        yield running
    assert telegram.client_errors() == [], "the bot sent a request Telegram would refuse"
