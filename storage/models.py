"""Tables: patients, plan holds, nightly doses, and the care loop: invites, side-effect reports,
escalations with their provider messages, and the audit of every provider decision."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ColumnElement,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    and_,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.rules.states import (
    DECIDED,
    ESCALATION_TIERS,
    REPORT_TIERS,
    AuditAction,
    Awaiting,
    Decision,
    DoseStatus,
    EscalationStatus,
    HoldKind,
    ReportKind,
    ReportStatus,
    StopCode,
    TierCode,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Store instants as UTC and always hand back aware datetimes (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


E = TypeVar("E", bound=StrEnum)


class Vocabulary(TypeDecorator[E]):
    """A column of one of `bot.rules.states`' enums: stored as its string, read back as a member."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Any) -> E | None:
        return None if value is None else self.enum(value)


def one_of(column: str, values: Iterable[str]) -> CheckConstraint:
    """The database's own refusal of any value of `column` but these (named ck_<table>_<column>)."""
    values = tuple(values)
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(
        f"{column} IN ({listed})", name=column, info={"column": column, "values": values}
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Patient(Base):
    __tablename__ = "patients"
    __table_args__ = (one_of("awaiting", Awaiting),)

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    # What the bot waits for from this patient: an onboarding question or a settings change.
    awaiting: Mapped[Awaiting | None] = mapped_column(Vocabulary(Awaiting, 32))
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    start_date: Mapped[date | None] = mapped_column(Date)
    bedtime: Mapped[time | None] = mapped_column(Time)
    timezone: Mapped[str | None] = mapped_column(String(64))
    reminders_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # How providers name the patient: initials or a chart number, never required to be a name.
    label: Mapped[str | None] = mapped_column(String(64), index=True)
    # The enrollment screening's answers (question code -> yes/no).
    screening: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    thyroid_medication: Mapped[bool] = mapped_column(Boolean, default=False)
    # A screening "yes": the first dose waits until a provider clears the patient.
    awaiting_clearance: Mapped[bool] = mapped_column(Boolean, default=False)
    # A provider paused LDN: no reminders until a provider says to go on.
    provider_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # A provider moved the dose to the morning: the reminder says so.
    morning_dose: Mapped[bool] = mapped_column(Boolean, default=False)
    # A contraindication or a sign of harm: no LDN, and no reminders, until a provider decides.
    withheld_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Always loaded with the patient: every dose rule needs them, and async code cannot lazy-load.
    holds: Mapped[list[PlanHold]] = relationship(
        back_populates="patient",
        cascade="all, delete-orphan",
        order_by="PlanHold.start",
        lazy="selectin",
    )

    @property
    def enrolled(self) -> bool:
        return self.enrolled_at is not None

    @property
    def dose_holds(self) -> list[PlanHold]:
        """The holds that keep the patient at the current dose (not the nights off)."""
        return [h for h in self.holds if h.kind != HoldKind.OFF]

    @property
    def receives_reminders(self) -> bool:
        return (
            self.enrolled
            and not self.reminders_paused
            and not self.blocked_bot
            and not self.awaiting_clearance
            and not self.provider_paused
            and self.withheld_at is None
        )


def receives_reminders() -> ColumnElement[bool]:
    """`Patient.receives_reminders`, in SQL: a patient whose reminders go out."""
    return and_(
        Patient.enrolled_at.is_not(None),
        Patient.reminders_paused.is_(False),
        Patient.blocked_bot.is_(False),
        Patient.awaiting_clearance.is_(False),
        Patient.provider_paused.is_(False),
        Patient.withheld_at.is_(None),
    )


class PlanHold(Base):
    """A stretch of nights that do not count toward a step.

    `hold`: the increase waits at the current dose (opened for a concern, released only by a
    provider). `off`: nights the patient did not take LDN (skipped, missed, paused, withheld):
    a step counts the nights actually on its dose.
    """

    __tablename__ = "plan_holds"
    __table_args__ = (one_of("kind", HoldKind),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[HoldKind] = mapped_column(
        Vocabulary(HoldKind, 16), default=HoldKind.HOLD, server_default=HoldKind.HOLD.value
    )

    patient: Mapped[Patient] = relationship(back_populates="holds")


class Dose(Base):
    """One patient's one night: what to take, when to remind, and what happened."""

    __tablename__ = "doses"
    __table_args__ = (
        UniqueConstraint("patient_id", "night", name="uq_doses_patient_night"),
        # The dispatcher's only query: rows whose next action is due, oldest first.
        Index("ix_doses_next_action_at", "next_action_at"),
        one_of("status", DoseStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    night: Mapped[date] = mapped_column(Date)
    step: Mapped[int] = mapped_column(Integer)
    dose_mg: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    capsule_mg: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    capsules: Mapped[int] = mapped_column(Integer)
    step_up: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[DoseStatus] = mapped_column(Vocabulary(DoseStatus, 16))
    remind_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cutoff_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminder_message_id: Mapped[int | None] = mapped_column(BigInteger)
    followup_message_id: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_late: Mapped[bool] = mapped_column(Boolean, default=False)
    followup_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    snoozes: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    patient: Mapped[Patient] = relationship()


class Invite(Base):
    """A provider's prescription waiting for its patient: a one-time link that enrolls on a plan."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    label: Mapped[str] = mapped_column(String(64))
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    patient_id: Mapped[int | None] = mapped_column(
        ForeignKey("patients.id", ondelete="SET NULL"), index=True
    )
    # A withdrawn link also expires at that moment, so every "still waiting" query holds.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[int | None] = mapped_column(BigInteger)


class Report(Base):
    """One side-effect check-in: planned, asked, answered question by question, then sorted."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_next_action_at", "next_action_at"),
        one_of("kind", ReportKind),
        one_of("status", ReportStatus),
        one_of("tier", REPORT_TIERS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    # step_up or weekly, tolerance (before an increase), asked (/sideeffects), message
    kind: Mapped[ReportKind] = mapped_column(Vocabulary(ReportKind, 16))
    # scheduled -> open (asked) -> done; or expired when it was never finished
    status: Mapped[ReportStatus] = mapped_column(Vocabulary(ReportStatus, 16))
    night: Mapped[date] = mapped_column(Date)
    for_step: Mapped[int | None] = mapped_column(Integer)
    dose_mg: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    next_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    words: Mapped[str | None] = mapped_column(Text)
    tier: Mapped[TierCode | None] = mapped_column(Vocabulary(TierCode, 16))
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    patient: Mapped[Patient] = relationship()


class Escalation(Base):
    """Something a provider must see: stored first, then delivered, raised again until handled."""

    __tablename__ = "escalations"
    __table_args__ = (
        Index("ix_escalations_next_action_at", "next_action_at"),
        one_of("tier", ESCALATION_TIERS),
        one_of("status", EscalationStatus),
        one_of("decision", DECIDED),
        one_of("stop", StopCode),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"))
    tier: Mapped[TierCode] = mapped_column(Vocabulary(TierCode, 16))
    # [[reason code, effect or null], ...], most serious first
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    words: Mapped[str | None] = mapped_column(Text)
    # open -> acknowledged -> decided
    status: Mapped[EscalationStatus] = mapped_column(Vocabulary(EscalationStatus, 16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Claimed and being sent until then (a process died in between once it has passed).
    sending_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rounds: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[int | None] = mapped_column(BigInteger)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision: Mapped[Decision | None] = mapped_column(Vocabulary(Decision, 16))
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the patient was told to do while it waits: withhold (no LDN), hold (no increase).
    stop: Mapped[StopCode | None] = mapped_column(Vocabulary(StopCode, 16))
    # Later findings folded into this alert while it was open: how many, the newest's time, and
    # its {"reasons": [[reason, effect], ...], "words": ...} (the providers' copies say "New: ...").
    folded: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    folded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    latest: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    patient: Mapped[Patient] = relationship()


class AlertMessage(Base):
    """One escalation sent to one chat in one round: where its buttons are, for edits, replies."""

    __tablename__ = "alert_messages"
    __table_args__ = (
        UniqueConstraint("escalation_id", "round", "chat_id", name="uq_alert_messages_round_chat"),
        Index("ix_alert_messages_chat_message", "chat_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(
        ForeignKey("escalations.id", ondelete="CASCADE"), index=True
    )
    round: Mapped[int] = mapped_column(Integer)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)


class AdminNotice(Base):
    """A notice to one admin, stored before it is sent: it names chats and alerts, never a patient.

    Repeats of one kind fold into one row (its count and text updated, its message edited).
    """

    __tablename__ = "admin_notices"
    __table_args__ = (
        Index("ix_admin_notices_next_action_at", "next_action_at"),
        Index("ix_admin_notices_admin_kind", "admin_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    admin_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sending_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # as an escalation's
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The count the admin's message shows: below `count`, it is due to be edited.
    sent_count: Mapped[int] = mapped_column(Integer, default=0)


class Digest(Base):
    """The care team's daily digest to one provider chat: planned for its day, then sent once.

    It holds no patient data: what it says is read when it is sent.
    """

    __tablename__ = "digests"
    __table_args__ = (
        UniqueConstraint("chat_id", "day", name="uq_digests_chat_day"),
        Index("ix_digests_next_action_at", "next_action_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    day: Mapped[date] = mapped_column(Date)  # in DEFAULT_TIMEZONE
    next_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sending_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # as an escalation's
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """A provider's action on a patient's plan or care: who, when, what, and why."""

    __tablename__ = "audit"
    __table_args__ = (one_of("action", AuditAction),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    escalation_id: Mapped[int | None] = mapped_column(
        ForeignKey("escalations.id", ondelete="SET NULL")
    )
    actor_user_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[AuditAction] = mapped_column(Vocabulary(AuditAction, 24))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class CareTeamMember(Base):
    """A provider's name as Telegram gave it, so alerts say who acted, not an id.

    Written when they act (a decision, a reply to a patient) and their name is new or changed
    (`seen_at` is then); the audit keeps the stable user id.
    """

    __tablename__ = "care_team"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(128))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReceivedUpdate(Base):
    """An update from Telegram, kept before Telegram is told it arrived, until it is handled.

    The payload holds a patient's words: it is dropped the moment the update is handled (the
    row stays a day, so that an update Telegram sends again is known), and `/delete` removes the
    patient's rows at once.
    """

    __tablename__ = "updates"
    __table_args__ = (Index("ix_updates_handled_at", "handled_at"),)

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Which process handles it, until when (`bot/delivery/intake.py`): a lease, renewed while
    # the handler runs; once it ran out (the process died), another process takes it over.
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
