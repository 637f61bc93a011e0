"""The intake's queries: updates kept before they are confirmed, claimed, handled, then purged.

A claim is a lease: the process named in `claimed_by` handles the update until `claimed_until`,
renewing it while its handler runs. Only the oldest update of a chat not yet handled can be
claimed, so that a chat's updates are handled in order whichever process handles them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

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


async def claim(
    session: AsyncSession,
    by: str,
    now: datetime,
    until: datetime,
    limit: int,
    skip: Iterable[int] = (),
) -> list[tuple[int, dict[str, Any]]]:
    """Claim for `by` until `until` up to `limit` updates, oldest first; (update_id, payload) each.

    Claimable: not handled, not claimed or its claim ran out by `now`, not in `skip`, and the
    oldest of its chat not handled yet (an update without a chat stands alone). One statement:
    on PostgreSQL the rows are locked as they are picked and rows another process is claiming
    at that moment are skipped (`FOR UPDATE SKIP LOCKED`); SQLite has one writer at a time.
    """
    candidate = aliased(ReceivedUpdate, name="candidate")
    older = aliased(ReceivedUpdate, name="older")
    earlier_in_chat = (
        select(older.update_id)
        .where(
            older.chat_id == candidate.chat_id,
            older.handled_at.is_(None),
            older.update_id < candidate.update_id,
        )
        .correlate(candidate)
    )
    picked = (
        select(candidate.update_id)
        .where(
            candidate.handled_at.is_(None),
            or_(candidate.claimed_until.is_(None), candidate.claimed_until < now),
            ~exists(earlier_in_chat),
        )
        .order_by(candidate.update_id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=candidate)
    )
    skipped = list(skip)
    if skipped:
        picked = picked.where(candidate.update_id.not_in(skipped))
    result = await session.execute(
        update(ReceivedUpdate)
        .where(ReceivedUpdate.update_id.in_(picked.scalar_subquery()))
        .values(claimed_by=by, claimed_until=until)
        .returning(ReceivedUpdate.update_id, ReceivedUpdate.payload)
    )
    # RETURNING keeps no order.
    return sorted(((row.update_id, row.payload) for row in result), key=lambda row: row[0])


async def renew(session: AsyncSession, by: str, update_ids: Iterable[int], until: datetime) -> int:
    """Extend `by`'s claims on these updates to `until`; how many it still held."""
    result = await session.execute(
        update(ReceivedUpdate)
        .where(
            ReceivedUpdate.update_id.in_(list(update_ids)),
            ReceivedUpdate.claimed_by == by,
            ReceivedUpdate.handled_at.is_(None),
        )
        .values(claimed_until=until)
    )
    return rowcount(result) or 0


async def release(session: AsyncSession, by: str, update_ids: Iterable[int]) -> None:
    """Give up `by`'s claims on these updates: claimable again at once, by any process."""
    await session.execute(
        update(ReceivedUpdate)
        .where(ReceivedUpdate.update_id.in_(list(update_ids)), ReceivedUpdate.claimed_by == by)
        .values(claimed_by=None, claimed_until=None)
    )


async def unclaimed(session: AsyncSession, now: datetime, limit: int) -> list[dict[str, Any]]:
    """The payloads of the oldest updates not handled and not claimed by a live claim (a read)."""
    result = await session.execute(
        select(ReceivedUpdate.payload)
        .where(
            ReceivedUpdate.handled_at.is_(None),
            or_(ReceivedUpdate.claimed_until.is_(None), ReceivedUpdate.claimed_until < now),
        )
        .order_by(ReceivedUpdate.update_id)
        .limit(limit)
    )
    return [payload for payload in result.scalars() if payload]


async def mark_handled(session: AsyncSession, update_ids: Iterable[int], now: datetime) -> None:
    """Mark updates handled and drop what they said: only their ids are kept, a day."""
    await session.execute(
        update(ReceivedUpdate)
        .where(ReceivedUpdate.update_id.in_(list(update_ids)))
        .values(handled_at=now, payload=None, claimed_by=None, claimed_until=None)
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
