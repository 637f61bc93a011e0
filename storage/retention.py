"""The retention's query: patients no reminder goes to, silent for longer than the clinic keeps.

A patient's last trace is the newest moment recorded about them: enrolling, a night reminded or
answered, a check-in, an alert raised, acknowledged or decided, a care-team action, a hold, an
update from their chat. Nothing records the moment of a stop itself; a patient reminded every
night until then has a night recorded within a day of it, and a care team's pause is its
decision's moment.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, not_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from bot.rules.states import EscalationStatus, TierCode
from storage.models import (
    AuditEntry,
    Dose,
    Escalation,
    Patient,
    PlanHold,
    ReceivedUpdate,
    Report,
    receives_reminders,
)


def _waiting() -> Select[tuple[int]]:
    """Patients with an alert the care team has not decided on (their messages wait for none)."""
    return select(Escalation.patient_id).where(
        Escalation.status != EscalationStatus.DECIDED, Escalation.tier != TierCode.MESSAGE
    )


async def expired(
    session: AsyncSession, before: datetime, now: datetime, limit: int, only: int | None = None
) -> list[int]:
    """Ids of patients out of care, no alert waiting, whose last trace came before `before`."""
    candidates = select(Patient.id).where(not_(receives_reminders()), Patient.id.not_in(_waiting()))
    if only is not None:
        candidates = candidates.where(Patient.id == only)
    ids = candidates.scalar_subquery()
    traces = union_all(
        select(Patient.id.label("patient_id"), Patient.created_at.label("at")).where(
            Patient.id.in_(ids)
        ),
        *(
            select(Patient.id, moment).where(Patient.id.in_(ids), moment.is_not(None))
            for moment in (Patient.enrolled_at, Patient.consent_at, Patient.withheld_at)
        ),
        select(Dose.patient_id, Dose.remind_at).where(
            Dose.patient_id.in_(ids), Dose.remind_at <= now
        ),
        *(
            select(model_id, moment).where(model_id.in_(ids), moment.is_not(None))
            for model_id, moment in (
                (Dose.patient_id, Dose.answered_at),
                (Report.patient_id, Report.created_at),
                (Report.patient_id, Report.completed_at),
                (Escalation.patient_id, Escalation.created_at),
                (Escalation.patient_id, Escalation.acknowledged_at),
                (Escalation.patient_id, Escalation.decided_at),
                (Escalation.patient_id, Escalation.folded_at),
                (AuditEntry.patient_id, AuditEntry.at),
                (PlanHold.patient_id, PlanHold.created_at),
            )
        ),
        select(Patient.id, ReceivedUpdate.received_at)
        .join(ReceivedUpdate, ReceivedUpdate.chat_id == Patient.chat_id)
        .where(Patient.id.in_(ids)),
    ).subquery()
    last = (
        select(traces.c.patient_id, func.max(traces.c.at).label("at"))
        .group_by(traces.c.patient_id)
        .subquery()
    )
    result = await session.execute(
        select(last.c.patient_id).where(last.c.at < before).order_by(last.c.patient_id).limit(limit)
    )
    return list(result.scalars())
