"""The worker: hand the updates the intake stored to the Application, oldest first.

It runs alone in webhook mode (Telegram posts, the web app stores) and beside the `Poller` in
polling mode (our getUpdates loop stores). Either way the intake's `store` hands what it stored to
the worker's running loop, or wakes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable

from telegram import Update
from telegram.ext import Application

from bot.delivery.intake import Intake, Payload
from bot.delivery.metrics import Metrics
from storage.db import DATABASE_DOWN

log = logging.getLogger(__name__)

RETRY_SECONDS = 0.5  # after the database failed under the stored updates
WORK_EVERY = 5.0  # seconds between two looks at stored work even when nothing new came
# Updates the poller read, kept as parsed until handled here. One handled again, taken over by
# another process, or read before a restart is parsed again from what was stored; past this
# many kept, the oldest go first.
PARSED_KEPT = 1_000


class Worker:
    """Handle what is stored until stopped; what is left waits for a restart."""

    def __init__(self, application: Application) -> None:
        self.application = application
        self._parsed: OrderedDict[int, Update] = OrderedDict()

    @property
    def intake(self) -> Intake:
        return self.application.bot_data.services.intake

    @property
    def metrics(self) -> Metrics:
        return self.application.bot_data.services.metrics

    async def work(self, stopping: asyncio.Event | None = None) -> int:
        """Handle what is stored, oldest first, then red flags kept while the database was down.

        With `stopping` (the running worker), the intake's loop stays open up to `WORK_EVERY`
        with nothing to do, so that `store` hands it what comes meanwhile in its own
        transaction; shorter while kept red flags wait for the database.
        """
        inbox = self.application.bot_data.services.inbox
        linger = 0.0
        if stopping is not None:
            linger = RETRY_SECONDS if inbox.keeps_words else WORK_EVERY
        handled = await self.intake.handle(self.process, linger=linger, stopping=stopping)
        await inbox.retry_kept()
        return handled

    def parsed(self, updates: Iterable[Update]) -> None:
        """Keep updates the poller already parsed, each to be handled as it is: parsed again from
        its stored payload, every answer would wait a third of a millisecond more."""
        for update in updates:
            self._parsed[update.update_id] = update
        while len(self._parsed) > PARSED_KEPT:
            self._parsed.popitem(last=False)

    async def process(self, payload: Payload) -> None:
        started = time.perf_counter()
        try:
            update = self._parsed.pop(payload["update_id"], None)
            if update is None:
                update = Update.de_json(payload, self.application.bot)
            await self.application.process_update(update)
        finally:
            self.metrics.handled(time.perf_counter() - started)

    async def run(self, stopping: asyncio.Event) -> None:
        """Work until `stopping` is set; what a crash left stored and not handled goes first."""
        while not stopping.is_set():
            try:
                await self.work(stopping)
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
