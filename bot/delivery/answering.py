"""Answers first: whether the bot is answering someone right now, for the work that can wait.

The intake counts the updates being stored or handled. The dispatcher makes way for them before
each reminder, and the pacing before each bulk turn: a reminder's CPU shares the event loop with
the answers, so a patient's answer would otherwise wait behind a round of reminders. Making way
is bounded: under answers that never stop, reminders still go, one per worker and per turn at
least every MAKE_WAY_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextlib

# The longest a reminder (or a bulk turn) makes way for the answers under way: under answers
# that never stop, reminders still go out, one per worker at least this often.
MAKE_WAY_SECONDS = 0.25


class Answering:
    """How many updates are being stored or handled now."""

    def __init__(self) -> None:
        self._under_way = 0
        self._idle = asyncio.Event()
        self._idle.set()

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

    async def make_way(self) -> None:
        """Wait until no answer is under way, MAKE_WAY_SECONDS at most."""
        if self._under_way:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), MAKE_WAY_SECONDS)
