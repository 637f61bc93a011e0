"""Pacing our requests to Telegram: an even pace under its limits, urgent requests first.

Telegram lets a bot send about 30 messages a second overall, about one a second in one chat (a
short burst passes) and 20 a minute in a group; past that it answers 429 with a `retry_after`.
- Every request to a chat takes a turn of the overall pace: 29.5 a second, evenly spaced, with no
  burst after an idle gap, so that the clock's jitter never takes us over 30.
- Three lanes. Answers to what a person just did (`Lane.at_once`) go at once, up to
  ANSWER_BURST ahead of the pace: a patient tapping through a conversation waits for no
  reminder, and the turns after it move back by one for each (the pace counts it). More answers
  than the pace allows wait their turn as urgent ones do. Urgent: alerts, emergencies, anything
  else nothing says otherwise of; they wait for a turn, ahead of every bulk request. Bulk: the
  dispatcher's reminders, follow-ups and check-ins, which pass `BULK` as `rate_limit_args`: a
  turn only when no urgent request waits, and none while the bot is answering someone (up to a
  quarter of a second a turn, a quarter of the time in all, and never once an urgent request
  comes: `bot/delivery/answering.py`): the CPU a reminder takes would make the answer wait.
  However long the backlog, an urgent request waits a few turns at most, an answer none.
- A chat's own pace: a short wait (its next second) is waited out; a longer one (a group's 20 a
  minute, Telegram's flood wait for that chat) is refused at once with Telegram's own
  `RetryAfter` (as `Paced`): the dispatcher leaves its row due for later and goes on with the
  other chats. A reply to what a person just did is not held to its chat's second (a
  conversation waits for nothing), asks for retries (`Lane.retries`) and waits out a short
  flood wait.
- A real 429 pauses every request for its `retry_after`, up to PAUSE_SECONDS, answers too: a
  longer wait names one chat, which alone waits it whole.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.delivery.answering import Answering

log = logging.getLogger(__name__)

# Telegram's limits for bots: about 30 messages a second overall, 20 a minute in one group.
PER_SECOND = 29.5  # half a message of headroom under 30
# Bulk requests may take every turn: urgent ones go first anyway, and answers go at once.
BULK_PER_SECOND = PER_SECOND
# Answers that may go at once, ahead of the pace: past them, answers wait their turn, and the
# pace holds whatever the number of people typing. The turns they take come back out of the
# next ones, so over time the pace holds; within one second it may pass by this many (Telegram
# counts its limit over time: python-telegram-bot's own limiter lets a burst of 30 through).
ANSWER_BURST = 5
CHAT_PER_SECOND = 1.0
CHAT_BURST = 3  # a reply of three messages goes at once, as Telegram lets a chat burst briefly
GROUP_PER_MINUTE = 20
GROUP_WINDOW_SECONDS = 61.0  # a second more than Telegram's minute: our clock starts first
# A chat's own pace is waited out up to this; a request that would wait longer is refused.
CHAT_WAIT_SECONDS = 2.0
# A request asking for retries waits out its chat's limit if it is no longer than this.
RETRY_WAIT_SECONDS = 10.0
# After a real 429 every request pauses for its retry_after, at most this long.
PAUSE_SECONDS = 10.0
# The longest the pace sleeps before looking again (a simulation's clock may have moved).
LOOK_AGAIN_SECONDS = 0.25
# The methods that put a message into a chat: they count towards a chat's own pace.
SENDS = frozenset({"copyMessage", "copyMessages", "forwardMessage", "forwardMessages"})


@dataclass(frozen=True)
class Lane:
    """What a request asks of the pacing: its lane, and how many short flood waits it waits out."""

    bulk: bool = False
    retries: int = 0
    # Whether the chat's own pace applies. An answer to what a person just did is not held to
    # it (as python-telegram-bot's own limiter does): tapping through a conversation, they wait
    # for nothing; the overall pace and a group's 20 a minute still hold, and a 429 is waited out.
    chat_pace: bool = True
    # Whether it goes without waiting for a turn of the overall pace: an answer to what a person
    # just did. It still counts: the turns after it move back by one. A 429's pause holds it.
    at_once: bool = False


URGENT = Lane()
BULK = Lane(bulk=True)


class Paced(RetryAfter):
    """Our own pacing holds this chat back for `retry_after`: nothing was asked of Telegram."""


class Pacing(BaseRateLimiter[Lane]):
    """Give each request its turn: urgent first, evenly paced, a chat at its own pace."""

    def __init__(
        self,
        per_second: float = PER_SECOND,
        bulk_per_second: float = BULK_PER_SECOND,
        group_per_minute: int = GROUP_PER_MINUTE,
        chat_per_second: float | None = CHAT_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
        flood_clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = 1 / per_second
        self.bulk_interval = 1 / bulk_per_second
        self.group_per_minute = group_per_minute
        # None: no pace of a chat's own (a simulation's patients type in no time at all).
        self.chat_interval = 1 / chat_per_second if chat_per_second else 0.0
        self.clock = clock
        self.sleep = sleep
        # Telegram's flood waits are counted on this clock too: the application's own under a
        # simulation's virtual clock, so that a wait of minutes passes when its time does.
        self.flood_clock = flood_clock or clock
        self._next_turn = 0.0  # the earliest moment of the next turn, any lane
        self._next_bulk = 0.0  # the earliest moment of the next bulk turn
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._bulk: deque[asyncio.Future[None]] = deque()
        self._waiting: asyncio.Event | None = None
        # Set when an urgent request asks for a turn: it ends the gate's making way for answers.
        self._urgent_came = asyncio.Event()
        self._gate: asyncio.Task[None] | None = None
        self._groups: dict[int | str, deque[float]] = {}
        self._chats: dict[int | str, float] = {}  # a chat's next free moment, less its burst
        # Until when (monotonic, flood clock): every request after a 429; a chat Telegram held.
        self._paused = (0.0, 0.0)
        self._not_before: dict[int | str, tuple[float, float]] = {}
        # The answers under way (set by the wiring): a bulk turn makes way for them first.
        self.answering: Answering | None = None

    async def initialize(self) -> None:
        """Nothing to set up: the turns start with the first request."""

    async def shutdown(self) -> None:
        """Stop giving turns; a request still waiting is cancelled by its own caller."""
        gate, self._gate = self._gate, None
        if gate is not None:
            gate.cancel()
            await asyncio.gather(gate, return_exceptions=True)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Lane | int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Send at this request's turn, or raise `Paced` if its chat must wait long."""
        lane = _lane(rate_limit_args)
        chat = _chat_key(data.get("chat_id"))
        if chat is None:
            return await callback(*args, **kwargs)  # no message: getMe, a button's answer
        retries = lane.retries
        while True:
            try:
                return await self._send(callback, args, kwargs, chat, endpoint, lane)
            except RetryAfter as exc:
                wait = _seconds(exc)
                if retries <= 0 or wait > RETRY_WAIT_SECONDS:
                    raise
                retries -= 1
                await self.sleep(wait)
                self._not_before.pop(chat, None)  # waited out (on any clock)

    async def _send(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        chat: int | str,
        endpoint: str,
        lane: Lane,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        self._check_held(chat)
        self._check_group(chat)
        if lane.chat_pace and (endpoint.startswith("send") or endpoint in SENDS):
            wait = self._chat_turn(chat)
            if wait > 0:
                await self.sleep(wait)
        if lane.at_once:
            await self._answer_turn()
        else:
            await self.turn(lane.bulk)
        try:
            return await callback(*args, **kwargs)
        except RetryAfter as exc:
            # Telegram's own flood wait: the chat waits it whole, everyone else a moment.
            seconds = _seconds(exc)
            self._not_before[chat] = (self.clock() + seconds, self.flood_clock() + seconds)
            pause = min(seconds, PAUSE_SECONDS)
            self._paused = (
                max(self._paused[0], self.clock() + pause),
                max(self._paused[1], self.flood_clock() + pause),
            )
            log.warning("Telegram asked for a pause of %s s: every send waits %s s", seconds, pause)
            raise

    def _check_held(self, chat: int | str) -> None:
        # Over when either clock says so: a simulation's frozen clock never holds a chat forever.
        mono, flood = self._not_before.get(chat, (0.0, 0.0))
        wait = min(mono - self.clock(), flood - self.flood_clock())
        if wait > 0:
            raise Paced(_whole(wait))
        self._not_before.pop(chat, None)

    def _check_group(self, chat: int | str) -> None:
        if isinstance(chat, int) and chat > 0:
            return  # a private chat
        now = self.clock()
        sent = self._groups.setdefault(chat, deque())
        while sent and now - sent[0] >= GROUP_WINDOW_SECONDS:
            sent.popleft()
        if len(sent) >= self.group_per_minute:
            raise Paced(_whole(sent[0] + GROUP_WINDOW_SECONDS - now))
        sent.append(now)

    def _chat_turn(self, chat: int | str) -> float:
        """Take the chat's next turn; return how long to wait for it, or raise `Paced`."""
        if not self.chat_interval:
            return 0.0
        now = self.clock()
        free = max(self._chats.get(chat, 0.0), now)  # a burst of CHAT_BURST, then its pace
        wait = free - (CHAT_BURST - 1) * self.chat_interval - now
        if wait > CHAT_WAIT_SECONDS:
            raise Paced(_whole(wait))
        if len(self._chats) > 10_000:  # forget the chats whose pace is long past
            self._chats = {c: t for c, t in self._chats.items() if t > now}
        self._chats[chat] = free + self.chat_interval
        return wait

    async def _answer_turn(self) -> None:
        """An answer's turn: now (after a 429's pause), the turns after it moving back by one;
        past ANSWER_BURST turns ahead of the pace, a turn as an urgent request's."""
        while (pause := self._pause_left()) > 0:
            await self.sleep(min(pause, LOOK_AGAIN_SECONDS))  # a virtual clock may end it early
        now = self.clock()
        if self._next_turn - now > (ANSWER_BURST - 1) * self.interval:
            await self.turn()
            return
        self._next_turn = max(self._next_turn, now - self.interval / 4) + self.interval

    async def turn(self, bulk: bool = False) -> None:
        """Wait for a turn of the overall pace in the request's lane."""
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[None] = loop.create_future()
        (self._bulk if bulk else self._urgent).append(turn)
        if not bulk:
            self._urgent_came.set()
        if self._waiting is None:
            self._waiting = asyncio.Event()
        self._waiting.set()
        if self._gate is None or self._gate.done():
            self._gate = loop.create_task(self._give_turns())
        await turn  # cancelled with its caller; the gate skips it then

    async def _give_turns(self) -> None:
        """Give the waiting requests their turns, one at a time: urgent first, then bulk."""
        assert self._waiting is not None
        made_way = False  # the next bulk turn has made way for answers once: it goes now
        while True:
            for lane in (self._urgent, self._bulk):
                while lane and lane[0].done():
                    lane.popleft()  # its caller gave up
            if not self._urgent and not self._bulk:
                self._waiting.clear()
                await self._waiting.wait()
                continue
            now = self.clock()
            wait = max(self._pause_left(), self._next_turn - now)
            if not self._urgent:
                wait = max(wait, self._next_bulk - now)
            if wait > 0:
                # At most a 25th of a second when only bulk waits: an urgent one comes soon.
                await self.sleep(min(wait, LOOK_AGAIN_SECONDS))
                continue
            if not self._urgent and not made_way and self.answering and self.answering.busy:
                self._urgent_came.clear()
                await self.answering.make_way(until=self._urgent_came)
                made_way = not self._urgent_came.is_set()  # else again, once the urgent went
                continue
            lane = self._urgent or self._bulk
            # On time, the pace keeps its schedule; after an idle gap, it starts again from now
            # (less a quarter turn for the timer's lateness): never a burst.
            self._next_turn = max(self._next_turn, now - self.interval / 4) + self.interval
            if lane is self._bulk:
                self._next_bulk = max(self._next_bulk, now - self.bulk_interval / 4)
                self._next_bulk += self.bulk_interval
                made_way = False
            lane.popleft().set_result(None)

    def _pause_left(self) -> float:
        mono, flood = self._paused
        return min(mono - self.clock(), flood - self.flood_clock())


def _lane(rate_limit_args: Lane | int | None) -> Lane:
    if isinstance(rate_limit_args, Lane):
        return rate_limit_args
    return Lane(retries=rate_limit_args or 0)


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
