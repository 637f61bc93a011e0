"""What `/metrics` reads at each scrape: counts the indexes on `next_action_at` serve cheaply."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.rules.states import DoseStatus, EscalationStatus
from storage.models import AdminNotice, Dose, Escalation, Report


@dataclass(frozen=True)
class Backlog:
    """What waits now: reminders due, the oldest row due, and the open escalations."""

    reminders_due: int
    reminders_overdue: int
    oldest_due: datetime | None
    # (tier, age bucket) -> open escalations; buckets are the labels of `ages`.
    open_escalations: dict[tuple[str, str], int]


async def backlog(
    session: AsyncSession,
    now: datetime,
    overdue_before: datetime,
    ages: tuple[tuple[str, datetime], ...],
    oldest_age: str,
) -> Backlog:
    """Count what is due at `now`; `ages` names each age bucket by the moment it starts after.

    An open escalation created after the first moment of `ages` falls in that bucket, else in
    the next that fits, else in `oldest_age`.
    """
    waiting = (DoseStatus.SCHEDULED, DoseStatus.SNOOZED)
    due = await session.scalar(
        select(func.count())
        .select_from(Dose)
        .where(Dose.next_action_at <= now, Dose.status.in_(waiting))
    )
    overdue = await session.scalar(
        select(func.count())
        .select_from(Dose)
        .where(Dose.next_action_at <= overdue_before, Dose.status.in_(waiting))
    )
    oldest = [
        await session.scalar(select(func.min(model.next_action_at)))
        for model in (Dose, Report, Escalation, AdminNotice)
    ]
    bucket = case(
        *((Escalation.created_at > start, label) for label, start in ages), else_=oldest_age
    )
    rows = await session.execute(
        select(Escalation.tier, bucket, func.count())
        .where(Escalation.status == EscalationStatus.OPEN)
        .group_by(Escalation.tier, bucket)
    )
    return Backlog(
        reminders_due=due or 0,
        reminders_overdue=overdue or 0,
        oldest_due=min((m for m in oldest if m is not None and m <= now), default=None),
        open_escalations={(str(tier), str(age)): count for tier, age, count in rows.all()},
    )
