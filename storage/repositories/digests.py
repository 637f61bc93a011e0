"""Digests: the care team's daily digest to each provider chat, planned for a day, sent once."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import bindparam, select, text

from storage.db import rowcount
from storage.models import Digest
from storage.repositories.base import Aggregate

# A day's digest planned once per chat: the row another process planned first is left alone.
_PLAN = text(
    "INSERT INTO digests (chat_id, day, next_action_at, attempts) "
    "VALUES (:chat_id, :day, :at, 0) ON CONFLICT (chat_id, day) DO NOTHING"
).bindparams(
    bindparam("chat_id", type_=Digest.__table__.c.chat_id.type),
    bindparam("day", type_=Digest.__table__.c.day.type),
    bindparam("at", type_=Digest.__table__.c.next_action_at.type),
)


class Digests(Aggregate):
    """The care team's digests."""

    async def plan(self, chat_id: int, day: date, at: datetime) -> bool:
        """Plan the digest of `day` to a chat, due `at`; False when it was planned already."""
        result = await self.session.execute(_PLAN, {"chat_id": chat_id, "day": day, "at": at})
        return rowcount(result) == 1

    async def get(self, digest_id: int) -> Digest | None:
        return await self.session.get(Digest, digest_id)

    async def due_ids(self, now: datetime, limit: int) -> list[int]:
        result = await self.session.execute(
            select(Digest.id)
            .where(Digest.next_action_at <= now)
            .order_by(Digest.next_action_at)
            .limit(limit)
        )
        return list(result.scalars().all())
