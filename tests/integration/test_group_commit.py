"""Group commit (`storage/grouped.py`) on a real database: what comes while a transaction
commits goes together in the next; a failed transaction is written again one item at a time; a
caller returns once its own item is committed.

Runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.grouped import GroupCommit
from storage.models import Patient
from storage.repositories import Repository

NOW = datetime(2026, 3, 4, 17, 0, tzinfo=UTC)
BAD = 13  # an item that fails wherever it is written


class Killed(BaseException):
    """A SIGKILL here: no `except Exception` catches it."""


async def _stored(db: Database) -> list[int]:
    async with db.session() as session:
        rows = await session.execute(select(Patient.telegram_user_id))
        return sorted(rows.scalars().all())


class Writes:
    """Items are Telegram user ids: each is written as a patient's row."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.batches: list[list[int]] = []
        self.alone: list[int] = []
        self.hold = asyncio.Event()
        self.hold.set()
        self.entered = asyncio.Event()

    async def write_together(self, repo: Repository, items: list[int]) -> None:
        self.batches.append(items)
        self.entered.set()
        for item in items:
            await self._write(repo, item)
        await self.hold.wait()

    async def write_alone(self, repo: Repository, item: int) -> None:
        self.alone.append(item)
        await self._write(repo, item)

    async def _write(self, repo: Repository, item: int) -> None:
        if item == BAD:
            raise RuntimeError("a bad row")
        await repo.patients.add(item, item, NOW)

    def group(self) -> GroupCommit[int]:
        return GroupCommit(self.db, self.write_together, self.write_alone)

    async def first_held(self, group: GroupCommit[int]) -> asyncio.Future[None]:
        """Write item 1, its transaction held under way (not committed) until `hold` is set."""
        self.hold.clear()
        first = asyncio.ensure_future(group.write(1))
        await self.entered.wait()
        return first


async def test_what_comes_while_a_transaction_commits_goes_together_in_the_next(
    db: Database,
) -> None:
    writes = Writes(db)
    group = writes.group()
    first = await writes.first_held(group)  # the first transaction is under way, not committed
    more = [asyncio.ensure_future(group.write(n)) for n in (2, 3, 4, 5)]
    await asyncio.sleep(0.05)
    assert not first.done() and await _stored(db) == []  # nobody returns before the commit
    writes.hold.set()
    await asyncio.gather(first, *more)
    assert writes.batches == [[1], [2, 3, 4, 5]]
    assert await _stored(db) == [1, 2, 3, 4, 5]
    assert writes.alone == []


async def test_a_caller_returns_once_its_own_item_is_committed(db: Database) -> None:
    writes = Writes(db)
    group = writes.group()
    await group.write(7)
    assert await _stored(db) == [7]  # seen from another session: committed
    await group.write(8)
    assert writes.batches == [[7], [8]]


async def test_a_failed_transaction_is_written_again_one_at_a_time_and_only_the_bad_item_fails(
    db: Database,
) -> None:
    writes = Writes(db)
    group = writes.group()
    first = await writes.first_held(group)
    more = {n: asyncio.ensure_future(group.write(n)) for n in (2, BAD, 4)}
    writes.hold.set()
    await first
    await asyncio.gather(*more.values(), return_exceptions=True)
    assert more[2].result() is None and more[4].result() is None
    with pytest.raises(RuntimeError, match="a bad row"):
        more[BAD].result()
    assert writes.batches == [[1], [2, BAD, 4]]
    assert sorted(writes.alone) == [2, 4, BAD]
    assert await _stored(db) == [1, 2, 4]  # nothing of the failed transaction, the rest alone


async def test_a_kill_in_a_transaction_reaches_every_caller_and_commits_nothing(
    db: Database,
) -> None:
    writes = Writes(db)

    async def killed(repo: Repository, items: list[int]) -> None:
        await writes.write_together(repo, items)
        raise Killed

    group = GroupCommit(db, killed, writes.write_alone)
    first = await writes.first_held(group)
    queued = [asyncio.ensure_future(group.write(n)) for n in (2, 3)]  # behind the killed one
    writes.hold.set()
    # Every caller hears of it (none waits for ever).
    results = await asyncio.wait_for(asyncio.gather(first, *queued, return_exceptions=True), 5)
    assert all(isinstance(result, Killed) for result in results)
    assert writes.batches == [[1]]  # those queued behind it were not written either
    assert writes.alone == []  # a kill is not a failure to write again
    assert await _stored(db) == []


async def test_a_kill_while_rows_are_written_one_at_a_time_lets_the_others_finish_first(
    db: Database,
) -> None:
    writes = Writes(db)
    alone = writes.write_alone

    async def killed_at_the_bad_one(repo: Repository, item: int) -> None:
        if item == BAD:
            raise Killed
        await asyncio.sleep(0.05)  # the others are still writing when the kill comes
        await alone(repo, item)

    group = GroupCommit(db, writes.write_together, killed_at_the_bad_one)
    first = await writes.first_held(group)
    more = {n: asyncio.ensure_future(group.write(n)) for n in (2, BAD, 4)}
    writes.hold.set()
    await first
    await asyncio.gather(*more.values(), return_exceptions=True)
    assert more[2].result() is None and more[4].result() is None  # written, and told so
    assert isinstance(more[BAD].exception(), Killed)
    assert await _stored(db) == [1, 2, 4]


async def test_a_caller_cancelled_while_it_waits_leaves_its_item_committed(db: Database) -> None:
    """A stop that cuts a round short: the reminder went out, so its record still goes in."""
    writes = Writes(db)
    group = writes.group()
    waiting = await writes.first_held(group)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    writes.hold.set()
    await group.wait()
    assert await _stored(db) == [1]
