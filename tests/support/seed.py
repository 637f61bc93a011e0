"""Patients written straight into the database, for tests that need many at once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update

from bot.app.settings import Settings
from bot.care.reminders import Reminders
from bot.rules.plans import BUILTIN_PLANS
from bot.rules.timing import local_today
from devtools.simulation import VirtualClock
from storage.db import Database
from storage.models import Dose
from storage.repositories import Repository


async def seed_patients(
    db: Database, settings: Settings, user_ids: Iterable[int], due: datetime
) -> list[int]:
    """Patients enrolled on the 0.5 mg plan in UTC, each with tonight's reminder due at `due`.

    Their bedtime is half an hour after `due` and their first night is planned as enrollment
    plans it; then tonight's reminder is moved to `due` (a bedtime that just came).
    """
    clock = VirtualClock(due)
    reminders = Reminders(db, None, clock, settings)  # type: ignore[arg-type]
    bedtime = (due + timedelta(minutes=30)).time().replace(second=0, microsecond=0)
    ids = []
    async with db.session() as session:
        repo = Repository(session)
        for user_id in user_ids:
            patient = await repo.patients.add(user_id, user_id, due)
            patient.consent_at = patient.enrolled_at = due
            patient.plan = BUILTIN_PLANS["builtin-0.5"].to_dict()
            patient.timezone = "UTC"
            patient.bedtime = time(bedtime.hour, bedtime.minute)
            patient.start_date = local_today(due, ZoneInfo("UTC"))
            await reminders.plan_next_night(repo, patient, backfill=False)
            ids.append(patient.id)
        await session.execute(
            update(Dose)
            .where(Dose.status == "scheduled", Dose.patient_id.in_(ids))
            .values(remind_at=due, next_action_at=due)
        )
        await repo.commit()
    return ids
