"""The worker: hand the updates the intake stored to the Application, oldest first.

It runs alone in webhook mode (Telegram posts, the web app stores) and beside the `Poller` in
polling mode (our getUpdates loop stores). Either way, whoever stores an update calls `wake`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from telegram import Update
from telegram.ext import Application

from bot.delivery.intake import Intake, Payload
from bot.delivery.metrics import Metrics
from storage.db import DATABASE_DOWN

log = logging.getLogger(__name__)

RETRY_SECONDS = 0.5  # after the database failed under the stored updates
WORK_EVERY = 5.0  # seconds between two looks at stored work even when nothing new came


class Worker:
    """Handle what is stored until stopped; what is left waits for a restart."""

    def __init__(self, application: Application) -> None:
        self.application = application
        self._new = asyncio.Event()

    @property
    def intake(self) -> Intake:
        return self.application.bot_data.services.intake

    @property
    def metrics(self) -> Metrics:
        return self.application.bot_data.services.metrics

    def wake(self) -> None:
        """Something new is stored: look now rather than at the next `WORK_EVERY`."""
        self._new.set()

    async def work(self) -> int:
        """Handle what is stored, oldest first, then red flags kept while the database was down."""
        handled = await self.intake.handle(self.process)
        await self.application.bot_data.services.inbox.retry_kept()
        return handled

    async def process(self, payload: Payload) -> None:
        started = time.perf_counter()
        try:
            await self.application.process_update(Update.de_json(payload, self.application.bot))
        finally:
            self.metrics.handled(time.perf_counter() - started)

    async def run(self, stopping: asyncio.Event) -> None:
        """Work until `stopping` is set; what a crash left stored and not handled goes first."""
        self._new.set()
        watch = asyncio.ensure_future(self._wake_on(stopping))
        try:
            await self._loop(stopping)
        finally:
            watch.cancel()

    async def _wake_on(self, stopping: asyncio.Event) -> None:
        await stopping.wait()
        self._new.set()

    async def _loop(self, stopping: asyncio.Event) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), WORK_EVERY)
            self._new.clear()
            if stopping.is_set():
                return
            try:
                # Again at once only if the intake stopped at its limit with more to claim.
                while await self.work() and not self.intake.drained and not stopping.is_set():
                    pass
            except DATABASE_DOWN as exc:
                log.error(
                    "Cannot handle stored updates: the database failed (%s)", type(exc).__name__
                )
                await sleep(stopping, RETRY_SECONDS)
            except Exception as exc:
                log.error("Handling stored updates failed: %s", type(exc).__name__, exc_info=exc)
                await sleep(stopping, RETRY_SECONDS)


async def sleep(stopping: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less if `stopping` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)
