"""Answers first: whether the bot is answering someone right now, for the work that can wait.

The intake counts the updates being stored or handled. The dispatcher makes way for them before
each reminder, and the pacing before each bulk turn: a reminder's CPU shares the event loop with
the answers, so a patient's answer would otherwise wait behind a round of reminders.

Making way is bounded twice. One wait lasts MAKE_WAY_SECONDS at most, and all of them together
take at most a SHARE of the time: under answers that never stop (a handler waiting on a slow
network counts as one), reminders still go at three quarters of their pace. Alerts never make
way, and the pacing's wait ends as soon as an urgent request comes.
"""

from __future__ import annotations

import asyncio
import time

# The longest one wait lasts: a reminder (or a bulk turn) then goes, answers under way or not.
MAKE_WAY_SECONDS = 0.25
# The share of the time that making way may take, all waits together, however busy the bot is.
SHARE = 0.25


class Answering:
    """How many updates are being stored or handled now, and the way made for them."""

    def __init__(self) -> None:
        self._under_way = 0
        self._idle = asyncio.Event()
        self._idle.set()
        # Seconds during which someone made way (waits at the same time count once), not yet
        # paid back: each second pays back SHARE of one.
        self._owed = 0.0
        self._owed_at = time.monotonic()
        self._waiters = 0

    def begin(self) -> None:
        self._under_way += 1
        self._idle.clear()

    def end(self) -> None:
        self._under_way = max(self._under_way - 1, 0)
        if not self._under_way:
            self._idle.set()

    @property
    def busy(self) -> bool:
        return self._under_way > 0

    async def make_way(self, until: asyncio.Event | None = None) -> None:
        """Wait until no answer is under way (or `until` is set): MAKE_WAY_SECONDS at most, and
        not at all while the waits of the last moments used up their share of the time."""
        if not self._under_way:
            return
        allowed = MAKE_WAY_SECONDS - self._pay_back()
        if allowed <= 0:
            return
        ends = [asyncio.ensure_future(self._idle.wait())]
        if until is not None:
            ends.append(asyncio.ensure_future(until.wait()))
        self._waiters += 1
        try:
            await asyncio.wait(ends, timeout=allowed, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for end in ends:
                end.cancel()
            self._pay_back()
            self._waiters -= 1

    def _pay_back(self) -> float:
        """Count the time made way since last time, pay back SHARE of each second; return
        what is still owed."""
        now = time.monotonic()
        elapsed, self._owed_at = now - self._owed_at, now
        self._owed = max(self._owed + elapsed * ((self._waiters > 0) - SHARE), 0.0)
        return self._owed
