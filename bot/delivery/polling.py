"""Our own getUpdates loop, in place of python-telegram-bot's Updater: confirm only what is stored.

The loop stores each batch through the intake before asking for the next one, and the worker
(`bot/delivery/worker.py`) handles what is stored. `bot/app/serve.py` runs both, as `run_polling`
would run the Updater; in webhook mode the worker runs alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Update
from telegram.error import InvalidToken, NetworkError, TimedOut
from telegram.ext import Application

from bot.delivery.intake import Intake, Payload
from bot.delivery.worker import Worker, sleep

log = logging.getLogger(__name__)

POLL_TIMEOUT = 10  # seconds a long poll waits for updates
RETRY_SECONDS = (0.5, 1, 2, 4)  # after a failed poll, or a database that would not take a batch
LOG_EVERY = 60.0  # seconds between two lines about the same trouble
HANDLERS_FIRST = 0.05  # seconds the next poll waits at most for the handlers a batch started


class Poller:
    """Fetch updates, keep them, confirm them, and wake the worker that hands them on."""

    def __init__(self, application: Application, worker: Worker | None = None) -> None:
        self.application = application
        self.worker = worker or Worker(application)
        self.offset: int | None = None
        self._failures = 0
        self._logged_at = 0.0

    @property
    def intake(self) -> Intake:
        return self.application.bot_data.services.intake

    async def fetch(self, wait: float = POLL_TIMEOUT) -> int:
        """Ask for the next batch (which confirms the last one) and store it; how many came."""
        updates = await self.application.bot.get_updates(
            offset=self.offset, timeout=wait, allowed_updates=Update.ALL_TYPES
        )
        if not updates:
            return 0
        payloads: list[Payload] = [u.to_dict() for u in updates]
        self.worker.parsed(updates)  # before `store`, which may start their handlers
        if not await self.intake.store(payloads):
            raise StoreFailed
        self.application.bot_data.services.metrics.received(len(payloads))
        self.offset = updates[-1].update_id + 1
        # The next getUpdates costs CPU on this event loop: the answers started now go first.
        await self.intake.started(HANDLERS_FIRST)
        return len(updates)

    async def work(self) -> int:
        """Handle what is stored (the worker's `work`, for those that drive the loop by hand)."""
        return await self.worker.work()

    async def run(self, stopping: asyncio.Event) -> None:
        """Poll and work until `stopping` is set; stored updates not handled wait for a restart."""
        worker = asyncio.create_task(self.worker.run(stopping))
        try:
            await self._poll_loop(stopping)
        finally:
            stopping.set()
            await worker

    async def _poll_loop(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            poll = asyncio.ensure_future(self.fetch())
            stop = asyncio.ensure_future(stopping.wait())
            await asyncio.wait({poll, stop}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            if not poll.done():
                poll.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await poll
                return
            try:
                poll.result()
            except InvalidToken:
                raise
            except TimedOut:
                continue  # a long poll that outlived its wait: ask again
            except (NetworkError, StoreFailed) as exc:
                await self._pause(stopping, "Polling", exc)
                continue
            if self._failures:
                log.info("Polling works again after %d failures", self._failures)
                self._failures = 0
        self._logged_at = 0.0

    async def _pause(self, stopping: asyncio.Event, what: str, exc: Exception) -> None:
        """Wait a little longer after each failure in a row; one calm line, no traceback."""
        seconds = RETRY_SECONDS[min(self._failures, len(RETRY_SECONDS) - 1)]
        now = asyncio.get_running_loop().time()
        if self._failures == 0 or now - self._logged_at >= LOG_EVERY:
            self._logged_at = now
            log.warning(
                "%s failed (%s, %d times in a row): trying again, every %g s at most",
                what,
                type(exc).__name__,
                self._failures + 1,
                RETRY_SECONDS[-1],
            )
        self._failures += 1
        await sleep(stopping, seconds)


class StoreFailed(Exception):
    """The database did not take a batch: it is not confirmed, and comes again."""
