"""What tests share besides fixtures: the token, the care team's ids, a patient's rows.

Fixtures stay in `tests/conftest.py`; these are plain names and functions a test imports.
"""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.ui.texts import t
from devtools.simulation import Simulation
from fake_telegram.core import FakeUser
from storage.models import Dose, Patient
from storage.repositories import Repository

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TOKEN = "123456:TEST-token-for-the-fake-server"

DOCTOR, NURSE, ADMIN, STRANGER = 5001, 5002, 6001, 6666


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
