"""Group commit: writes from tasks running side by side, committed together.

Each caller hands over its item and waits until it is committed. One transaction is under way at
a time, and the items that come while it commits go together in the next one: under load a
transaction carries many, alone it carries one and waits for nothing. A caller returns only once
its own item is committed, so what it does next (send the next reminder, say) never runs ahead of
its record.

Should a transaction fail, its items are written again one at a time, each in a transaction of
its own: one bad item fails alone, and only its caller hears of it. A guarded write (the row
still as its claim left it) makes writing an item again harmless, even when the failed commit
did arrive.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from storage.db import Database
from storage.repositories import Repository

log = logging.getLogger(__name__)

T = TypeVar("T")


class GroupCommit(Generic[T]):
    """Write items `together` in one transaction, or `alone` when that failed."""

    def __init__(
        self,
        db: Database,
        together: Callable[[Repository, list[T]], Awaitable[None]],
        alone: Callable[[Repository, T], Awaitable[None]],
    ) -> None:
        self.db = db
        self.together = together
        self.alone = alone
        self._waiting: list[tuple[T, asyncio.Future[None]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def write(self, item: T) -> None:
        """Write `item` with whatever else comes meanwhile; return once it is committed.

        Raises what failed it. A caller cancelled while it waits leaves its item to be
        committed all the same.
        """
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._writing is None or self._writing.done():
            # In a context of its own: the first caller's log fields (its row) are not the
            # batch's.
            loop = asyncio.get_running_loop()
            self._writing = loop.create_task(self._write_all(), context=contextvars.Context())
        await done

    async def wait(self) -> None:
        """Let the transaction under way, and those queued behind it, finish (at shutdown)."""
        if self._writing is not None:
            await asyncio.gather(self._writing, return_exceptions=True)

    async def _write_all(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await self._write(batch)
            except BaseException as exc:  # cancelled at shutdown, or a kill: every caller hears
                for _, done in batch + self._waiting:
                    if done.done():
                        continue
                    if isinstance(exc, asyncio.CancelledError):
                        done.cancel()
                    else:
                        done.set_exception(exc)
                self._waiting = []
                if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
                    raise
                return

    async def _write(self, batch: list[tuple[T, asyncio.Future[None]]]) -> None:
        try:
            await self._together(batch)
        except Exception as exc:
            # The type only: a database error's text may quote the values bound.
            log.warning(
                "Could not write %s row(s) together (%s): one at a time",
                len(batch),
                type(exc).__name__,
            )
        else:
            for _, done in batch:
                if not done.done():
                    done.set_result(None)
            return
        alone = [self._alone(item, done) for item, done in batch]
        # Each ends before a kill in one of them goes on: none is left running unowned.
        for result in await asyncio.gather(*alone, return_exceptions=True):
            if isinstance(result, BaseException):
                raise result

    async def _together(self, batch: list[tuple[T, asyncio.Future[None]]]) -> None:
        async with self.db.session() as session:
            repo = Repository(session)
            await self.together(repo, [item for item, _ in batch])
            await repo.commit()

    async def _alone(self, item: T, done: asyncio.Future[None]) -> None:
        try:
            async with self.db.session() as session:
                repo = Repository(session)
                await self.alone(repo, item)
                await repo.commit()
        except Exception as exc:
            if not done.done():
                done.set_exception(exc)
        else:
            if not done.done():
                done.set_result(None)
