"""Invites: the links a provider makes to enrol a patient, read by code, used once (the first /start
wins), and withdrawn by label while still waiting.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from storage.db import rowcount
from storage.models import Invite
from storage.repositories.base import Aggregate


class Invites(Aggregate):
    """Invitation links."""

    async def get(self, code: str) -> Invite | None:
        result = await self.session.execute(select(Invite).where(Invite.code == code))
        return result.scalar_one_or_none()

    async def claim(self, invite_id: int, now: datetime, patient_id: int) -> bool:
        """Use an invitation once: the first /start with it wins."""
        result = await self.session.execute(
            update(Invite)
            .where(Invite.id == invite_id, Invite.used_at.is_(None), Invite.expires_at > now)
            .values(used_at=now, patient_id=patient_id)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    async def revoke(self, label: str, now: datetime, by: int) -> list[str]:
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
