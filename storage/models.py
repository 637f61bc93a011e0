"""Tables: patients, their plan holds, and one dose row per patient per local night."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Time,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

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


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    # What the bot waits for from this patient: an onboarding question or a settings change.
    awaiting: Mapped[str | None] = mapped_column(String(32))
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    start_date: Mapped[date | None] = mapped_column(Date)
    bedtime: Mapped[time | None] = mapped_column(Time)
    timezone: Mapped[str | None] = mapped_column(String(64))
    reminders_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

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
    def receives_reminders(self) -> bool:
        return self.enrolled and not self.reminders_paused and not self.blocked_bot


class PlanHold(Base):
    """A stretch of nights at the current dose; only a provider opens or releases one."""

    __tablename__ = "plan_holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    patient: Mapped[Patient] = relationship(back_populates="holds")


class Dose(Base):
    """One patient's one night: what to take, when to remind, and what happened."""

    __tablename__ = "doses"
    __table_args__ = (
        UniqueConstraint("patient_id", "night", name="uq_doses_patient_night"),
        # The dispatcher's only query: rows whose next action is due, oldest first.
        Index("ix_doses_next_action_at", "next_action_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    night: Mapped[date] = mapped_column(Date)
    step: Mapped[int] = mapped_column(Integer)
    dose_mg: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    capsule_mg: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    capsules: Mapped[int] = mapped_column(Integer)
    step_up: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16))
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
