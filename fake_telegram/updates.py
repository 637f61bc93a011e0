"""The updates waiting for the bot, and ``getUpdates`` with its long poll.

What users do (``FakeUser.send``, ``press``, ``block`` ...) becomes an update pushed onto the
:class:`UpdateQueue`; ``getUpdates`` confirms those before its ``offset``, filters by
``allowed_updates`` (remembered between calls, as Telegram does) and waits up to ``timeout``
seconds for one to arrive. A newer poll ends a waiting one with Telegram's 409 Conflict.
``take()`` and ``resend()`` let tests feed updates straight to an application.
"""

from __future__ import annotations

import asyncio
import copy
import itertools

from fake_telegram.validation import ApiError

__all__ = ["DEFAULT_ALLOWED", "UpdateQueue", "update_kind"]

# Update kinds Telegram delivers when allowed_updates was never set (or set to []).
DEFAULT_ALLOWED = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)


class UpdateQueue:
    """Pending updates, in order, and the long polls waiting for them."""

    def __init__(self) -> None:
        self.pending: list[dict] = []
        self._ids = itertools.count(100001)
        self._wakeup = asyncio.Event()
        self._poll_generation = 0
        self._allowed: frozenset[str] = DEFAULT_ALLOWED

    def _wake(self) -> None:
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    def push(self, kind: str, payload: dict) -> dict:
        update = {"update_id": next(self._ids), kind: payload}
        self.pending.append(update)
        self._wake()
        return update

    def take(self) -> list[dict]:
        """Remove and return all pending updates."""
        updates, self.pending = self.pending, []
        return updates

    def resend(self, update: dict) -> None:
        self.pending.append(copy.deepcopy(update))
        self._wake()

    def clear(self) -> None:
        self.pending.clear()

    def allow(self, allowed: list[str] | None) -> None:
        """Remember ``allowed_updates`` (None: keep the last; []: the default kinds)."""
        if allowed is not None:
            self._allowed = frozenset(allowed) if allowed else DEFAULT_ALLOWED

    def allowed_pending(self) -> list[dict]:
        """The pending updates, with those of kinds not allowed dropped (as getUpdates does)."""
        self.pending = [u for u in self.pending if update_kind(u) in self._allowed]
        return list(self.pending)

    @property
    def allowed(self) -> list[str]:
        return sorted(self._allowed)

    def confirm(self, update_id: int) -> None:
        """One update was accepted by the webhook: it is no longer pending."""
        self.pending = [u for u in self.pending if u["update_id"] != update_id]

    def changed(self) -> asyncio.Event:
        """An event set the next time an update arrives (or a poll begins)."""
        return self._wakeup

    async def get(self, params: dict) -> list[dict]:
        """``getUpdates``: confirm, filter, and long-poll up to ``timeout`` seconds."""
        offset = params.get("offset")
        limit = params.get("limit") or 100
        if not isinstance(limit, int) or not 1 <= limit <= 100:
            limit = 100
        timeout = params.get("timeout") or 0
        self.allow(params.get("allowed_updates"))
        if isinstance(offset, int) and offset:
            if offset > 0:
                self.pending = [u for u in self.pending if u["update_id"] >= offset]
            else:
                self.pending = self.pending[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake()  # an older long poll still waiting is terminated (409)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(timeout)
        while True:
            if self.allowed_pending():
                return copy.deepcopy(self.pending[:limit])
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            event = self._wakeup
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return []
            if self._poll_generation != generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure "
                    "that only one bot instance is running",
                )


def update_kind(update: dict) -> str:
    return next(k for k in update if k != "update_id")
