"""The bot on a virtual clock against the fake Telegram: for the tests, the demo and `simulate`.

The real Application answers fake users; the clock moves only when told, and `run_until` stops at
every moment the database says something is due, exactly as the dispatcher's rounds would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from telegram.error import NetworkError
from telegram.ext import Application, BaseRateLimiter

from bot.app.application import build_application
from bot.app.context import Services
from bot.app.settings import Settings
from bot.delivery.pacing import Lane, Pacing
from bot.delivery.polling import Poller, StoreFailed
from bot.ui.texts import t
from fake_telegram.core import FakeMessage, FakeTelegram, FakeUser
from fake_telegram.transport import FakeRequest
from storage.db import DATABASE_DOWN, Database
from storage.repositories import Repository


class VirtualClock:
    """A clock that moves only when told to."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        assert now.tzinfo is not None
        self._now = now.astimezone(UTC)

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)


def paced_on(clock: VirtualClock) -> Pacing:
    """Telegram's limits for a simulation: its flood waits pass when the virtual time does.

    The overall pace and a group's 20 a minute stay on the real monotonic clock: the fake
    Telegram counts them in real time, as Telegram does, and refuses a burst paced on a clock
    that jumps ahead (a virtual minute passes in a moment). A chat's own second is not paced:
    a simulated patient types in no time at all, and the fake does not count it.
    """
    return Pacing(flood_clock=lambda: clock.now().timestamp(), chat_per_second=None)


class Simulation:
    """The real Application, fed updates from fake users, with the clock under the test's hand."""

    def __init__(self, app: Application, telegram: FakeTelegram, clock: VirtualClock) -> None:
        self.app = app
        self.telegram = telegram
        self.clock = clock
        self.poller = Poller(app)

    @property
    def services(self) -> Services:
        return self.app.bot_data.services

    async def deliver(self) -> None:
        """Process every update the fake users produced, in order, through the intake.

        As the real loop does: fetch and store (which confirms the batch before), then handle
        what is stored. A database that is down leaves them where they were, as in the process.
        """
        try:
            await self.poller.fetch(wait=0)
        except (StoreFailed, NetworkError):
            pass  # not confirmed: Telegram sends them again at the next fetch
        try:
            while await self.poller.work():
                pass
        except DATABASE_DOWN:
            pass
        # Alerts started during those updates go out in the background, as in the real process;
        # here they are waited for, so that what follows sees them delivered.
        await self.services.alerts.settle()

    async def say(self, user: FakeUser, text: str) -> FakeMessage:
        """The user types `text`; return the last message the bot sent them."""
        user.send(text)
        await self.deliver()
        return user.last()

    async def tap(self, user: FakeUser, message: FakeMessage, label: str) -> FakeMessage:
        """The user presses a button (found by its label's start) on `message`."""
        current = self.telegram.message(message.chat_id, message.message_id) or message
        user.press(current, current.label_starting(label))
        await self.deliver()
        return user.last()

    async def dispatch(self) -> None:
        """A round, and the alerts it raised: sent at once in tasks of their own, awaited here."""
        await self.services.dispatcher.dispatch()
        await self.services.alerts.settle()

    async def run_until(self, moment: datetime) -> None:
        """Move the clock to `moment`, stopping at every due time on the way, as rounds would."""
        previous = None
        while True:
            async with self.services.db.session() as session:
                due = await Repository(session).next_due_at()
            if due is None or due > moment:
                break
            assert (due, self.clock.now()) != previous, (
                f"the dispatcher is stuck on a row due {due}"
            )
            previous = (due, self.clock.now())
            self.clock.set(max(due, self.clock.now()))
            await self.dispatch()
        self.clock.set(moment)
        await self.dispatch()

    def reminders_to(self, user: FakeUser) -> list[FakeMessage]:
        """Messages to the user that still carry a night's Taken button."""
        return [m for m in user.messages() if t("button_taken") in m.buttons()]


async def migrate(database_url: str) -> None:
    """Bring the database to the newest revision, as `ldn-bot` does before it starts the bot."""
    database = Database(database_url)
    try:
        await database.migrate()
    finally:
        await database.dispose()


@asynccontextmanager
async def running(
    settings: Settings,
    clock: VirtualClock,
    telegram: FakeTelegram,
    request: FakeRequest | None = None,
    pacing: BaseRateLimiter[Lane] | None = None,
) -> AsyncIterator[Simulation]:
    """Start the real Application against `telegram` as run_polling would, and stop it after.

    It never migrates, as the bot's start-up never does: the database is migrated already.
    Telegram's limits are paced as `paced_on` paces them unless `pacing` is given.
    """
    app = build_application(
        settings,
        clock=clock,
        request=request or FakeRequest(telegram),
        get_updates_request=FakeRequest(telegram),
        dispatch_rounds=False,  # run_until dispatches, on the virtual clock
        rate_limiter=pacing or paced_on(clock),
    )
    await app.initialize()
    assert app.post_init is not None and app.post_shutdown is not None
    await app.post_init(app)  # what run_polling does right after initialize()
    try:
        yield Simulation(app, telegram, clock)
    finally:
        await app.shutdown()
        await app.post_shutdown(app)
