"""Notices: what the bot tells its admins (a delivery failing, a chat moved), read by id, the newest
of a kind to fold a repeat into, and those whose next action is due.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from storage.models import AdminNotice
from storage.repositories.base import Aggregate


class Notices(Aggregate):
    """The admins' notices."""

    async def foldable(self, admin_id: int, kind: str, since: datetime) -> AdminNotice | None:
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

    async def get(self, notice_id: int) -> AdminNotice | None:
        return await self.session.get(AdminNotice, notice_id)

    async def due_ids(self, now: datetime, limit: int) -> list[int]:
        result = await self.session.execute(
            select(AdminNotice.id)
            .where(AdminNotice.next_action_at <= now)
            .order_by(AdminNotice.next_action_at)
            .limit(limit)
        )
        return list(result.scalars().all())
