"""The intake's queries: updates kept before they are confirmed, claimed, handled, then purged.

A claim is a lease: the process named in `claimed_by` handles the update until `claimed_until`,
renewing it while its handler runs. Only the oldest update of a chat not yet handled can be
claimed, so that a chat's updates are handled in order whichever process handles them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Integer, Table, bindparam, delete, exists, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningUpdate

from storage.db import rowcount
from storage.models import ReceivedUpdate

# On the table, not the mapped class: the ORM's bulk paths cost more than the statements here.
TABLE = cast(Table, ReceivedUpdate.__table__)
_KEPT = ("update_id", "chat_id", "payload", "received_at")
# As text, the same on both backends and built once: SQLAlchemy 2.0 compiles an
# `on_conflict_do_nothing` insert anew at each run, which costs more than the insert.
KEEP = text(
    f"INSERT INTO {TABLE.name} ({', '.join(_KEPT)}) VALUES ({', '.join(f':{c}' for c in _KEPT)}) "
    "ON CONFLICT (update_id) DO NOTHING"
).bindparams(*(bindparam(c, type_=TABLE.c[c].type) for c in _KEPT))


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
    await session.execute(KEEP, values)


def _claim_statement() -> ReturningUpdate[tuple[int, dict[str, Any] | None]]:
    """The claim, built once: building a statement this size costs more than running it."""
    candidate = TABLE.alias("candidate")
    older = TABLE.alias("older")
    earlier_in_chat = (
        select(older.c.update_id)
        .where(
            older.c.chat_id == candidate.c.chat_id,
            older.c.handled_at.is_(None),
            older.c.update_id < candidate.c.update_id,
        )
        .correlate(candidate)
    )
    picked = (
        select(candidate.c.update_id)
        .where(
            candidate.c.handled_at.is_(None),
            or_(candidate.c.claimed_until.is_(None), candidate.c.claimed_until < bindparam("now")),
            ~exists(earlier_in_chat),
            candidate.c.update_id.not_in(bindparam("skip", expanding=True)),
        )
        .order_by(candidate.c.update_id)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True, of=candidate)
    )
    return (
        update(TABLE)
        .where(TABLE.c.update_id.in_(picked.scalar_subquery()))
        .values(claimed_by=bindparam("by"), claimed_until=bindparam("until"))
        .returning(TABLE.c.update_id, TABLE.c.payload)
    )


CLAIM = _claim_statement()


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
    parameters = {"by": by, "now": now, "until": until, "limit": limit, "skip": list(skip)}
    result = await session.execute(CLAIM, parameters)
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


MARK_HANDLED = (
    update(TABLE)
    .where(TABLE.c.update_id.in_(bindparam("ids", expanding=True)))
    .values(handled_at=bindparam("now"), payload=None, claimed_by=None, claimed_until=None)
)


async def mark_handled(session: AsyncSession, update_ids: Iterable[int], now: datetime) -> None:
    """Mark updates handled and drop what they said: only their ids are kept, a day."""
    await session.execute(MARK_HANDLED, {"ids": list(update_ids), "now": now})


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
