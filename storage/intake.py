"""The intake's queries: updates kept before they are confirmed, handled in order, then purged."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import rowcount
from storage.models import ReceivedUpdate


async def keep(
    session: AsyncSession, rows: Iterable[tuple[int, int | None, dict[str, Any]]], now: datetime
) -> None:
    """Insert each (update_id, chat_id, payload) not kept yet: an update sent twice is kept once."""
    values = [
        {"update_id": update_id, "chat_id": chat_id, "payload": payload, "received_at": now}
        for update_id, chat_id, payload in rows
    ]
    if not values:
        return
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(ReceivedUpdate).on_conflict_do_nothing(index_elements=["update_id"])
    await session.execute(statement, values)


async def pending(session: AsyncSession, limit: int) -> list[tuple[int, dict[str, Any]]]:
    """Updates not handled yet, oldest first."""
    result = await session.execute(
        select(ReceivedUpdate.update_id, ReceivedUpdate.payload)
        .where(ReceivedUpdate.handled_at.is_(None))
        .order_by(ReceivedUpdate.update_id)
        .limit(limit)
    )
    return [(row.update_id, row.payload) for row in result]


async def mark_handled(session: AsyncSession, update_ids: Iterable[int], now: datetime) -> None:
    """Mark updates handled and drop what they said: only their ids are kept, a day."""
    await session.execute(
        update(ReceivedUpdate)
        .where(ReceivedUpdate.update_id.in_(list(update_ids)))
        .values(handled_at=now, payload=None)
    )


async def purge(session: AsyncSession, handled_before: datetime) -> int:
    """Delete the updates handled before the given instant; how many went."""
    result = await session.execute(
        delete(ReceivedUpdate).where(ReceivedUpdate.handled_at < handled_before)
    )
    return rowcount(result) or 0


async def forget_chat(session: AsyncSession, chat_id: int, upto: int | None = None) -> None:
    """Delete the updates kept from a chat (a patient's `/delete`), up to `upto` if given.

    Updates after `upto` came after the request and are not handled yet: they must be.
    """
    statement = delete(ReceivedUpdate).where(ReceivedUpdate.chat_id == chat_id)
    if upto is not None:
        statement = statement.where(ReceivedUpdate.update_id <= upto)
    await session.execute(statement)
