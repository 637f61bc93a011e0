"""The care team's read-only queries, for /patients, /patient, /escalations and /stats."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.rules.states import EscalationStatus, ReportStatus, TierCode
from storage.models import AlertMessage, AuditEntry, Dose, Escalation, Invite, Patient, Report
from storage.repositories import Repository


class CaseloadQueries:
    """Reads over one session; nothing here writes."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enrolled(self) -> list[Patient]:
        result = await self.session.execute(select(Patient).where(Patient.enrolled_at.is_not(None)))
        return list(result.scalars().all())

    async def enrolled_by_label(self, label: str) -> Patient | None:
        """An enrolled patient by label (any case), or by '#<id>' for one without a label."""
        query = select(Patient).where(Patient.enrolled_at.is_not(None))
        if label.startswith("#") and label[1:].isdigit():
            query = query.where(Patient.id == int(label[1:]), Patient.label.is_(None))
        else:
            query = query.where(func.lower(Patient.label) == label.lower())
        return (await self.session.execute(query.order_by(Patient.id))).scalars().first()

    async def nights_since(
        self, first: date, patient_id: int | None = None
    ) -> dict[int, dict[date, str]]:
        """Each patient's nights from `first` on: patient id -> night -> status."""
        query = select(Dose.patient_id, Dose.night, Dose.status).where(Dose.night >= first)
        if patient_id is not None:
            query = query.where(Dose.patient_id == patient_id)
        nights: dict[int, dict[date, str]] = {}
        for pid, night, status in (await self.session.execute(query)).all():
            nights.setdefault(pid, {})[night] = status
        return nights

    async def open_counts(self) -> dict[int, int]:
        """Escalations not yet decided, per patient."""
        query = (
            select(Escalation.patient_id, func.count())
            .where(
                Escalation.status != EscalationStatus.DECIDED, Escalation.tier != TierCode.MESSAGE
            )
            .group_by(Escalation.patient_id)
        )
        return {pid: n for pid, n in (await self.session.execute(query)).all()}

    async def done_reports(self, patient_id: int, n: int) -> list[Report]:
        """The patient's newest `n` completed reports, newest first."""
        done = func.coalesce(Report.completed_at, Report.created_at)
        return await self._newest(Report, done, patient_id, n, Report.status == ReportStatus.DONE)

    async def audit(self, patient_id: int, n: int) -> list[AuditEntry]:
        """The newest `n` actions of the care team on the patient, newest first."""
        return await self._newest(AuditEntry, AuditEntry.at, patient_id, n)

    async def undecided_with_labels(self) -> list[Any]:
        """(escalation, patient label) for every escalation not yet decided, oldest first."""
        result = await self.session.execute(
            select(Escalation, Patient.label)
            .join(Patient, Patient.id == Escalation.patient_id)
            .where(
                Escalation.status != EscalationStatus.DECIDED, Escalation.tier != TierCode.MESSAGE
            )
            .order_by(Escalation.created_at, Escalation.id)
        )
        return list(result.all())

    async def escalations_since(self, since: datetime) -> list[Escalation]:
        result = await self.session.execute(
            select(Escalation).where(
                Escalation.created_at >= since, Escalation.tier != TierCode.MESSAGE
            )
        )
        return list(result.scalars().all())

    async def undelivered_alerts(self) -> int:
        """Copies of alerts still being tried: an acknowledged or decided alert is not resent."""
        query = (
            select(func.count())
            .select_from(AlertMessage)
            .join(Escalation, AlertMessage.escalation_id == Escalation.id)
            .where(AlertMessage.sent_at.is_(None), Escalation.status == EscalationStatus.OPEN)
        )
        return (await self.session.execute(query)).scalar_one()

    async def invites_waiting(self, now: datetime) -> int:
        return await self._count(Invite, Invite.used_at.is_(None), Invite.expires_at > now)

    async def names(self, user_ids: list[int]) -> dict[int, str]:
        """The care team's names by user id, where known."""
        return await Repository(self.session).audit.names(user_ids)

    async def links_waiting(self, now: datetime) -> list[Invite]:
        """Invitations not used yet and still valid, the soonest to expire first."""
        result = await self.session.execute(
            select(Invite)
            .where(Invite.used_at.is_(None), Invite.expires_at > now)
            .order_by(Invite.expires_at, Invite.id)
        )
        return list(result.scalars().all())

    async def enrolling(self) -> list[Patient]:
        """Patients who followed a provider's link and have not finished enrolling."""
        result = await self.session.execute(
            select(Patient)
            .where(Patient.enrolled_at.is_(None), Patient.label.is_not(None))
            .order_by(Patient.created_at, Patient.id)
        )
        return list(result.scalars().all())

    async def _newest(self, model: Any, when: Any, patient_id: int, n: int, *where: Any) -> list:
        query = select(model).where(model.patient_id == patient_id, *where)
        query = query.order_by(when.desc(), model.id.desc()).limit(n)
        return list((await self.session.execute(query)).scalars())

    async def _count(self, model: Any, *where: Any) -> int:
        query = select(func.count()).select_from(model).where(*where)
        return (await self.session.execute(query)).scalar_one()
