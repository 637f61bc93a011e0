"""Sending to patients, with Telegram's failures turned into what the use cases decide on."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Protocol, TypeVar

import aiohttp
import httpx
from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import ExtBot

from bot.delivery.pacing import BULK, URGENT, Lane, Paced
from bot.delivery.shown import Shown
from bot.ui.views import Button, Reply

log = logging.getLogger(__name__)
T = TypeVar("T")

# The cause of a TryLater when only our own pacing of the chat held the message back.
PACED = "paced"
# The cause of a TryLater when Telegram itself asked us to wait (a flood limit).
FLOOD = "flood limit"
# Retry delays for network trouble, growing with each attempt.
BACKOFF_SECONDS = (5, 15, 60, 120, 300)


class Unreachable(Exception):
    """The patient blocked the bot or their chat is gone: stop sending, never retry."""


class Moved(Unreachable):
    """A group became a supergroup: Telegram gives its new id, which only the clinic can adopt."""

    def __init__(self, new_chat_id: int) -> None:
        super().__init__(f"the group became the supergroup {new_chat_id}")
        self.new_chat_id = new_chat_id


class MaybeSent(Exception):
    """Telegram did not answer in time: the message may or may not have been delivered."""


class TryLater(Exception):
    """Telegram asked us to slow down or the network failed: send again after `seconds`."""

    def __init__(self, seconds: float, cause: str = "") -> None:
        super().__init__(f"try again in {seconds:.0f} s")
        self.seconds = seconds
        self.cause = cause  # what Telegram or the network said, for the admins


class Notifier(Protocol):
    """The way out to Telegram. `bulk`: the dispatcher's own sends, paced behind urgent ones."""

    async def send(
        self, chat_id: int, reply: Reply, attempt: int = 0, *, bulk: bool = False
    ) -> int: ...

    async def clear_buttons(self, chat_id: int, message_id: int, *, bulk: bool = False) -> None: ...

    async def set_buttons(
        self,
        chat_id: int,
        message_id: int,
        buttons: tuple[tuple[Button, ...], ...],
        *,
        bulk: bool = False,
    ) -> None: ...

    async def edit(self, chat_id: int, message_id: int, reply: Reply) -> None: ...

    async def revise(self, chat_id: int, message_id: int, reply: Reply) -> None: ...

    async def copy(
        self, chat_id: int, from_chat_id: int, message_id: int, reply_to: int | None = None
    ) -> int: ...


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """Turn our buttons into Telegram's inline keyboard."""
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
            for row in reply.buttons
        ]
    )


def backoff(attempt: int) -> float:
    return BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)]


class Link:
    """Whether Telegram answers, as the sends see it: down since when, and which chats wait.

    Only network failures take the link down: a flood limit or a refused request is an answer.
    `bot/app/recovery.py` listens (`on_down`, `on_up`) and sends what waited once Telegram is back.
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.monotonic = monotonic
        self.down_since: float | None = None
        self.waiting: set[int] = set()  # chats whose sends failed for network reasons
        self.flooded: dict[int, float] = {}  # chat -> the moment its flood wait ends
        self.on_down: Callable[[], None] | None = None
        self.on_up: Callable[[], None] | None = None

    def failed(self, chat_id: int | None) -> None:
        """A call failed for network reasons: Telegram did not answer."""
        if chat_id is not None:
            self.waiting.add(chat_id)
        if self.down_since is None:
            self.down_since = self.monotonic()
            if self.on_down is not None:
                self.on_down()

    def flood(self, chat_id: int, seconds: float) -> None:
        """Telegram asked us to wait before writing to that chat again."""
        self.flooded[chat_id] = self.monotonic() + seconds

    def answered(self) -> None:
        """A call went through: if the link was down, it is up again."""
        if self.down_since is not None and self.on_up is not None:
            self.on_up()

    def up(self) -> tuple[float, set[int], set[int]]:
        """Mark the link up; return how long it was down, the chats whose sends waited and may
        go now, and the chats still within a flood wait."""
        now = self.monotonic()
        down = now - self.down_since if self.down_since is not None else 0.0
        self.flooded = {c: t for c, t in self.flooded.items() if t > now}
        free = self.waiting - set(self.flooded)
        self.down_since, self.waiting = None, self.waiting - free
        return down, free, set(self.flooded)


class TelegramNotifier:
    """Send through the bot, classifying every failure as retry-later or unreachable."""

    def __init__(self, bot: ExtBot[Lane], link: Link | None = None) -> None:
        self.bot = bot
        self.shown = Shown()  # shared with the button handlers: an edit only if it changes
        self.link = link or Link()

    async def send(
        self, chat_id: int, reply: Reply, attempt: int = 0, *, bulk: bool = False
    ) -> int:
        """Send a message and return its id; `bulk` waits behind every urgent send."""
        markup = ForceReply() if reply.force_reply else keyboard(reply)
        lane = BULK if bulk else URGENT
        message = await self._sent(
            self.bot.send_message(chat_id, reply.text, reply_markup=markup, rate_limit_args=lane),
            attempt,
            chat_id,
        )
        return message.message_id

    async def answers(self) -> bool:
        """Whether Telegram answers at all now (`getMe`): the probe during an outage."""
        try:
            await self.bot.get_me()
        except BadRequest:
            return True  # refused, but answered
        except NetworkError:  # timeouts included
            return False
        except TelegramError:
            return True  # a flood limit or a refusal is an answer too
        return True

    async def revise(self, chat_id: int, message_id: int, reply: Reply) -> None:
        """Rewrite a message we sent; failures raise as for `send`, for the caller to retry."""
        try:
            await self._sent(
                self.bot.edit_message_text(
                    reply.text,
                    chat_id=chat_id,
                    message_id=message_id,
                    reply_markup=keyboard(reply),
                ),
                0,
                chat_id,
            )
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                raise

    async def copy(
        self, chat_id: int, from_chat_id: int, message_id: int, reply_to: int | None = None
    ) -> int:
        """Copy a message (a patient's voice note, say) into a chat; return the copy's id."""
        where = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        copied = await self._sent(
            self.bot.copy_message(chat_id, from_chat_id, message_id, reply_parameters=where),
            0,
            chat_id,
        )
        return copied.message_id

    async def _sent(self, request: Awaitable[T], attempt: int, chat_id: int) -> T:
        """Await a send, turning Telegram's failures into what the use cases decide on."""
        try:
            answer = await request
        except Forbidden as exc:
            raise Unreachable(type(exc).__name__) from None
        except Paced as exc:
            # Our own pacing of a busy group: nothing was sent, nothing failed.
            raise TryLater(_seconds(exc.retry_after), PACED) from None
        except RetryAfter as exc:
            seconds = _seconds(exc.retry_after) + 1
            self.link.flood(chat_id, seconds)
            raise TryLater(seconds, FLOOD) from None
        except ChatMigrated as exc:
            # Only groups migrate (a care team's), never a patient's private chat.
            raise Moved(int(exc.new_chat_id)) from None
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                raise Unreachable("chat not found") from None
            raise
        except TimedOut as exc:
            # A request that never got a connection never left us: safe to send again. A timeout
            # once it was written may have been delivered: the caller must not send it twice.
            if never_left(exc):
                raise TryLater(backoff(attempt), "timed out") from None
            self.link.failed(None)  # counted as sent: nothing of it waits
            raise MaybeSent() from None
        except NetworkError as exc:
            # The connection failed before Telegram answered: nothing was delivered. The row
            # waits its backoff, or less: the link's probe brings it forward once Telegram answers.
            self.link.failed(chat_id)
            raise TryLater(backoff(attempt), exc.message) from None
        self.link.answered()
        return answer

    async def clear_buttons(self, chat_id: int, message_id: int, *, bulk: bool = False) -> None:
        """Take the buttons off an old message; a failure here loses nothing."""
        if not self.shown.changes(chat_id, message_id, None):
            return
        try:
            await self.bot.edit_message_reply_markup(
                chat_id, message_id, reply_markup=None, rate_limit_args=BULK if bulk else URGENT
            )
        except TelegramError as exc:
            log.info("Could not clear buttons: %s", type(exc).__name__)
        else:
            self.shown.set(chat_id, message_id, None)

    async def set_buttons(
        self,
        chat_id: int,
        message_id: int,
        buttons: tuple[tuple[Button, ...], ...],
        *,
        bulk: bool = False,
    ) -> None:
        """Put new buttons on an old message, its text untouched; a failure here loses nothing."""
        markup = keyboard(Reply("", buttons))
        if not self.shown.changes(chat_id, message_id, markup):
            return
        try:
            await self.bot.edit_message_reply_markup(
                chat_id, message_id, reply_markup=markup, rate_limit_args=BULK if bulk else URGENT
            )
        except TelegramError as exc:
            log.info("Could not change buttons: %s", type(exc).__name__)
        else:
            self.shown.set(chat_id, message_id, markup)

    async def edit(self, chat_id: int, message_id: int, reply: Reply) -> None:
        """Rewrite a message we sent, with its new buttons; a failure here loses nothing."""
        markup = keyboard(reply)
        if not self.shown.changes(chat_id, message_id, markup, reply.text):
            return
        try:
            await self.bot.edit_message_text(
                reply.text, chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
        except TelegramError as exc:
            log.info("Could not edit a message: %s", type(exc).__name__)
        else:
            self.shown.set(chat_id, message_id, markup, reply.text)


def never_left(exc: NetworkError) -> bool:
    """Whether a failed request was never written: no connection, or none free in the pool.

    python-telegram-bot's HTTPXRequest and our AiohttpRequest (`bot/delivery/transport.py`)
    raise TimedOut for every timeout, the library's own error as its cause. A connection that
    could not be made (refused, or not made in time) or a pool with no free connection in time
    never sent anything. A read or write timeout, or one of unknown cause (aiohttp's timeout of
    the whole request), may have reached Telegram.
    """
    cause = exc.__cause__
    return isinstance(cause, NEVER_WRITTEN) or "pool timeout" in exc.message.lower()


# aiohttp's ConnectionTimeoutError covers both the wait for a free connection in the pool and
# the connecting; ClientConnectorError is a connection refused, unresolved or its TLS failed.
NEVER_WRITTEN = (
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ConnectError,
    aiohttp.ConnectionTimeoutError,
    aiohttp.ClientConnectorError,
)


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
