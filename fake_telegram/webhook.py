"""Telegram posting updates to a webhook: :class:`WebhookDelivery`, driven by ``setWebhook``.

With a webhook set, each new update is POSTed as JSON to the webhook, with the header
``X-Telegram-Bot-Api-Secret-Token`` when a secret was set. An answer other than 2xx, a refused
connection or a timeout is tried again after a backoff (short by default: this is a fake for
tests), until it is accepted; only then is the update confirmed and gone. One chat's updates go
one at a time, in order (the next only after the previous got a 2xx); other chats' go at once,
at most ``max_connections`` requests together. ``deleteWebhook`` stops the posting; what was
not accepted stays pending for ``getUpdates``.

Tests cannot serve https, so the posts go to ``deliver_to`` (a plain ``http://`` address on
loopback, e.g. a balancer in front of the bot's processes) in place of the https URL set; without
it nothing is posted and each try fails, as an unreachable webhook would. Every try is recorded
in :attr:`WebhookDelivery.attempts`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from urllib.parse import urlsplit

import aiohttp

from fake_telegram.updates import UpdateQueue, update_kind

__all__ = ["SECRET_HEADER", "WebhookAttempt", "WebhookDelivery", "chat_of", "loopback_http"]

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
NOT_DELIVERED = "Connection refused: the fake posts only to a loopback deliver_webhooks_to address"


@dataclass(frozen=True)
class WebhookAttempt:
    """One POST of one update: the chat it belongs to and the answer (0: no HTTP answer)."""

    update_id: int
    chat: int | None
    status: int
    error: str | None = None

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


def chat_of(update: dict) -> int | None:
    """The chat whose updates must keep their order (None: an update that stands alone)."""
    payload = update[update_kind(update)]
    if not isinstance(payload, dict):
        return None
    if isinstance(payload.get("chat"), dict):
        return payload["chat"].get("id")
    message = payload.get("message")
    if isinstance(message, dict) and isinstance(message.get("chat"), dict):
        return message["chat"].get("id")  # a callback query on a message
    sender = payload.get("from") or payload.get("user")
    if isinstance(sender, dict):
        return sender.get("id")
    return None


def loopback_http(url: str) -> str:
    """`url` if it is a plain http:// address on loopback, else ValueError."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"deliver_webhooks_to must be an http:// address, not {url!r}")
    host = "127.0.0.1" if parts.hostname == "localhost" else parts.hostname
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"deliver_webhooks_to must be on loopback (127.0.0.0/8, ::1): {url!r}")
    return url


class WebhookDelivery:
    """The posting side of a webhook. See the module docstring."""

    def __init__(
        self,
        updates: UpdateQueue,
        clock: Callable[[], datetime],
        *,
        backoff: float = 0.05,
        backoff_max: float = 1.0,
        timeout: float = 10.0,
    ):
        self._updates = updates
        self._clock = clock
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.timeout = timeout
        self.deliver_to: str | None = None
        self.attempts: list[WebhookAttempt] = []
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None
        self._secret: str | None = None
        self._connections = asyncio.Semaphore(40)
        self._lanes: dict[object, deque[dict]] = {}
        self._workers: dict[object, asyncio.Task] = {}
        self._taken: set[int] = set()  # update ids given to a lane, not yet accepted
        self._runner: asyncio.Task | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def running(self) -> bool:
        return self._runner is not None

    def start(self, secret: str | None, max_connections: int) -> None:
        """Post from now on (again from the oldest pending update, after any change)."""
        self.halt()
        self._secret = secret or None
        self._connections = asyncio.Semaphore(max_connections)
        self._runner = asyncio.get_running_loop().create_task(self._run())

    def halt(self) -> None:
        """Stop posting; updates not accepted yet stay pending. In-flight posts are abandoned."""
        tasks = [t for t in (self._runner, *self._workers.values()) if t is not None]
        for task in tasks:
            task.cancel()
        self._runner = None
        self._workers.clear()
        self._lanes.clear()
        self._taken.clear()

    async def aclose(self) -> None:
        """Stop posting and close the HTTP client."""
        self.halt()
        await asyncio.sleep(0)  # let the cancelled tasks unwind
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    # ------------------------------------------------------------------------ the posting

    async def _run(self) -> None:
        """Hand each new pending update to its chat's lane; a lane's worker posts it."""
        while True:
            changed = self._updates.changed()
            for update in self._updates.allowed_pending():
                if update["update_id"] in self._taken:
                    continue
                self._taken.add(update["update_id"])
                chat = chat_of(update)
                key: object = chat if chat is not None else ("alone", update["update_id"])
                self._lanes.setdefault(key, deque()).append(update)
                if key not in self._workers:
                    worker = asyncio.get_running_loop().create_task(self._lane(key, chat))
                    self._workers[key] = worker
            await changed.wait()

    async def _lane(self, key: object, chat: int | None) -> None:
        lane = self._lanes[key]
        while lane:
            update = lane[0]
            delay = self.backoff
            while not (attempt := await self._post(update, chat)).accepted:
                self.last_error_date = int(self._clock().timestamp())
                self.last_error_message = attempt.error
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff_max)
            lane.popleft()
            self._updates.confirm(update["update_id"])
            self._taken.discard(update["update_id"])
        del self._lanes[key]
        del self._workers[key]

    async def _post(self, update: dict, chat: int | None) -> WebhookAttempt:
        status, error = 0, NOT_DELIVERED  # nowhere to post: as if nothing answered
        if self.deliver_to is not None:
            async with self._connections:
                status, error = await self._send(self.deliver_to, update)
        attempt = WebhookAttempt(update["update_id"], chat, status, error or None)
        self.attempts.append(attempt)
        return attempt

    async def _send(self, url: str, update: dict) -> tuple[int, str]:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = {"Content-Type": "application/json"}
        if self._secret:
            headers[SECRET_HEADER] = self._secret
        body = json.dumps(update, ensure_ascii=False).encode("utf-8")
        try:
            async with self._session.post(
                url,
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                allow_redirects=False,
            ) as response:
                await response.read()
                status = response.status
        except TimeoutError:
            return 0, "Read timeout expired"
        except aiohttp.ClientConnectorError:
            return 0, "Connection refused"
        except aiohttp.ClientError:
            return 0, "Connection reset by peer"
        if 200 <= status < 300:
            return status, ""
        with contextlib.suppress(ValueError):
            return status, f"Wrong response from the webhook: {status} {HTTPStatus(status).phrase}"
        return status, f"Wrong response from the webhook: {status}"
