"""The intake: every update from Telegram is kept in the database before Telegram hears it arrived.

python-telegram-bot's Updater confirms an update (the next getUpdates offset) as soon as it is
queued, before any handler runs, so a crash loses what was fetched and not yet handled. Here a
batch is stored and committed first, and only then confirmed (the next getUpdates asks from the
last update + 1). An update Telegram sends twice is kept once.

Several processes may share the database (webhooks behind a load balancer): each update is
claimed by one of them for a while (a lease, `storage/intake.py`) before it is handled, and
marked handled once its handler returned. Only a chat's oldest update not handled yet can be
claimed, so each chat's updates are handled in order, one at a time, while different chats are
handled at the same time (up to `CONCURRENCY` at once). The lease is renewed while a handler
runs; a process that dies leaves claims that run out, and another process (or itself, started
again) takes them over: the update being handled at the moment of the crash is handled again
(twice beats never).

While the worker's handling loop runs (`handle` with `linger`), `store` claims in its own
transaction what that loop has room for (same claim, same rules) and starts the handlers at once:
no second transaction between an update's arrival and its handler. A process killed between the
two leaves claims that run out like any other (at most `LEASE` late).

If the database cannot take a batch, it is not confirmed: Telegram sends it again. An emergency
in it is answered at once all the same, from memory (`first_aid`), once per update.
The webhook (`bot/app/web.py`) feeds `store` the same way, answering Telegram only once it returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from bot.app.clock import Clock
from bot.delivery import logctx
from bot.delivery.answering import Answering
from storage import intake as queries
from storage.db import DATABASE_DOWN, Database

log = logging.getLogger(__name__)

Payload = dict[str, Any]

KEEP_HANDLED = timedelta(days=1)  # ids of handled updates, to know one sent again
PURGE_EVERY = timedelta(hours=1)
BATCH = 100  # updates handled between two looks at whether the process is stopping
MAX_RETRIES = 30  # a handler the database keeps failing is tried this often, then let go
CONCURRENCY = 32  # updates of different chats handled at once
# A claim's lease, renewed every RENEW_EVERY seconds while its handler runs: a process that died
# holds up its chats' next updates at most this long. Three renewals must fail in a row before
# another process could take over an update still being handled. The processes' clocks must
# agree to well within it (NTP does).
LEASE = timedelta(seconds=30)
RENEW_EVERY = 10.0
AID_LOOK = 50  # stored updates looked at for an emergency when the database refuses claims


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


class _Loop:
    """The handling loop under way, as `store` sees it: its handlers and the room left in it."""

    def __init__(
        self,
        process: Callable[[Payload], Awaitable[None]],
        limit: int,
        stopping: asyncio.Event | None,
    ) -> None:
        self.process = process
        self.limit = limit
        self.stopping = stopping
        self.running: dict[asyncio.Task[bool], int] = {}
        self.started = 0
        self.reserved = 0  # room a `store` is claiming for, its transaction not yet committed
        self.kept: set[int] = set()  # to be handled again: not claimed again before the next call
        self.closed = False

    def room(self, concurrency: int) -> int:
        """How many more updates it may start now."""
        if self.closed or (self.stopping is not None and self.stopping.is_set()):
            return 0
        free = min(concurrency - len(self.running), self.limit - self.started)
        return max(free - self.reserved, 0)

    @property
    def busy(self) -> bool:
        return bool(self.running) or self.reserved > 0


class Intake:
    """Keep updates before they are confirmed; hand them to the bot from there, exactly once."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        first_aid: Callable[[Payload], Awaitable[None]] | None = None,
        *,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.db = db
        self.clock = clock
        self.first_aid = first_aid
        self.concurrency = concurrency
        # Names this process in its claims: the host, the process, and this intake of it.
        self.name = f"{socket.gethostname()[:64]}:{os.getpid()}:{secrets.token_hex(4)}"
        self._lock = asyncio.Lock()
        self._claimed: set[int] = set()  # claimed here, being handled: their leases are renewed
        self._done: set[int] = set()  # handled, not yet marked so (the database failed between)
        self._again: set[int] = set()  # the database failed under these updates' handlers
        self._tries: dict[int, int] = {}
        self._aided: set[int] = set()  # updates not handled whose emergency was answered
        self._stored = asyncio.Event()  # wakes the handling loop: something was stored
        self._look = False  # stored and not claimed by `store`: the handling loop claims
        self._loop: _Loop | None = None  # the handling loop under way, if any
        self._handed: list[asyncio.Task[bool]] = []  # the handlers the last `store` started
        # Stores and handlers under way: the dispatcher makes way for them.
        self.answering = Answering()
        self._purged_at: datetime | None = None
        # The last `handle` found nothing more to claim (else it stopped at its limit).
        self.drained = False

    @property
    def taking(self) -> bool:
        """A handling loop runs that `store` hands what it claims to."""
        return self._loop is not None and not self._loop.closed

    async def store(self, payloads: list[Payload]) -> bool:
        """Keep the batch and commit; False if the database could not take it (don't confirm).

        While a handling loop runs (`handle`), what it has room for is claimed in the same
        transaction and its handlers start as the commit returns; otherwise the loop (or the
        next `handle`) claims it.
        """
        rows = [(p["update_id"], chat_of(p), p) for p in payloads]
        loop = self._loop
        # No more room than the batch could use: concurrent stores (webhook posts) share it.
        room = min(loop.room(self.concurrency), len(rows)) if loop is not None else 0
        kept = loop.kept if loop is not None else set()
        if loop is not None:
            loop.reserved += room
        self.answering.begin()
        try:
            now = self.clock.now()
            async with self.db.session() as session:
                await queries.keep(session, rows, now)
                batch = []
                if room:
                    until = now + LEASE
                    batch = await queries.claim(session, self.name, now, until, room, kept)
                await session.commit()
        except DATABASE_DOWN as exc:
            log.error(
                "Could not store %d updates (%s): not confirmed, Telegram sends them again",
                len(payloads),
                type(exc).__name__,
            )
            await self._aid(payloads)
            return False
        finally:
            self.answering.end()
            if loop is not None:
                loop.reserved -= room
                self._stored.set()  # the loop may wait for this reservation to end
        self._aided.difference_update(p["update_id"] for p in payloads)
        if len(batch) < len(rows):
            self._look = True  # some of it (or all) is for the loop to claim
        if batch and loop is not None:
            await self._hand(loop, batch)
        self._stored.set()
        return True

    async def _hand(self, loop: _Loop, batch: list[tuple[int, Payload]]) -> None:
        """Start the handlers of updates `store` claimed; give them up if the loop stopped."""
        if loop.closed:
            # Stopping: any process may take them now (or once their claims ran out).
            with contextlib.suppress(*DATABASE_DOWN):
                await self._release([update_id for update_id, _ in batch])
            self._look = True  # the next loop claims them at once
            self._stored.set()
            return
        self._claimed.update(update_id for update_id, _ in batch)
        self._handed = self._start(loop, batch)

    def _start(self, loop: _Loop, batch: list[tuple[int, Payload]]) -> list[asyncio.Task[bool]]:
        tasks = []
        for update_id, payload in batch:
            task = asyncio.create_task(self._one(loop.process, update_id, payload))
            self.answering.begin()  # until the handler's task is done, cancelled ones too
            task.add_done_callback(lambda _: self.answering.end())
            loop.running[task] = update_id
            loop.started += 1
            tasks.append(task)
        return tasks

    async def started(self, seconds: float) -> None:
        """Wait up to `seconds` for the handlers the last `store` started to finish.

        Whoever stores next (the poller's next getUpdates) would take the event loop from them.
        """
        tasks, self._handed = self._handed, []
        if tasks:
            await asyncio.wait(tasks, timeout=seconds)

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
        self,
        process: Callable[[Payload], Awaitable[None]],
        limit: int = BATCH,
        *,
        linger: float = 0.0,
        stopping: asyncio.Event | None = None,
    ) -> int:
        """Claim up to `limit` stored updates and hand them to `process`; how many were handled.

        Different chats' updates are handled at the same time, each chat's in order. With
        `linger`, nothing left to handle, it waits that many seconds for what `store` hands it
        (until `stopping` is set) before it returns. Raises what the database raises when it is
        down: the caller tries again later.
        """
        async with self._lock:
            try:
                await self._mark()
            except DATABASE_DOWN:
                await self._aid_waiting(self.clock.now())
                raise
            renewing = asyncio.create_task(self._keep_renewing())
            try:
                handled = await self._handle(_Loop(process, limit, stopping), linger)
            finally:
                renewing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewing
            await self._purge()
            return handled

    async def _handle(self, loop: _Loop, linger: float) -> int:
        self._loop = loop
        try:
            return await self._run(loop, linger)
        finally:
            loop.closed = True
            self._loop = None

    async def _run(self, loop: _Loop, linger: float) -> int:
        handled = 0
        look = True  # claim: at the start, after a handler finished, after a store or a linger
        running = loop.running
        stop = asyncio.ensure_future(loop.stopping.wait()) if loop.stopping else None
        try:
            while True:
                self._stored.clear()  # what is stored from now on wakes the wait below
                if look or self._look:
                    room = loop.room(self.concurrency)
                    if room > 0:
                        self._look = False  # else a store holds the room: look once it is done
                    if room > 0 or self._done:
                        # A chat whose update just finished has its next one claimable now.
                        self._start(loop, await self._claim(room, loop.kept))
                idle = not loop.busy
                if idle and (not linger or loop.room(self.concurrency) == 0):
                    self.drained = loop.started < loop.limit  # so its last claim found nothing
                    return handled
                # Until a handler finishes, or an update is stored (`store` may start it).
                stored = asyncio.ensure_future(self._stored.wait())
                waits = [*running, stored, *([stop] if stop and not stop.done() else [])]
                try:
                    finished, _ = await asyncio.wait(
                        waits,
                        timeout=linger if idle else None,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    stored.cancel()
                if idle and not finished:
                    self.drained = True  # lingered with nothing: the caller looks in a while
                    return handled
                finished.discard(stored)
                if stop is not None:
                    finished.discard(stop)
                look = bool(finished)
                back = []
                for task in finished:
                    update_id = running.pop(task)
                    if not task.cancelled() and task.result():
                        # Still renewed until marked: if the database fails in between, no
                        # other process takes it over while this one can still mark it.
                        self._done.add(update_id)
                        handled += 1
                    else:
                        self._claimed.discard(update_id)  # released
                        back.append(update_id)
                if back:
                    loop.kept.update(back)
                    await self._release(back)
        except BaseException as exc:
            # The database failed, or the caller is stopping: the handlers under way finish
            # (or stop, if cancelled); what they handled is marked at the next call.
            loop.closed = True  # `store` starts no more here
            if isinstance(exc, asyncio.CancelledError):
                for task in running:
                    task.cancel()
            if running:
                await asyncio.wait(running)
                for task, update_id in running.items():
                    if not task.cancelled() and task.result():
                        self._done.add(update_id)
                    else:
                        self._claimed.discard(update_id)
            raise
        finally:
            if stop is not None:
                stop.cancel()

    async def _one(
        self, process: Callable[[Payload], Awaitable[None]], update_id: int, payload: Payload
    ) -> bool:
        """Hand one update to `process`; False if it is to be handled again."""
        self._again.discard(update_id)
        try:
            with logctx.about(update_id=update_id):
                await process(payload)
        except Exception as exc:
            log.error("Update %s failed: %s", update_id, type(exc).__name__, exc_info=exc)
        if update_id in self._again:
            tries = self._tries[update_id] = self._tries.get(update_id, 0) + 1
            if tries < MAX_RETRIES:
                # In order: nothing after it in its chat is claimed before it is handled.
                log.warning("Update %s is kept to be handled again", update_id)
                return False
            log.error("Update %s failed %d times: let go", update_id, tries)
        self._tries.pop(update_id, None)
        return True

    async def _claim(self, limit: int, skip: Iterable[int]) -> list[tuple[int, Payload]]:
        """Mark what was handled and claim for this process, one transaction; first aid if the
        database refuses."""
        now = self.clock.now()
        done = set(self._done)
        try:
            async with self.db.session() as session:
                if done:
                    await queries.mark_handled(session, done, now)
                batch = []
                if limit > 0:
                    until = now + LEASE
                    batch = await queries.claim(session, self.name, now, until, limit, skip)
                await session.commit()
        except DATABASE_DOWN:
            # It may still be read (a locked SQLite file): an emergency waiting there is
            # answered from memory now, as one the database could not store would be.
            await self._aid_waiting(now)
            raise
        self._marked(done)
        self._claimed.update(update_id for update_id, _ in batch)
        return batch

    async def _aid_waiting(self, now: datetime) -> None:
        if self.first_aid is None:
            return
        try:
            async with self.db.session() as session:
                payloads = await queries.unclaimed(session, now, AID_LOOK)
        except DATABASE_DOWN:
            return  # nothing readable: what could not be stored was answered at `store`
        await self._aid(payloads)

    async def _release(self, update_ids: list[int]) -> None:
        """Give up the claims on updates to be handled again: any process may take them.

        If the database fails here, the claims run out on their own.
        """
        async with self.db.session() as session:
            await queries.release(session, self.name, update_ids)
            await session.commit()

    async def _keep_renewing(self) -> None:
        """Renew the claims of the updates being handled, while they are."""
        while True:
            await asyncio.sleep(RENEW_EVERY)
            await self.renew()

    async def renew(self) -> None:
        """Extend the lease of every claim this process holds; never raises for the database."""
        claimed = set(self._claimed)
        if not claimed:
            return
        try:
            async with self.db.session() as session:
                held = await queries.renew(session, self.name, claimed, self.clock.now() + LEASE)
                await session.commit()
        except DATABASE_DOWN as exc:
            log.warning("Could not renew %d claims (%s)", len(claimed), type(exc).__name__)
            return
        if held < len(claimed):
            log.warning(
                "%d updates being handled here were taken over after their lease ran out",
                len(claimed) - held,
            )

    async def _mark(self) -> None:
        if not self._done:
            return
        done = set(self._done)
        async with self.db.session() as session:
            await queries.mark_handled(session, done, self.clock.now())
            await session.commit()
        self._marked(done)

    def _marked(self, done: set[int]) -> None:
        self._aided.difference_update(done)
        self._claimed.difference_update(done)  # marked: renewed no more
        self._done.difference_update(done)

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
