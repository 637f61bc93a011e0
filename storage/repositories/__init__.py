"""Queries and writes, one place for SQL; repositories never commit, the use case does.

`Repository` is the unit of work a use case opens over one session (`repo = Repository(session)`):
it commits, rolls back, keeps savepoints, and holds one repository per aggregate, each in its own
module here: `repo.patients` (and their plan holds), `repo.nights` (the doses), `repo.reports`,
`repo.escalations` (and their alert messages), `repo.invites`, `repo.audit` (and the care team's
names), `repo.notices` (the admins'). What spans aggregates stays on the unit of work: the guarded
`claim` of any row, reading every row of a patient's table, and the outbox's sweeps over several
tables (`next_due_at`, `bring_forward`, `wake_parked`, `forget_unsent`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Update, bindparam, delete, func, inspect, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction

from bot.rules.states import DoseStatus, EscalationStatus, ReportStatus, TierCode
from storage.db import rowcount
from storage.models import (
    AdminNotice,
    AlertMessage,
    Base,
    Digest,
    Dose,
    Escalation,
    Invite,
    Patient,
    Report,
)
from storage.repositories.audit import Audit
from storage.repositories.digests import Digests
from storage.repositories.escalations import Escalations
from storage.repositories.invites import Invites
from storage.repositories.nights import Nights
from storage.repositories.notices import Notices
from storage.repositories.patients import Patients
from storage.repositories.reports import Reports

__all__ = ["Repository", "patient_tables", "word_tables"]


def patient_tables() -> list[str]:
    """The tables a patient's rows are in: patients, invites, and whatever points at them."""
    names = {Patient.__tablename__, Invite.__tablename__}
    grew = True
    while grew:
        grew = False
        for table in Base.metadata.sorted_tables:
            if table.name not in names and any(
                key.column.table.name in names for key in table.foreign_keys
            ):
                names.add(table.name)
                grew = True
    return sorted(names)


def word_tables() -> list[str]:
    """The patient's tables that hold words or a label, and the intake's stored updates.

    Only these are written anew after a deletion: nights, holds and the alert copies' ids are
    numbers and statuses without the patient's row to name them, and they are the biggest
    tables, whose rewrite would lock out the reminders for longest.
    """
    numbers_only = {"doses", "plan_holds", "alert_messages"}
    return sorted({*patient_tables(), "updates"} - numbers_only)


class Repository:
    """The unit of work over one session, and each aggregate's repository in it."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.patients = Patients(session)
        self.nights = Nights(session)
        self.reports = Reports(session)
        self.escalations = Escalations(session)
        self.invites = Invites(session)
        self.audit = Audit(session)
        self.notices = Notices(session)
        self.digests = Digests(session)

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()

    def savepoint(self) -> AsyncSessionTransaction:
        """A nested transaction: what fails inside it is undone, the rest of the work is kept."""
        return self.session.begin_nested()

    async def refresh(self, row: object) -> None:
        """Re-read a row that another transaction may have changed."""
        await self.session.refresh(row)

    async def add(self, row: object) -> None:
        self.session.add(row)
        await self.session.flush()

    async def claim(
        self, model: type[Base], row_id: int, when: Mapping[str, object], **values: object
    ) -> bool:
        """Move one row on only if it still is as `when` says: the guard against sending twice.

        `when` maps columns to the values they must still hold (None: empty), say
        `{"status": "scheduled"}` or `{"next_action_at": due}`; whoever loses changes nothing.
        The values are plain values, bound as parameters of a statement built once per shape.
        """
        shape = (model, tuple((name, value is None) for name, value in when.items()), *values)
        statement = _claims.get(shape)
        if statement is None:
            statement = _claims[shape] = _claim(model, when, values)
        params = {f"w_{name}": value for name, value in when.items() if value is not None}
        params.update({f"v_{name}": value for name, value in values.items()})
        params["row_id"] = row_id
        # What the session holds unwritten goes first, as the ORM's own update would flush it.
        session = self.session
        if session.autoflush and (session.new or session.dirty or session.deleted):
            await session.flush()
        result = await session.execute(statement, params)
        return rowcount(result) == 1

    async def rows_about(self, model: Any, patient_id: int) -> list[Any]:
        """Every row of a patient's table (nights, reports, escalations, audit), oldest first."""
        result = await self.session.execute(
            select(model).where(model.patient_id == patient_id).order_by(model.id)
        )
        return list(result.scalars().all())

    async def next_due_at(self) -> datetime | None:
        """The earliest moment any row needs the dispatcher (simulations jump straight to it)."""
        moments = []
        for model in (Dose, Report, Escalation, AdminNotice, Digest):
            result = await self.session.execute(select(func.min(model.next_action_at)))
            moment = result.scalar_one_or_none()
            if moment is not None:
                moments.append(moment)
        return min(moments, default=None)

    async def forget_unsent(self, patient_id: int) -> None:
        """Drop nights planned but never reminded (a pause, a new bedtime, a night not taken).

        Their check-ins not yet sent go too: planning the night again plans its check-in anew.
        """
        await self.session.execute(
            delete(Dose).where(Dose.patient_id == patient_id, Dose.status == DoseStatus.SCHEDULED)
        )
        await self.session.execute(
            delete(Report).where(
                Report.patient_id == patient_id, Report.status == ReportStatus.SCHEDULED
            )
        )

    async def wake_parked(self, now: datetime) -> int:
        """Make due now the alerts parked for want of anyone to send them to; return how many.

        Parked is open, not due, and owed a round: never delivered yet (no round), or urgent or
        emergency, which are raised again until acknowledged, so that once delivered they are
        always due again (at their renotify time). A routine alert delivered once is done.
        """
        result = await self.session.execute(
            update(Escalation)
            .where(
                Escalation.status == EscalationStatus.OPEN,
                Escalation.next_action_at.is_(None),
                or_(
                    Escalation.rounds == 0,
                    Escalation.tier.in_((TierCode.URGENT, TierCode.EMERGENCY)),
                ),
            )
            .values(next_action_at=now)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result)

    async def bring_forward(
        self,
        now: datetime,
        chats: Sequence[int],
        flooded: Sequence[int] = (),
        *,
        busy: Sequence[int] = (),
        busy_notices: Sequence[int] = (),
    ) -> list[tuple[int, str]]:
        """Make due now what failed sends put off: alerts, admin notices, the nights of `chats`.

        Only rows waiting after a failure (attempts above 0), never one being sent (a night
        "sending", an alert or notice claimed by any process, or in `busy`), and none that
        waits out a flood limit of a chat in `flooded`. Returns the alerts due now as (id, tier).
        """
        held = select(AlertMessage.escalation_id).where(
            AlertMessage.chat_id.in_(list(flooded)), AlertMessage.sent_at.is_(None)
        )
        await self.session.execute(
            update(Escalation)
            .where(
                Escalation.next_action_at > now,
                Escalation.attempts > 0,
                Escalation.status != EscalationStatus.DECIDED,
                Escalation.id.not_in(held),
                Escalation.id.not_in(list(busy)),
                or_(Escalation.sending_until.is_(None), Escalation.sending_until <= now),
            )
            .values(next_action_at=now)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            update(AdminNotice)
            .where(
                AdminNotice.next_action_at > now,
                AdminNotice.attempts > 0,
                AdminNotice.admin_id.not_in(list(flooded)),
                AdminNotice.id.not_in(list(busy_notices)),
                or_(AdminNotice.sending_until.is_(None), AdminNotice.sending_until <= now),
            )
            .values(next_action_at=now)
            .execution_options(synchronize_session=False)
        )
        if chats:
            patients = select(Patient.id).where(Patient.chat_id.in_(list(chats)))
            await self.session.execute(
                update(Dose)
                .where(
                    Dose.next_action_at > now,
                    Dose.attempts > 0,
                    Dose.status.in_((DoseStatus.SCHEDULED, DoseStatus.SNOOZED, DoseStatus.SENT)),
                    Dose.patient_id.in_(patients),
                )
                .values(next_action_at=now)
                .execution_options(synchronize_session=False)
            )
        result = await self.session.execute(
            select(Escalation.id, Escalation.tier).where(Escalation.next_action_at <= now)
        )
        return [(id_, tier) for id_, tier in result.all()]


# `Repository.claim`'s statements, one per model, guards and values changed: building a
# statement and its cache key costs more than running it. They are Core updates of the table:
# the ORM's update builds anew, at each run, what it compiles.
_claims: dict[tuple[object, ...], Update] = {}


def _claim(model: type[Base], when: Mapping[str, object], values: Mapping[str, object]) -> Update:
    """The guarded update of one row of `model`, its values and guards bound by name."""
    columns = inspect(model).columns
    guards: list[ColumnElement[bool]] = [columns["id"] == bindparam("row_id")]
    for name, value in when.items():
        column = columns[name]
        guards.append(column.is_(None) if value is None else column == bindparam(f"w_{name}"))
    bound = {columns[name]: bindparam(f"v_{name}", type_=columns[name].type) for name in values}
    return update(columns["id"].table).where(*guards).values(bound)
