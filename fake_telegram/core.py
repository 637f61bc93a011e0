"""A transport-free fake of the Telegram Bot API: :class:`FakeTelegram`, the hub.

``FakeTelegram.call(method, params)`` answers one Bot API request the way Telegram does
(status code and JSON body), keeps the state a bot can observe (chats, messages, callback
queries, commands, pending updates) and lets tests script the users' side
(:class:`FakeUser`, :class:`FakeGroup`). Its parts live beside it: ``state`` (chats, messages,
calls), ``validation`` (api.json and Telegram's rules), ``methods`` (one handler per method),
``updates`` (the queue and getUpdates), ``webhook`` (posting updates to a webhook once
``setWebhook`` is called, to ``deliver_webhooks_to`` on loopback), ``faults`` (what tests
inject) and ``users``. Adapters (``transport.FakeRequest`` for PTB in process,
``server.FakeBotApiServer`` over HTTP) only decode requests and encode answers. The public
names stay importable from here.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fake_telegram import validation
from fake_telegram.faults import ConnectionDropped, Fault, Faults, InjectedTimeout
from fake_telegram.methods import GROUP_SENDS_PER_MINUTE, BotMethods
from fake_telegram.state import Call, Chat, FakeMessage
from fake_telegram.updates import UpdateQueue
from fake_telegram.users import FakeGroup, FakeUser
from fake_telegram.validation import (
    BLOCKED,
    ApiError,
    attach_uploads,
    check_required,
    load_spec,
)
from fake_telegram.webhook import WebhookAttempt, WebhookDelivery, loopback_http

__all__ = [
    "BLOCKED",
    "ApiError",
    "Call",
    "ConnectionDropped",
    "FakeGroup",
    "FakeMessage",
    "FakeTelegram",
    "FakeUser",
    "InjectedTimeout",
    "WebhookAttempt",
    "attach_uploads",
    "load_spec",
]


class FakeTelegram(BotMethods):
    """The Bot API's server side, in process. See the module docstring."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        bot_id: int = 7000001,
        bot_username: str = "ldn_test_bot",
        spec: dict | None = None,
        bot_first_name: str = "LDN Test Bot",
        group_rate_limit: int | None = GROUP_SENDS_PER_MINUTE,
        deliver_webhooks_to: str | None = None,
        webhook_backoff: float = 0.05,
    ):
        self.clock = clock or (lambda: datetime.now(UTC))
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.spec = spec if spec is not None else load_spec()
        self.group_rate_limit = group_rate_limit
        self.requests: list[Call] = []
        self.commands: list[dict] | None = None
        self.command_sets: dict[tuple[str, str], list[dict]] = {}
        self.webhook_url: str = ""
        self.callback_answers: dict[str, dict] = {}  # query id -> answerCallbackQuery params
        self.chat_actions: list[tuple[int, str]] = []
        self._chats: dict[int, Chat] = {}
        self._users: dict[int, FakeUser] = {}
        self._groups: dict[int, FakeGroup] = {}
        self._updates = UpdateQueue()
        self._webhook = WebhookDelivery(
            self._updates, self.clock, backoff=webhook_backoff, backoff_max=20 * webhook_backoff
        )
        self._webhook_setting: tuple[str, str, int] | None = None
        self.deliver_webhooks_to = deliver_webhooks_to
        self._query_ids = itertools.count(4100000000000000001)
        self._file_ids = itertools.count(1)
        self._queries: dict[str, dict] = {}  # callback query id -> who pressed what, answered?
        self._faults = Faults()
        # Telegram's ~30 messages a second, as a leaky bucket (the model PTB's rate limiter uses):
        # a burst of 30 passes, then 30 a second; one message of slack absorbs timer jitter.
        self._flood_level = 0.0
        self._flood_checked = time.monotonic()
        self._handlers: dict[str, Callable[[dict], Any]] = self._method_handlers()

    # ------------------------------------------------------------------ public test helpers

    @property
    def deliver_webhooks_to(self) -> str | None:
        """Where a webhook's posts really go: an http:// address on loopback (None: nowhere).

        Tests cannot serve https, so this stands in for whatever https URL the bot set."""
        return self._webhook.deliver_to

    @deliver_webhooks_to.setter
    def deliver_webhooks_to(self, url: str | None) -> None:
        self._webhook.deliver_to = None if url is None else loopback_http(url)

    @property
    def webhook_attempts(self) -> list[WebhookAttempt]:
        """Every POST of an update to the webhook, in the order they were answered."""
        return self._webhook.attempts

    async def aclose(self) -> None:
        """Stop posting to a webhook and close its HTTP client (call at the end of a test)."""
        await self._webhook.aclose()

    @property
    def bot_user(self) -> dict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def user(
        self,
        user_id: int,
        first_name: str = "Pat",
        username: str | None = None,
        language_code: str = "en",
        *,
        opened: bool = False,
    ) -> FakeUser:
        """The scriptable user with that id (created on first use; later calls return it).

        ``opened``: the user started the bot before (say, before a restart of this fake), so
        the bot may write to them before they write again.
        """
        if user_id not in self._users:
            self._users[user_id] = FakeUser(self, user_id, first_name, username, language_code)
            self._chats[user_id] = Chat(
                user_id, "private", first_name=first_name, username=username
            )
        if opened:
            self._know(user_id)
        return self._users[user_id]

    def group(self, chat_id: int, title: str = "Care team") -> FakeGroup:
        """A group chat the bot is a member of (so it can send there at once)."""
        if chat_id not in self._groups:
            if chat_id >= 0:
                raise ValueError("group chat ids are negative")
            self._groups[chat_id] = FakeGroup(self, chat_id, title)
            self._chats[chat_id] = Chat(
                chat_id, "group", title=title, all_members_are_administrators=False
            )
        return self._groups[chat_id]

    def upgrade_group(self, chat_id: int, new_chat_id: int, by: FakeUser) -> FakeGroup:
        """`by` turns a group into a supergroup with a new id, as Telegram does (never undone).

        The bot gets the two service messages (``migrate_to_chat_id`` in the old group,
        ``migrate_from_chat_id`` in the new one), and the old id then answers every call with
        400 and ``parameters.migrate_to_chat_id``.
        """
        old = self._chats[chat_id]
        if old.type != "group" or not str(new_chat_id).startswith("-100"):
            raise ValueError("only a group becomes a supergroup, with an id like -100...")
        title = old.info.get("title", "Care team")
        self._groups[new_chat_id] = FakeGroup(self, new_chat_id, title)
        new = self._chats[new_chat_id] = Chat(new_chat_id, "supergroup", title=title)
        for chat, extra in (
            (old, {"migrate_to_chat_id": new_chat_id}),
            (new, {"migrate_from_chat_id": chat_id}),
        ):
            self._updates.push("message", self.message_dict(self._user_message(by, chat, extra)))
        old.moved_to = new_chat_id
        return self._groups[new_chat_id]

    def fail(
        self,
        method: str | None,
        *,
        status: int = 429,
        retry_after: int = 3,
        times: int = 1,
        description: str | None = None,
        delay: float = 0.0,
        drop: bool | str = False,
        chat_id: int | None = None,
        timeout: str | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` (None: any method) with `status`.

        ``chat_id`` limits the fault to calls to that chat (a care-team chat failing alone).

        429 carries ``parameters.retry_after``; 500/502 say Internal Server Error/Bad Gateway.
        ``delay`` seconds of slowness come first; ``status=200`` means slow but otherwise normal.
        ``drop=True`` (or ``"before"``) drops the connection without answering and without
        handling the request; ``drop="after"`` handles it (a message is sent) but the answer
        is lost. Either raises :class:`ConnectionDropped` from :meth:`call` (recorded with
        status 0, ``injected=True``). ``timeout="connect"`` times out before the request is
        sent (nothing handled), ``timeout="read"`` after it was handled (see
        :class:`InjectedTimeout`). :meth:`heal` ends every fault still waiting.
        """
        self._faults.add(
            method,
            status=status,
            retry_after=retry_after,
            times=times,
            description=description,
            delay=delay,
            drop=drop,
            chat_id=chat_id,
            timeout=timeout,
        )

    def heal(self) -> None:
        """Forget every injected fault not used up yet: the network is back."""
        self._faults.clear()

    def outage(self, status: int | None = 502, *, spare: tuple[str, ...] = ()) -> None:
        """Telegram is down: every call fails with `status` (0 drops the connection) until
        ``outage(None)``. Unlike :meth:`fail`, no count: an outage lasts until it is ended.

        `spare` names methods that still work: ``spare=("getUpdates",)`` is an outage of the
        bot's sends only, the patients' words still coming in.
        """
        self._faults.outage = status
        self._faults.outage_spares = spare

    def client_errors(self) -> list[Call]:
        """Calls answered 4xx that were not injected faults: the bot's own mistakes."""
        return [c for c in self.requests if 400 <= c.status < 500 and not c.injected]

    def calls(self, method: str) -> list[Call]:
        return [c for c in self.requests if c.method == method]

    def take_updates(self) -> list[dict]:
        """Remove and return all pending updates (feed them to ``app.process_update``)."""
        return self._updates.take()

    def resend(self, update: dict) -> None:
        """Send an update again, as Telegram does with one whose delivery was never confirmed."""
        self._updates.resend(update)

    @property
    def pending_updates(self) -> list[dict]:
        return list(self._updates.pending)

    def messages(self, chat_id: int) -> list[FakeMessage]:
        """Messages the bot sent to that chat, in order, in their current state."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [m for m in chat.messages.values() if m.from_bot]

    def message(self, chat_id: int, message_id: int) -> FakeMessage | None:
        chat = self._chats.get(chat_id)
        return chat.messages.get(message_id) if chat else None

    def callback_answer(self, query_id: str) -> dict | None:
        """The answerCallbackQuery parameters the bot gave for that query, if answered."""
        return self.callback_answers.get(query_id)

    # -------------------------------------------------------------------------- the call

    async def call(self, method: str, params: dict) -> tuple[int, dict]:
        """Answer one Bot API call: returns (HTTP status, JSON body)."""
        params = self.coerce(method, dict(params or {}))
        down = self._faults.down(method)
        if down == 0:
            return await self._dropped(method, params, "before")
        if down is not None:
            err = Fault(method, down, 0, 1, None, 0.0).error()
            return self._record(method, params, err.status, err.body(), injected=True)
        fault = self._faults.take(method, params)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.drop is not None:
                return await self._dropped(method, params, fault.drop)
            if fault.timeout is not None:
                return await self._timed_out(method, params, fault.timeout)
            if fault.status != 200:
                err = fault.error()
                return self._record(method, params, err.status, err.body(), injected=True)
        try:
            result = await self._dispatch(method, params)
        except ApiError as err:
            return self._record(method, params, err.status, err.body())
        return self._record(method, params, 200, {"ok": True, "result": result})

    async def _dropped(self, method: str, params: dict, mode: str) -> tuple[int, dict]:
        if mode == "after":
            try:
                await self._dispatch(method, params)
            except ApiError:
                pass
        self._record(method, params, 0, {"dropped": mode}, injected=True)
        raise ConnectionDropped(f"injected fault: connection dropped {mode} {method}")

    async def _timed_out(self, method: str, params: dict, kind: str) -> tuple[int, dict]:
        if kind == "read":
            try:
                await self._dispatch(method, params)
            except ApiError:
                pass
        self._record(method, params, 0, {"timed_out": kind}, injected=True)
        raise InjectedTimeout(kind, method)

    def coerce(self, method: str, params: dict) -> dict:
        """Turn wire strings into values by the field types in api.json (idempotent).

        Form-encoded and PTB-built requests carry non-string values as JSON strings."""
        return validation.coerce(self.spec, method, params)

    def _record(
        self, method: str, params: dict, status: int, body: dict, injected: bool = False
    ) -> tuple[int, dict]:
        self.requests.append(Call(method, params, status, body, injected))
        return status, body

    async def _dispatch(self, method: str, params: dict) -> Any:
        spec = self.spec["methods"].get(method)
        if spec is None:
            raise ApiError(404, "Not Found")
        if method == "getUpdates":
            if self.webhook_url:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            return await self._updates.get(params)
        check_required(spec, params)
        handler = self._handlers.get(method)
        if handler is not None:
            return handler(params)
        return self._generic(method, spec, params)

    def _know(self, user_id: int) -> None:
        """The user opened their chat with the bot: the bot may write to them from now on."""
        self._chats[user_id].known = True

    # ------------------------------------------------------------------ JSON shapes

    def message_dict(self, msg: FakeMessage) -> dict:
        chat = self._chats[msg.chat_id]
        if msg.from_bot:
            sender = self.bot_user
        else:
            sender = self._users[msg.params["from_id"]].as_dict()
        d: dict[str, Any] = {
            "message_id": msg.message_id,
            "from": sender,
            "chat": chat.as_dict(),
            "date": msg.date,
        }
        if msg.edit_date:
            d["edit_date"] = msg.edit_date
        if msg.reply_to_message_id and msg.reply_to_message_id in chat.messages:
            replied = chat.messages[msg.reply_to_message_id]
            inner = self.message_dict(replied)
            inner.pop("reply_to_message", None)
            d["reply_to_message"] = inner
        if msg.text is not None:
            d["text"] = msg.text
            if msg.entities:
                d["entities"] = copy.deepcopy(msg.entities)
        if msg.caption:
            d["caption"] = msg.caption
            if msg.caption_entities:
                d["caption_entities"] = copy.deepcopy(msg.caption_entities)
        if msg.kind == "document":
            data = msg.document or b""
            d["document"] = {
                **self._file_ids_for(msg),
                "file_name": msg.filename,
                "file_size": len(data),
            }
            upload = msg.params.get("document")
            if isinstance(upload, tuple | list) and len(upload) > 2 and upload[2]:
                d["document"]["mime_type"] = upload[2]
        elif msg.kind == "photo":
            d["photo"] = [
                {
                    **self._file_ids_for(msg),
                    "width": 320,
                    "height": 240,
                    "file_size": len(msg.photo or b""),
                }
            ]
        if msg.from_bot and msg.reply_markup and "inline_keyboard" in msg.reply_markup:
            d["reply_markup"] = copy.deepcopy(msg.reply_markup)
        d.update(copy.deepcopy(msg.params.get("_extra", {})) if not msg.from_bot else {})
        if msg.copied_from is not None:
            d.update(self._copied_content(msg))
        return d

    def _copied_content(self, msg: FakeMessage) -> dict:
        """What a copy of a user's message shows: the original's media, without its sender."""
        assert msg.copied_from is not None
        chat_id, message_id = msg.copied_from
        source = self._chats[chat_id].messages[message_id]
        if source.from_bot:
            return {}
        extra = source.params.get("_extra", {})
        return {
            k: copy.deepcopy(v)
            for k, v in extra.items()
            if k not in ("caption", "caption_entities")
        }

    def _file_ids_for(self, msg: FakeMessage) -> dict:
        key = f"{msg.chat_id}_{msg.message_id}"
        return {"file_id": f"BQAC-fake-{key}", "file_unique_id": f"AgAD{key}"}

    def next_file_id(self, prefix: str = "AgAC") -> dict:
        n = next(self._file_ids)
        return {"file_id": f"{prefix}-fake-user-{n}", "file_unique_id": f"AQAD{n}"}

    def _user_message(self, user: FakeUser, chat: Chat, extra: dict) -> FakeMessage:
        msg = FakeMessage(
            message_id=chat.new_message_id(),
            chat_id=chat.id,
            text=extra.get("text"),
            date=int(self.clock().timestamp()),
            from_bot=False,
            kind="text" if "text" in extra else next(iter(extra)),
            entities=extra.get("entities", []),
            params={
                "from_id": user.id,
                "_extra": {k: v for k, v in extra.items() if k != "text" and k != "entities"},
            },
        )
        chat.messages[msg.message_id] = msg
        return msg
