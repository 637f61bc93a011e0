"""Pacing our requests to Telegram: 30 a second overall, 20 a minute per group, never a long wait.

python-telegram-bot's `AIORateLimiter` sleeps out a group's 20-a-minute limit inside the request,
and the dispatcher sends one request at a time: 100 alerts queued for a care-team group held every
patient's reminder back for a minute and more, and a shutdown for minutes. Here a request whose
chat's pace would make it wait longer than a moment is refused at once, with Telegram's own
`RetryAfter` (as `Paced`): the dispatcher leaves its row due for later and goes on with the other
chats. Only the overall pace is waited for, a thirtieth of a second a request, and a reply to
something a person just did: it asks for retries (`rate_limit_args`, as `handlers/replies.py`
does) and waits out a short flood limit of its chat that many times, as the Updater's limiter did.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

# Telegram's limits for bots: about 30 messages a second overall, 20 a minute in one group.
PER_SECOND = 30
GROUP_PER_MINUTE = 20
GROUP_WINDOW_SECONDS = 61.0  # a second more than Telegram's minute: our clock starts first
# A request asking for retries waits out its chat's limit if it is no longer than this.
RETRY_WAIT_SECONDS = 10.0


class Paced(RetryAfter):
    """Our own pacing holds this chat back for `retry_after`: nothing was asked of Telegram."""


class Pacing(BaseRateLimiter[int]):
    """Wait for the overall pace; refuse at once what a chat's own pace would hold back."""

    def __init__(
        self,
        per_second: int = PER_SECOND,
        group_per_minute: int = GROUP_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
        flood_clock: Callable[[], float] | None = None,
    ) -> None:
        self.interval = 1 / per_second
        self.burst = per_second  # as Telegram's bucket: a burst of a second's worth passes
        self.group_per_minute = group_per_minute
        self.clock = clock
        # Telegram's flood waits are counted on this clock: the application's own under a
        # simulation's virtual clock, so that a wait of minutes passes when its time does.
        self.flood_clock = flood_clock or clock
        self._next_turn = 0.0  # the overall pace, as a theoretical arrival time
        self._groups: dict[int | str, deque[float]] = {}
        # A chat Telegram told to wait: until when, on the monotonic clock and on the flood clock.
        self._not_before: dict[int | str, tuple[float, float]] = {}

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Send now, after the overall pace, or raise `Paced` if the chat must wait.

        `rate_limit_args` retries: a short wait of the chat is waited out that many times.
        """
        chat = _chat_key(data.get("chat_id"))
        retries = rate_limit_args or 0
        while True:
            try:
                return await self._send(callback, args, kwargs, chat)
            except RetryAfter as exc:
                wait = _seconds(exc)
                if retries <= 0 or wait > RETRY_WAIT_SECONDS:
                    raise
                retries -= 1
                await asyncio.sleep(wait)
                if chat is not None:
                    self._not_before.pop(chat, None)  # waited out (on any clock)

    async def _send(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        chat: int | str | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if chat is not None:
            self._check_chat(chat)
            await self._overall_turn()
        try:
            return await callback(*args, **kwargs)
        except RetryAfter as exc:
            # Telegram's own flood wait: the chat's next requests wait without asking again.
            if chat is not None:
                seconds = _seconds(exc)
                self._not_before[chat] = (self.clock() + seconds, self.flood_clock() + seconds)
            raise

    def _check_chat(self, chat: int | str) -> None:
        # Over when either clock says so: a simulation's frozen clock never holds a chat forever.
        mono, flood = self._not_before.get(chat, (0.0, 0.0))
        wait = min(mono - self.clock(), flood - self.flood_clock())
        if wait > 0:
            raise Paced(_whole(wait))
        self._not_before.pop(chat, None)
        now = self.clock()
        if isinstance(chat, int) and chat > 0:
            return  # a private chat: only the overall pace
        sent = self._groups.setdefault(chat, deque())
        while sent and now - sent[0] >= GROUP_WINDOW_SECONDS:
            sent.popleft()
        if len(sent) >= self.group_per_minute:
            raise Paced(_whole(sent[0] + GROUP_WINDOW_SECONDS - now))
        sent.append(now)

    async def _overall_turn(self) -> None:
        """Take the next turn of the overall pace, waiting for it (at most a moment per request)."""
        now = self.clock()
        turn = max(self._next_turn, now)
        self._next_turn = turn + self.interval
        wait = turn - (self.burst - 1) * self.interval - now
        if wait > 0:
            await asyncio.sleep(wait)


def _chat_key(chat_id: int | str | None) -> int | str | None:
    if chat_id is None:
        return None
    try:
        return int(chat_id)
    except (TypeError, ValueError):
        return str(chat_id)  # a channel's @username


def _whole(seconds: float) -> int:
    return max(1, math.ceil(seconds))


def _seconds(exc: RetryAfter) -> float:
    value: Any = exc.retry_after
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)
