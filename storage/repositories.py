"""Queries and writes, one place for SQL; repositories never commit, the use case does."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.models import Dose, Patient, PlanHold


class Repository:
    """Everything the use cases read and write, over one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()

    async def refresh(self, row: object) -> None:
        """Re-read a row that another transaction may have changed."""
        await self.session.refresh(row)

    # Patients

    async def patient_by_user(self, telegram_user_id: int) -> Patient | None:
        result = await self.session.execute(
            select(Patient)
            .where(Patient.telegram_user_id == telegram_user_id)
            .options(selectinload(Patient.holds))
        )
        return result.scalar_one_or_none()

    async def patient(self, patient_id: int) -> Patient | None:
        return await self.session.get(Patient, patient_id, options=[selectinload(Patient.holds)])

    async def add_patient(self, telegram_user_id: int, chat_id: int, now: datetime) -> Patient:
        patient = Patient(
            telegram_user_id=telegram_user_id,
            chat_id=chat_id,
            created_at=now,
            reminders_paused=False,
            blocked_bot=False,
            holds=[],
        )
        self.session.add(patient)
        await self.session.flush()
        return patient

    async def delete_patient(self, patient: Patient) -> None:
        """Forget a patient and, through the cascade, every row about them."""
        await self.session.delete(patient)
        await self.session.flush()

    async def add_hold(self, patient: Patient, start: date, now: datetime) -> PlanHold:
        hold = PlanHold(patient_id=patient.id, start=start, end=None, created_at=now)
        patient.holds.append(hold)
        await self.session.flush()
        return hold

    # Doses

    async def dose(self, dose_id: int) -> Dose | None:
        return await self.session.get(
            Dose, dose_id, options=[selectinload(Dose.patient).selectinload(Patient.holds)]
        )

    async def dose_on(self, patient_id: int, night: date) -> Dose | None:
        result = await self.session.execute(
            select(Dose).where(Dose.patient_id == patient_id, Dose.night == night)
        )
        return result.scalar_one_or_none()

    async def latest_dose(self, patient_id: int, before: date | None = None) -> Dose | None:
        query = select(Dose).where(Dose.patient_id == patient_id)
        if before is not None:
            query = query.where(Dose.night < before)
        result = await self.session.execute(query.order_by(Dose.night.desc()).limit(1))
        return result.scalar_one_or_none()

    async def doses_between(self, patient_id: int, first: date, last: date) -> Sequence[Dose]:
        result = await self.session.execute(
            select(Dose)
            .where(Dose.patient_id == patient_id, Dose.night >= first, Dose.night <= last)
            .order_by(Dose.night)
        )
        return result.scalars().all()

    async def unsent_doses(self, patient_id: int) -> Sequence[Dose]:
        result = await self.session.execute(
            select(Dose).where(Dose.patient_id == patient_id, Dose.status == "scheduled")
        )
        return result.scalars().all()

    async def add_dose(self, dose: Dose) -> bool:
        """Insert a night's row; False when another worker inserted that night first."""
        try:
            async with self.session.begin_nested():
                self.session.add(dose)
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def forget_unsent(self, patient_id: int) -> None:
        """Drop nights that were planned but never reminded (a pause, a block, a new bedtime)."""
        await self.session.execute(
            delete(Dose).where(Dose.patient_id == patient_id, Dose.status == "scheduled")
        )

    async def due_dose_ids(self, now: datetime, limit: int) -> list[int]:
        """Rows whose next action is due, oldest first; served by ix_doses_next_action_at."""
        result = await self.session.execute(
            select(Dose.id)
            .where(Dose.next_action_at <= now)
            .order_by(Dose.next_action_at)
            .limit(limit)
        )
        return list(result.scalars().all())

    async def next_due_at(self) -> datetime | None:
        """The earliest moment any row needs the dispatcher (simulations jump straight to it)."""
        result = await self.session.execute(select(func.min(Dose.next_action_at)))
        return result.scalar_one_or_none()

    async def claim(self, dose_id: int, expected: str, **values: object) -> bool:
        """Move a row on only if it is still in `expected`: the guard against sending twice."""
        result = await self.session.execute(
            update(Dose)
            .where(Dose.id == dose_id, Dose.status == expected)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    async def claim_followup(self, dose_id: int, now: datetime) -> bool:
        """Mark the night's one follow-up as going out, unless it already did."""
        result = await self.session.execute(
            update(Dose)
            .where(Dose.id == dose_id, Dose.status == "sent", Dose.followup_sent_at.is_(None))
            .values(followup_sent_at=now)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]
