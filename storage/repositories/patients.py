"""Patients: found by their Telegram user or by the label providers call them, enrolled,
forgotten, and the holds on their plan. A label is taken by a patient or by an invitation still
waiting, so `label_taken` looks at both; forgetting a patient takes the invitations spent on them
too.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import joinedload, selectinload

from bot.rules.states import HoldKind
from storage.models import Invite, Patient, PlanHold
from storage.repositories.base import Aggregate

# Built once: every message starts with it, and building it anew added half again to its cost.
_BY_USER = (
    select(Patient)
    .where(Patient.telegram_user_id == bindparam("user_id"))
    .options(joinedload(Patient.holds))
)


class Patients(Aggregate):
    """The patients' own rows and their plan holds."""

    async def by_user(self, telegram_user_id: int) -> Patient | None:
        """The patient and their holds, in one statement: every message starts here."""
        result = await self.session.execute(_BY_USER, {"user_id": telegram_user_id})
        return result.unique().scalar_one_or_none()

    async def lock(self, patient_id: int) -> bool:
        """Lock the patient's row until the commit (PostgreSQL; SQLite has one writer anyway).

        False if there is no such patient any more.
        """
        result = await self.session.execute(
            select(Patient.id).where(Patient.id == patient_id).with_for_update()
        )
        return result.scalar_one_or_none() is not None

    async def get(self, patient_id: int) -> Patient | None:
        return await self.session.get(Patient, patient_id, options=[selectinload(Patient.holds)])

    async def fresh(self, patient_id: int) -> Patient:
        """A patient and their holds read anew, in one statement: another may have changed them."""
        result = await self.session.execute(
            select(Patient)
            .where(Patient.id == patient_id)
            .options(joinedload(Patient.holds))
            .execution_options(populate_existing=True)
        )
        return result.unique().scalar_one()

    async def add(self, telegram_user_id: int, chat_id: int, now: datetime) -> Patient:
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

    async def delete(self, patient: Patient, now: datetime | None = None) -> None:
        """Forget a patient and, through the cascade, every row about them.

        The invitation that enrolled them goes too: its label is often a chart number, and its
        plan and use time are theirs. So do, given `now`, the links for their label that were
        withdrawn or ran out. Nothing reads a spent invitation (the waiting links, the label
        check and /revoke all look at live ones only); a live link for the label stays.
        """
        spent = Invite.patient_id == patient.id
        if now is not None and patient.label:
            spent = spent | (
                (func.lower(Invite.label) == patient.label.lower())
                & (Invite.used_at.is_not(None) | (Invite.expires_at <= now))
            )
        await self.session.execute(delete(Invite).where(spent))
        await self.session.delete(patient)
        await self.session.flush()

    async def add_hold(
        self,
        patient: Patient,
        start: date,
        now: datetime,
        *,
        end: date | None = None,
        kind: str = HoldKind.HOLD,
    ) -> PlanHold:
        hold = PlanHold(patient_id=patient.id, start=start, end=end, created_at=now, kind=kind)
        patient.holds.append(hold)
        await self.session.flush()
        return hold

    async def remove_hold(self, patient: Patient, hold: PlanHold) -> None:
        patient.holds.remove(hold)
        await self.session.flush()

    async def delete_holds(self, patient: Patient) -> None:
        for hold in list(patient.holds):
            patient.holds.remove(hold)
        await self.session.flush()

    async def by_label(self, label: str) -> Patient | None:
        result = await self.session.execute(
            select(Patient)
            .where(func.lower(Patient.label) == label.lower())
            .options(selectinload(Patient.holds))
        )
        return result.scalars().first()

    async def label_taken(self, label: str, now: datetime) -> bool:
        """Whether a patient, or an invitation still waiting, already goes by this label."""
        if await self.by_label(label) is not None:
            return True
        result = await self.session.execute(
            select(Invite.id).where(
                func.lower(Invite.label) == label.lower(),
                Invite.used_at.is_(None),
                Invite.expires_at > now,
            )
        )
        return result.first() is not None
