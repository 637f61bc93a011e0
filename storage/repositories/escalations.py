"""Escalations: the alerts raised to the care team, their decisions (recorded once: a second press
finds them handled), and the alert messages, the copies delivered to each provider's chat, with
the reply prompts mapped to the alert they ask about.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import selectinload

from bot.rules.states import EscalationStatus, TierCode
from storage.db import rowcount
from storage.models import AlertMessage, Escalation, Patient
from storage.repositories.base import Aggregate


class Escalations(Aggregate):
    """Alerts to the care team and the copies delivered of them."""

    async def get(self, escalation_id: int) -> Escalation | None:
        return await self.session.get(
            Escalation,
            escalation_id,
            options=[selectinload(Escalation.patient).selectinload(Patient.holds)],
        )

    async def due_ids(self, now: datetime, limit: int) -> list[int]:
        result = await self.session.execute(
            select(Escalation.id)
            .where(Escalation.next_action_at <= now)
            .order_by(Escalation.next_action_at)
            .limit(limit)
        )
        return list(result.scalars().all())

    async def decide(
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

    async def of_patient(self, patient_id: int) -> list[Escalation]:
        result = await self.session.execute(
            select(Escalation).where(Escalation.patient_id == patient_id).order_by(Escalation.id)
        )
        return list(result.scalars().all())

    async def open_of(self, patient_id: int) -> list[Escalation]:
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

    async def messages(self, escalation_id: int) -> list[AlertMessage]:
        result = await self.session.execute(
            select(AlertMessage)
            .where(AlertMessage.escalation_id == escalation_id)
            .order_by(AlertMessage.id)
        )
        return list(result.scalars().all())

    async def message_at(self, chat_id: int, message_id: int) -> AlertMessage | None:
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
            await self._add(row)
        row.message_id, row.sent_at = message_id, now

    async def alert_copies(self, patient_id: int) -> list[tuple[int, int]]:
        """(chat, message) of every delivered copy of the patient's alerts."""
        result = await self.session.execute(
            select(AlertMessage.chat_id, AlertMessage.message_id)
            .join(Escalation, AlertMessage.escalation_id == Escalation.id)
            .where(Escalation.patient_id == patient_id, AlertMessage.message_id.is_not(None))
        )
        return [(chat, message) for chat, message in result.all()]
