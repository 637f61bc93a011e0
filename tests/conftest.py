"""Shared fixtures: a real database, a fake clock, and the real bot against our fake Telegram."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app.settings import Settings
from bot.ui.texts import t
from devtools.simulation import Simulation, VirtualClock, running
from fake_telegram.core import FakeTelegram, FakeUser
from storage.db import Database
from storage.models import Base, Dose, Patient
from storage.repositories import Repository

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TOKEN = "123456:TEST-token-for-the-fake-server"


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
            # Every table of the models, so that a new table is never left holding rows.
            tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    else:
        await database.migrate()
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> VirtualClock:
    # A Wednesday afternoon in New York.
    return VirtualClock(datetime(2026, 3, 4, 17, 0, tzinfo=UTC))


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
        # The reminder tests enroll themselves; the care loop's own tests (tests/care/) use
        # invitations and check-ins through `care_settings`.
        allow_self_enrollment=True,
        # No care team: a trial, as the simulator runs; `care_settings` adds one.
        allow_no_care_team=True,
        checkin_after_step_up_days=0,
        checkin_every_days=0,
        tolerance_check_days=0,
    )


async def patient_of(harness: Simulation, user: FakeUser) -> Patient | None:
    """The user's patient row as the database has it now."""
    async with harness.services.db.session() as session:
        return await Repository(session).patients.by_user(user.id)


async def doses_of(harness: Simulation, user: FakeUser) -> list[Dose]:
    """Every night's row of the user, oldest first (none before they enroll)."""
    async with harness.services.db.session() as session:
        repo = Repository(session)
        patient = await repo.patients.by_user(user.id)
        if patient is None:
            return []
        return list(await repo.nights.between(patient.id, date.min, date.max))


async def take_nights(
    simulation: Simulation,
    user: FakeUser,
    first: date,
    last: date,
    zone: str = "America/New_York",
    hour: int = 23,
) -> None:
    """The patient takes every night's dose from `first` to `last`, tapping Taken when reminded.

    A step counts the nights actually taken: tests that need a patient some way into a plan
    live through those nights rather than pretend a start date in the past.
    """
    night = first
    while night <= last:
        await simulation.run_until(datetime.combine(night, time(hour, 45), ZoneInfo(zone)))
        reminder = simulation.reminders_to(user)[-1]
        await simulation.tap(user, reminder, t("button_taken"))
        night += timedelta(days=1)


@pytest.fixture
async def harness(
    settings: Settings, clock: VirtualClock, db: Database
) -> AsyncIterator[Simulation]:
    telegram = FakeTelegram(clock=clock.now)
    async with running(settings, clock, telegram) as simulation:
        yield simulation
    assert telegram.client_errors() == [], "the bot sent a request Telegram would refuse"


DOCTOR, NURSE, ADMIN, STRANGER = 5001, 5002, 6001, 6666


@pytest.fixture
def care_settings(settings: Settings) -> Settings:
    """A clinic with two providers and an admin, invitations only, check-ins on their defaults."""
    return settings.model_copy(
        update={
            "provider_chat_ids": (DOCTOR, NURSE),
            "provider_user_ids": (DOCTOR, NURSE),
            "admin_user_ids": (ADMIN,),
            "allow_self_enrollment": False,
            "checkin_after_step_up_days": 3,
            "checkin_every_days": 7,
            "tolerance_check_days": 2,
        }
    )


@pytest.fixture
async def care(
    care_settings: Settings, clock: VirtualClock, db: Database
) -> AsyncIterator[Simulation]:
    """The bot with its care team; the providers and the admin have opened the bot."""
    telegram = FakeTelegram(clock=clock.now)
    for user_id in (DOCTOR, NURSE, ADMIN):
        telegram.user(user_id, first_name=f"Staff {user_id}").send("/start")
    async with running(care_settings, clock, telegram) as simulation:
        await simulation.deliver()
        yield simulation
    assert telegram.client_errors() == [], "the bot sent a request Telegram would refuse"
