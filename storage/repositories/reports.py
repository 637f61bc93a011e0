"""Reports: the check-ins the patient answers and what they reported, read by id, the one being
answered now, the one for a night or a step's tolerance, the newest completed ones, and those
whose next action is due.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.rules.states import ReportKind, ReportStatus
from storage.models import Patient, Report
from storage.repositories.base import Aggregate


class Reports(Aggregate):
    """Check-ins and the side-effect reports they become."""

    async def get(self, report_id: int) -> Report | None:
        return await self.session.get(
            Report, report_id, options=[selectinload(Report.patient).selectinload(Patient.holds)]
        )

    async def open(self, patient_id: int) -> Report | None:
        """The check-in the patient is answering now, if any."""
        result = await self.session.execute(
            select(Report)
            .where(Report.patient_id == patient_id, Report.status == ReportStatus.OPEN)
            .order_by(Report.id.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def on(self, patient_id: int, night: date) -> Report | None:
        result = await self.session.execute(
            select(Report)
            .where(
                Report.patient_id == patient_id,
                Report.night == night,
                Report.kind.not_in((ReportKind.ASKED, ReportKind.MESSAGE)),
            )
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def tolerance(self, patient_id: int, step: int) -> Report | None:
        result = await self.session.execute(
            select(Report)
            .where(
                Report.patient_id == patient_id,
                Report.kind == ReportKind.TOLERANCE,
                Report.for_step == step,
            )
            .order_by(Report.id.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def done(
        self, patient_id: int, last: int = 20, *, until: datetime | None = None
    ) -> list[Report]:
        """The patient's newest completed reports (completed by `until`, if given), oldest first."""
        query = select(Report).where(
            Report.patient_id == patient_id, Report.status == ReportStatus.DONE
        )
        if until is not None:
            query = query.where(Report.completed_at <= until)
        result = await self.session.execute(
            query.order_by(Report.completed_at.desc(), Report.id.desc()).limit(last)
        )
        return list(reversed(result.scalars().all()))

    async def due_ids(self, now: datetime, limit: int) -> list[int]:
        result = await self.session.execute(
            select(Report.id)
            .where(Report.next_action_at <= now)
            .order_by(Report.next_action_at)
            .limit(limit)
        )
        return list(result.scalars().all())
