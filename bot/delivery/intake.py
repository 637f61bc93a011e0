"""The intake: every update from Telegram is kept in the database before Telegram hears it arrived.

python-telegram-bot's Updater confirms an update (the next getUpdates offset) as soon as it is
queued, before any handler runs, so a crash loses what was fetched and not yet handled. Here a
batch is stored and committed first, and only then confirmed (the next getUpdates asks from the
last update + 1). Stored updates are handed to the Application one at a time, oldest first, so
each chat's are handled in order, and each is marked handled once its handler returned. After a
crash the updates not handled yet are handled first; the one being handled at the moment of the
crash is handled again (twice beats never). An update Telegram sends twice is kept once.

If the database cannot take a batch, it is not confirmed: Telegram sends it again. An emergency
in it is answered at once all the same, from memory (`first_aid`), once per update.
A webhook would feed `store` the same way, answering Telegram only once it returned.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from bot.app.clock import Clock
from bot.delivery import logctx
from storage import intake as queries
from storage.db import DATABASE_DOWN, Database

log = logging.getLogger(__name__)

Payload = dict[str, Any]

KEEP_HANDLED = timedelta(days=1)  # ids of handled updates, to know one sent again
PURGE_EVERY = timedelta(hours=1)
BATCH = 20  # updates handled between two looks at whether the process is stopping
MAX_RETRIES = 30  # a handler the database keeps failing is tried this often, then let go


def chat_of(payload: Payload) -> int | None:
    """The chat an update belongs to (its message's, a press's message's), or its sender's."""
    for key, value in payload.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        chat = value.get("chat") or (value.get("message") or {}).get("chat")
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return chat["id"]
        sender = value.get("from") or value.get("user")
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            return sender["id"]
    return None


class Intake:
    """Keep updates before they are confirmed; hand them to the bot from there, exactly once."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        first_aid: Callable[[Payload], Awaitable[None]] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.first_aid = first_aid
        self._lock = asyncio.Lock()
        self._done: set[int] = set()  # handled, not yet marked so (the database failed between)
        self._again: set[int] = set()  # the database failed under these updates' handlers
        self._tries: dict[int, int] = {}
        self._aided: set[int] = set()  # updates not stored whose emergency was answered
        self._purged_at: datetime | None = None

    async def store(self, payloads: list[Payload]) -> bool:
        """Keep the batch and commit; False if the database could not take it (don't confirm)."""
        rows = [(p["update_id"], chat_of(p), p) for p in payloads]
        try:
            async with self.db.session() as session:
                await queries.keep(session, rows, self.clock.now())
                await session.commit()
        except DATABASE_DOWN as exc:
            log.error(
                "Could not store %d updates (%s): not confirmed, Telegram sends them again",
                len(payloads),
                type(exc).__name__,
            )
            await self._aid(payloads)
            return False
        self._aided.difference_update(p["update_id"] for p in payloads)
        return True

    async def _aid(self, payloads: list[Payload]) -> None:
        """Answer an emergency in updates the database could not take, once each."""
        if self.first_aid is None:
            return
        for payload in payloads:
            if payload["update_id"] in self._aided:
                continue
            self._aided.add(payload["update_id"])
            try:
                await self.first_aid(payload)
            except Exception as exc:
                self._aided.discard(payload["update_id"])  # tried again with the batch
                log.error("First aid for update %s failed: %s", payload["update_id"], exc)

    def again(self, update_id: int) -> None:
        """The database failed while this update was handled: handle it again later."""
        self._again.add(update_id)

    def failed(self, update_id: int, error: BaseException | None) -> None:
        """A handler of this update raised `error`: if the database failed, handle it again."""
        if isinstance(error, DATABASE_DOWN):
            self.again(update_id)

    async def handle(
        self, process: Callable[[Payload], Awaitable[None]], limit: int = BATCH
    ) -> int:
        """Hand up to `limit` stored updates to `process`, oldest first; how many were handled.

        Raises what the database raises when it is down: the caller tries again later.
        """
        async with self._lock:
            await self._mark()
            async with self.db.session() as session:
                batch = await queries.pending(session, limit)
            handled = 0
            for update_id, payload in batch:
                self._again.discard(update_id)
                try:
                    with logctx.about(update_id=update_id):
                        await process(payload)
                except Exception as exc:
                    log.error("Update %s failed: %s", update_id, type(exc).__name__, exc_info=exc)
                if update_id in self._again:
                    tries = self._tries[update_id] = self._tries.get(update_id, 0) + 1
                    if tries < MAX_RETRIES:
                        # In order: nothing after it is handled before it.
                        log.warning("Update %s is kept to be handled again", update_id)
                        break
                    log.error("Update %s failed %d times: let go", update_id, tries)
                self._tries.pop(update_id, None)
                self._done.add(update_id)
                handled += 1
                await self._mark()
            await self._purge()
            return handled

    async def _mark(self) -> None:
        if not self._done:
            return
        async with self.db.session() as session:
            await queries.mark_handled(session, self._done, self.clock.now())
            await session.commit()
        self._done.clear()

    async def _purge(self) -> None:
        """Forget updates handled more than a day ago, at most once an hour."""
        now = self.clock.now()
        if self._purged_at is not None and now - self._purged_at < PURGE_EVERY:
            return
        async with self.db.session() as session:
            purged = await queries.purge(session, now - KEEP_HANDLED)
            await session.commit()
        self._purged_at = now
        if purged:
            log.info("Purged %d handled updates", purged)
