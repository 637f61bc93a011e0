"""Queries and writes, one place for SQL; repositories never commit, the use case does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction
from sqlalchemy.orm import selectinload

from bot.rules.states import (
    DoseStatus,
    EscalationStatus,
    HoldKind,
    ReportKind,
    ReportStatus,
    TierCode,
)
from storage.db import rowcount
from storage.models import (
    AdminNotice,
    AlertMessage,
    AuditEntry,
    Base,
    CareTeamMember,
    Dose,
    Escalation,
    Invite,
    Patient,
    PlanHold,
    Report,
)


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
    """Everything the use cases read and write, over one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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

    async def delete_patient(self, patient: Patient, now: datetime | None = None) -> None:
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

    async def latest_dose(
        self, patient_id: int, before: date | None = None, statuses: Sequence[str] = ()
    ) -> Dose | None:
        """The patient's newest night (before `before`, in one of `statuses` when given)."""
        query = select(Dose).where(Dose.patient_id == patient_id)
        if before is not None:
            query = query.where(Dose.night < before)
        if statuses:
            query = query.where(Dose.status.in_(statuses))
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
            select(Dose).where(Dose.patient_id == patient_id, Dose.status == DoseStatus.SCHEDULED)
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
        moments = []
        for model in (Dose, Report, Escalation, AdminNotice):
            result = await self.session.execute(select(func.min(model.next_action_at)))
            moment = result.scalar_one_or_none()
            if moment is not None:
                moments.append(moment)
        return min(moments, default=None)

    async def claim(
        self, model: type[Base], row_id: int, when: Mapping[str, object], **values: object
    ) -> bool:
        """Move one row on only if it still is as `when` says: the guard against sending twice.

        `when` maps columns to the values they must still hold (None: empty), say
        `{"status": "scheduled"}` or `{"next_action_at": due}`; whoever loses changes nothing.
        """
        guards: list[ColumnElement[bool]] = [model.id == row_id]  # type: ignore[attr-defined]
        for name, value in when.items():
            column = getattr(model, name)
            guards.append(column.is_(None) if value is None else column == value)
        result = await self.session.execute(
            update(model)
            .where(*guards)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    async def claims_before(self, deadline: datetime, now: datetime) -> int:
        """Make every send claimed with a deadline before `deadline` due now; return how many."""
        result = await self.session.execute(
            update(Dose)
            .where(Dose.status == DoseStatus.SENDING, Dose.next_action_at < deadline)
            .values(next_action_at=now)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result)

    async def patients_without_next_night(self) -> list[int]:
        """Patients who should be reminded but have no night planned and none being sent."""
        planned = select(Dose.id).where(
            Dose.patient_id == Patient.id,
            Dose.status.in_((DoseStatus.SCHEDULED, DoseStatus.SENDING)),
        )
        result = await self.session.execute(
            select(Patient.id)
            .where(
                Patient.enrolled_at.is_not(None),
                Patient.start_date.is_not(None),
                Patient.bedtime.is_not(None),
                Patient.timezone.is_not(None),
                Patient.reminders_paused.is_not(True),
                Patient.blocked_bot.is_not(True),
                Patient.awaiting_clearance.is_not(True),
                Patient.provider_paused.is_not(True),
                Patient.withheld_at.is_(None),
                ~planned.exists(),
            )
            .order_by(Patient.id)
        )
        return list(result.scalars().all())

    async def statuses(self, patient_id: int, last: int, until: date | None = None) -> list[str]:
        """The statuses of the patient's newest `last` nights (up to `until`), oldest first."""
        query = select(Dose.status).where(Dose.patient_id == patient_id)
        if until is not None:
            query = query.where(Dose.night <= until)
        result = await self.session.execute(query.order_by(Dose.night.desc()).limit(last))
        return list(reversed(result.scalars().all()))

    # Patients, by what providers call them

    async def patient_by_label(self, label: str) -> Patient | None:
        result = await self.session.execute(
            select(Patient)
            .where(func.lower(Patient.label) == label.lower())
            .options(selectinload(Patient.holds))
        )
        return result.scalars().first()

    async def label_taken(self, label: str, now: datetime) -> bool:
        """Whether a patient, or an invitation still waiting, already goes by this label."""
        if await self.patient_by_label(label) is not None:
            return True
        result = await self.session.execute(
            select(Invite.id).where(
                func.lower(Invite.label) == label.lower(),
                Invite.used_at.is_(None),
                Invite.expires_at > now,
            )
        )
        return result.first() is not None

    async def remove_hold(self, patient: Patient, hold: PlanHold) -> None:
        patient.holds.remove(hold)
        await self.session.flush()

    async def delete_holds(self, patient: Patient) -> None:
        for hold in list(patient.holds):
            patient.holds.remove(hold)
        await self.session.flush()

    # Invitations

    async def add(self, row: object) -> None:
        self.session.add(row)
        await self.session.flush()

    async def invite(self, code: str) -> Invite | None:
        result = await self.session.execute(select(Invite).where(Invite.code == code))
        return result.scalar_one_or_none()

    async def claim_invite(self, invite_id: int, now: datetime, patient_id: int) -> bool:
        """Use an invitation once: the first /start with it wins."""
        result = await self.session.execute(
            update(Invite)
            .where(Invite.id == invite_id, Invite.used_at.is_(None), Invite.expires_at > now)
            .values(used_at=now, patient_id=patient_id)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    async def revoke_invites(self, label: str, now: datetime, by: int) -> list[str]:
        """End the waiting invitations for `label` now; return their labels as prescribed."""
        result = await self.session.execute(
            update(Invite)
            .where(
                func.lower(Invite.label) == label.lower(),
                Invite.used_at.is_(None),
                Invite.expires_at > now,
            )
            .values(expires_at=now, revoked_at=now, revoked_by=by)
            .returning(Invite.label)
            .execution_options(synchronize_session=False)
        )
        return list(result.scalars().all())

    # Side-effect reports

    async def report(self, report_id: int) -> Report | None:
        return await self.session.get(
            Report, report_id, options=[selectinload(Report.patient).selectinload(Patient.holds)]
        )

    async def open_report(self, patient_id: int) -> Report | None:
        """The check-in the patient is answering now, if any."""
        result = await self.session.execute(
            select(Report)
            .where(Report.patient_id == patient_id, Report.status == ReportStatus.OPEN)
            .order_by(Report.id.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def report_on(self, patient_id: int, night: date) -> Report | None:
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

    async def tolerance_report(self, patient_id: int, step: int) -> Report | None:
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

    async def done_reports(
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

    async def due_report_ids(self, now: datetime, limit: int) -> list[int]:
        result = await self.session.execute(
            select(Report.id)
            .where(Report.next_action_at <= now)
            .order_by(Report.next_action_at)
            .limit(limit)
        )
        return list(result.scalars().all())

    # Escalations

    async def escalation(self, escalation_id: int) -> Escalation | None:
        return await self.session.get(
            Escalation,
            escalation_id,
            options=[selectinload(Escalation.patient).selectinload(Patient.holds)],
        )

    async def due_escalation_ids(self, now: datetime, limit: int) -> list[int]:
        result = await self.session.execute(
            select(Escalation.id)
            .where(Escalation.next_action_at <= now)
            .order_by(Escalation.next_action_at)
            .limit(limit)
        )
        return list(result.scalars().all())

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

    async def decide_escalation(
        self,
        escalation_id: int,
        expected: tuple[str, ...],
        *,
        after: tuple[str, ...] = (),
        **values: object,
    ) -> bool:
        """Record a provider's action once: a second provider's press finds it handled.

        `after` lists earlier decisions this one may follow (a hold may later be released).
        """
        allowed: ColumnElement[bool] = Escalation.status.in_(expected)
        if after:
            allowed = or_(
                allowed,
                and_(Escalation.status == EscalationStatus.DECIDED, Escalation.decision.in_(after)),
            )
        result = await self.session.execute(
            update(Escalation)
            .where(Escalation.id == escalation_id, allowed)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    async def alert_messages(self, escalation_id: int) -> list[AlertMessage]:
        result = await self.session.execute(
            select(AlertMessage)
            .where(AlertMessage.escalation_id == escalation_id)
            .order_by(AlertMessage.id)
        )
        return list(result.scalars().all())

    async def alert_message_at(self, chat_id: int, message_id: int) -> AlertMessage | None:
        result = await self.session.execute(
            select(AlertMessage).where(
                AlertMessage.chat_id == chat_id, AlertMessage.message_id == message_id
            )
        )
        return result.scalars().first()

    async def keep_reply_prompt(
        self, escalation_id: int, chat_id: int, message_id: int, now: datetime
    ) -> None:
        """Map a provider's reply question to its escalation, as round 0 (never a delivery).

        One per chat: a newer question replaces the older one's mapping.
        """
        result = await self.session.execute(
            select(AlertMessage).where(
                AlertMessage.escalation_id == escalation_id,
                AlertMessage.round == 0,
                AlertMessage.chat_id == chat_id,
            )
        )
        row = result.scalars().first()
        if row is None:
            row = AlertMessage(escalation_id=escalation_id, round=0, chat_id=chat_id, failures=0)
            await self.add(row)
        row.message_id, row.sent_at = message_id, now

    async def patient_escalations(self, patient_id: int) -> list[Escalation]:
        return await self.rows_about(Escalation, patient_id)

    async def open_escalations(self, patient_id: int) -> list[Escalation]:
        """Alerts not decided yet (a patient's messages wait for no decision)."""
        result = await self.session.execute(
            select(Escalation)
            .where(
                Escalation.patient_id == patient_id,
                Escalation.status != EscalationStatus.DECIDED,
                Escalation.tier != TierCode.MESSAGE,
            )
            .order_by(Escalation.id)
        )
        return list(result.scalars().all())

    async def audit(
        self,
        patient_id: int,
        actor: int,
        at: datetime,
        action: str,
        detail: dict,
        escalation_id: int | None = None,
    ) -> AuditEntry:
        entry = AuditEntry(
            patient_id=patient_id,
            escalation_id=escalation_id,
            actor_user_id=actor,
            at=at,
            action=action,
            detail=detail,
        )
        await self.add(entry)
        return entry

    # The care team's names

    async def remember_name(self, user_id: int, name: str, now: datetime) -> bool:
        """Keep the name a provider goes by on Telegram; whether it was new or changed."""
        row = await self.session.get(CareTeamMember, user_id)
        if row is None:
            await self.add(CareTeamMember(user_id=user_id, name=name, seen_at=now))
        elif row.name != name:
            row.name, row.seen_at = name, now
        else:
            return False
        return True

    async def names(self, user_ids: Sequence[int | None]) -> dict[int, str]:
        """user id -> name, for the ids whose names are known."""
        wanted = {i for i in user_ids if i is not None}
        if not wanted:
            return {}
        result = await self.session.execute(
            select(CareTeamMember.user_id, CareTeamMember.name).where(
                CareTeamMember.user_id.in_(wanted)
            )
        )
        return dict(result.tuples().all())

    async def rows_about(self, model: Any, patient_id: int) -> list[Any]:
        """Every row of a patient's table (nights, reports, escalations, audit), oldest first."""
        result = await self.session.execute(
            select(model).where(model.patient_id == patient_id).order_by(model.id)
        )
        return list(result.scalars().all())

    async def alert_copies(self, patient_id: int) -> list[tuple[int, int]]:
        """(chat, message) of every delivered copy of the patient's alerts."""
        result = await self.session.execute(
            select(AlertMessage.chat_id, AlertMessage.message_id)
            .join(Escalation, AlertMessage.escalation_id == Escalation.id)
            .where(Escalation.patient_id == patient_id, AlertMessage.message_id.is_not(None))
        )
        return [(chat, message) for chat, message in result.all()]

    # Admin notices, and what an outage put back

    async def admin_notice(self, admin_id: int, kind: str, since: datetime) -> AdminNotice | None:
        """The admin's newest notice of that kind updated since `since`: the one to fold into."""
        result = await self.session.execute(
            select(AdminNotice)
            .where(
                AdminNotice.admin_id == admin_id,
                AdminNotice.kind == kind,
                AdminNotice.updated_at >= since,
            )
            .order_by(AdminNotice.id.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def notice(self, notice_id: int) -> AdminNotice | None:
        return await self.session.get(AdminNotice, notice_id)

    async def due_notice_ids(self, now: datetime, limit: int) -> list[int]:
        result = await self.session.execute(
            select(AdminNotice.id)
            .where(AdminNotice.next_action_at <= now)
            .order_by(AdminNotice.next_action_at)
            .limit(limit)
        )
        return list(result.scalars().all())

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
        "sending", the alerts and notices in `busy`), and none that waits out a flood limit of
        a chat in `flooded`. Returns the alerts due now as (id, tier).
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
