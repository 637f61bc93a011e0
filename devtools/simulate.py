"""`python -m devtools simulate`: be the patient yourself, with the bot offline on a virtual clock.

Lines are read one by one: a number presses that button on the newest message with buttons,
`:hour`, `:day`, `:next` move the clock (running the dispatcher on the way), `:time` shows it,
`:quit` leaves; anything else is sent to the bot as the patient's text.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from devtools.chat_view import ChatView, Printer
from devtools.demo import PATIENT_ID, demo_settings
from devtools.simulation import Simulation, VirtualClock, migrate, running
from fake_telegram.core import FakeMessage, FakeTelegram, FakeUser
from storage.repositories import Repository

# Every sentence the simulator prints itself; the bot's own are in bot/ui/texts.py.
SIM_INTRO = (
    "You are the patient; the clock is virtual. Type as you would in Telegram (/start to begin).\n"
    "Buttons are numbered: answer 1, 2, ...\n"
    "Clock: :hour, :day, :next (to the next reminder or follow-up), :time. Leave with :quit."
)
SIM_CLOCK = "⏱ {when}"
SIM_NOTHING_DUE = "Nothing is due: enroll first, or reminders are off."
SIM_NO_BUTTON = "No button {number} here. The buttons are numbered on the last message."
SIM_UNKNOWN = "Clock commands: :hour, :day, :next, :time, :quit."

STEPS = {":hour": timedelta(hours=1), ":day": timedelta(days=1)}


class Session:
    """One patient at the keyboard: their words go to the bot, the chat comes back printed."""

    def __init__(self, sim: Simulation, out: Callable[[str], None]) -> None:
        self.sim = sim
        self.out = out
        self.user: FakeUser = sim.telegram.user(PATIENT_ID, first_name="You")
        self.view = ChatView(self.user, sim.clock)
        self.printer = Printer(out, numbered=True)

    async def handle(self, line: str) -> bool:
        """Act on one line of input; False when the patient leaves."""
        text = line.strip()
        if not text:
            return True
        if text == ":quit":
            return False
        if text.startswith(":"):
            await self._clock(text)
        elif text.isdigit() and (message := self._with_buttons()) is not None:
            await self._press(message, int(text))
        else:
            self.view.typed(text)
            await self.sim.say(self.user, text)
        await self.show()
        return True

    async def show(self) -> None:
        self.printer.full(self.view.take(), await self._zone())

    async def _clock(self, command: str) -> None:
        now = self.sim.clock.now()
        if command in STEPS:
            await self.sim.run_until(now + STEPS[command])
        elif command == ":next":
            async with self.sim.services.db.session() as session:
                due = await Repository(session).next_due_at()
            if due is None:
                self.out(SIM_NOTHING_DUE)
                return
            await self.sim.run_until(max(due, now))
        elif command != ":time":
            self.out(SIM_UNKNOWN)
            return
        await self.show()  # what came on the way, before the time it came to
        local = self.sim.clock.now().astimezone(await self._zone())
        self.out(
            SIM_CLOCK.format(when=f"{local:%a} {local.day} {local:%b %H:%M} ({local.tzname()})")
        )

    async def _press(self, message: FakeMessage, number: int) -> None:
        labels = message.buttons()
        if not 1 <= number <= len(labels):
            self.out(SIM_NO_BUTTON.format(number=number))
            return
        self.view.tapped(labels[number - 1])
        await self.sim.tap(self.user, message, labels[number - 1])

    def _with_buttons(self) -> FakeMessage | None:
        """The newest message that still has buttons: the one numbers refer to."""
        return next((m for m in reversed(self.user.messages()) if m.buttons()), None)

    async def _zone(self) -> ZoneInfo:
        """The patient's zone once they chose one, until then the clinic's default."""
        async with self.sim.services.db.session() as session:
            patient = await Repository(session).patients.by_user(self.user.id)
        zone = patient.timezone if patient is not None and patient.timezone else None
        return ZoneInfo(zone or self.sim.services.settings.default_timezone)


async def simulate(
    lines: Iterable[str],
    out: Callable[[str], None],
    database_url: str,
    start: datetime | None = None,
) -> FakeTelegram:
    """Run the bot for one typing patient until the input ends or they type :quit."""
    clock = VirtualClock((start or datetime.now(UTC)).replace(second=0, microsecond=0))
    telegram = FakeTelegram(clock=clock.now)
    # You are the patient of a clinic with no care team configured: its warnings about that
    # (no provider chat to alert) would only get in the way of the chat here.
    # Only for as long as the simulation runs: the level is the whole process's.
    bot_log = logging.getLogger("bot")
    level = bot_log.level
    bot_log.setLevel(logging.ERROR)
    await migrate(database_url)  # as `ldn-bot` alone does before it starts
    try:
        async with running(demo_settings(database_url), clock, telegram) as sim:
            session = Session(sim, out)
            out(SIM_INTRO)
            for line in lines:
                if not await session.handle(line):
                    break
    finally:
        bot_log.setLevel(level)
    return telegram


def _stdin() -> Iterator[str]:
    """Lines from the keyboard with a prompt, or from a pipe without one."""
    if not sys.stdin.isatty():
        yield from sys.stdin
        return
    while True:
        try:
            yield input("you: ")
        except EOFError:
            return


def run() -> int:
    """`python -m devtools simulate`, on a temporary SQLite file deleted at the end."""
    with tempfile.TemporaryDirectory(prefix="ldn-simulate-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'simulate.sqlite3'}"
        try:
            asyncio.run(simulate(_stdin(), print, url))
        except KeyboardInterrupt:
            pass
    return 0
