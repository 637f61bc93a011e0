"""Recovery after an outage: notice at once when Telegram answers again, and send what waited.

While sends fail for network reasons (`Link` in `bot/delivery/notifier.py`), a short probe asks
Telegram (`getMe`) every few seconds, on the monotonic clock. The moment it answers, or any send
goes through, everything put back for network reasons is made due now and sent: the alerts first
(emergency, urgent, then the rest), then the admins' notices, then a dispatcher round for the
reminders. A flood limit is an answer, not an outage: its wait is kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.app.clock import Clock
from bot.care.alerts import Alerts
from bot.delivery.notifier import Link, Notifier
from bot.rules.states import TierCode
from storage.db import Database
from storage.repositories import Repository

log = logging.getLogger(__name__)

# How often Telegram is asked whether it answers again, while it does not.
PROBE_SECONDS = 5.0
# Alerts go out in this order once Telegram answers: the most serious first.
TIER_ORDER: dict[str, int] = {TierCode.EMERGENCY: 0, TierCode.URGENT: 1, TierCode.ROUTINE: 2}


class Recovery:
    """Probe Telegram while it does not answer; once it does, send what waited, urgent first."""

    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        clock: Clock,
        alerts: Alerts,
        dispatch: Callable[[], Awaitable[object]],
    ) -> None:
        self.db = db
        self.clock = clock
        self.alerts = alerts
        self.dispatch = dispatch
        self.link: Link = getattr(notifier, "link", None) or Link()
        self._answers: Callable[[], Awaitable[bool]] | None = getattr(notifier, "answers", None)
        self.probe_seconds = PROBE_SECONDS
        self._probing: asyncio.Task[None] | None = None
        self._recovering = False
        self.link.on_down = self._down
        self.link.on_up = self._up

    def _down(self) -> None:
        log.warning(
            "Telegram does not answer: sends wait, asked again every %.0f s", self.probe_seconds
        )
        if self._probing is None or self._probing.done():
            self._probing = asyncio.get_running_loop().create_task(self._probe_until_up())

    def _up(self) -> None:
        # A send went through: Telegram is back, no need to wait for the probe.
        self.alerts.soon(self.recover())

    async def _probe_until_up(self) -> None:
        while self.link.down_since is not None:
            await asyncio.sleep(self.probe_seconds)
            try:
                await self.probe()
            except Exception:
                log.exception("The recovery after an outage failed; the dispatcher sends on")

    async def probe(self) -> bool:
        """Ask Telegram once whether it answers; when it does, recover. True once it is up."""
        if self.link.down_since is None:
            return True
        if self._answers is not None and not await self._answers():
            return False
        await self.recover()
        return True

    async def recover(self) -> None:
        """Make due now what the outage put back, and send it: alerts first, then the rest."""
        if self.link.down_since is None or self._recovering:
            return
        self._recovering = True
        try:
            down, chats, flooded = self.link.up()
            log.warning("Telegram answers again after %s", _duration(down))
            now = self.clock.now()
            async with self.db.session() as session:
                repo = Repository(session)
                due = await repo.bring_forward(
                    now,
                    sorted(chats),
                    sorted(flooded),
                    busy=list(self.alerts.sending),
                    busy_notices=list(self.alerts.sending_notices),
                )
                await repo.commit()
            for escalation_id, _ in sorted(due, key=lambda d: (TIER_ORDER.get(d[1], 3), d[0])):
                try:
                    await self.alerts.deliver(escalation_id)
                except Exception:
                    log.exception("Could not deliver escalation %s", escalation_id)
            await self.alerts.dispatch_notices()
            await self.dispatch()
        finally:
            self._recovering = False

    async def stop(self) -> None:
        """Stop probing (at shutdown)."""
        if self._probing is not None:
            self._probing.cancel()
            await asyncio.gather(self._probing, return_exceptions=True)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"
