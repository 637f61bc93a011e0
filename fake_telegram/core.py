"""A transport-free fake of the Telegram Bot API.

``FakeTelegram.call(method, params)`` answers one Bot API request the way Telegram does
(status code and JSON body), keeps the state a bot can observe (chats, messages, callback
queries, commands, pending updates) and lets tests script the users' side
(:class:`FakeUser`, :class:`FakeGroup`). Adapters (``transport.FakeRequest`` for PTB, an HTTP
server later) only decode requests and encode answers.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any

from fake_telegram.entities import EntityParseError, parse_entities

__all__ = [
    "Call",
    "ConnectionDropped",
    "FakeGroup",
    "FakeMessage",
    "FakeTelegram",
    "FakeUser",
    "load_spec",
]

SPEC_PATH = Path(__file__).with_name("api.json")

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200
SENDS_PER_SECOND = 30
GROUP_SENDS_PER_MINUTE = 20
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of a message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
BLOCKED = "Forbidden: bot was blocked by the user"

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
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
INLINE_BUTTON_KINDS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
# Send methods counted by the global 30 messages/second flood limit.
_COUNTED_SENDS = frozenset({"sendMessage", "sendDocument", "sendPhoto", "copyMessage"})
# What users' messages carry that no bot can copy: Telegram's service messages.
_SERVICE_KINDS = frozenset(
    {
        "migrate_to_chat_id",
        "migrate_from_chat_id",
        "new_chat_members",
        "left_chat_member",
        "new_chat_title",
        "new_chat_photo",
        "delete_chat_photo",
        "group_chat_created",
        "supergroup_chat_created",
        "pinned_message",
    }
)
# Required fields with Telegram's own wording when missing.
_EMPTY_MESSAGES = {
    "chat_id": "Bad Request: chat_id is empty",
    "text": "Bad Request: message text is empty",
    "message_id": "Bad Request: message identifier is not specified",
    "callback_query_id": QUERY_TOO_OLD,
}


@functools.cache
def load_spec(path: str = str(SPEC_PATH)) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


class ApiError(Exception):
    """An error answer: Telegram's status code, description and optional parameters."""

    def __init__(self, status: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> dict:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class ConnectionDropped(ConnectionError):
    """An injected fault: the connection goes away without an answer (``fail(drop=...)``).

    The HTTP server closes the socket; through the in-process transport PTB wraps it in a
    ``telegram.error.NetworkError`` like any transport failure."""


class InjectedTimeout(ConnectionDropped):
    """An injected fault: the client times out (``fail(timeout=...)``).

    ``"connect"``: the request never reached the server (nothing handled). ``"read"``: it was
    handled (a message is sent) but the answer never comes. The in-process transport raises
    what python-telegram-bot raises for httpx's ConnectTimeout or ReadTimeout; the HTTP server
    closes the connection unanswered, or keeps it silent until the client gives up."""

    def __init__(self, kind: str, method: str) -> None:
        super().__init__(f"injected fault: {kind} timeout on {method}")
        self.kind = kind


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class Call:
    """One request the fake answered."""

    method: str
    params: dict
    status: int
    body: dict
    injected: bool = False  # answered by a fault from FakeTelegram.fail()

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class _Fault:
    method: str | None
    status: int
    retry_after: int
    times: int
    description: str | None
    delay: float
    drop: str | None = None  # "before" (request lost) or "after" (answer lost)
    chat_id: int | None = None  # only calls to this chat
    timeout: str | None = None  # "connect" (request lost) or "read" (answer lost)


@dataclass
class FakeMessage:
    """A message in a chat, as it currently is (edits and deletions apply in place)."""

    message_id: int
    chat_id: int
    text: str | None  # the text as users see it: after entity parsing (tags removed)
    reply_markup: dict | None = None
    parse_mode: str | None = None
    edited: bool = False
    deleted: bool = False
    document: bytes | None = None
    # beyond the brief:
    raw_text: str | None = None  # the text exactly as the bot sent it (with HTML tags etc.)
    entities: list[dict] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[dict] = field(default_factory=list)
    photo: bytes | None = None
    filename: str | None = None
    kind: str = "text"  # text, document, photo or the send method's name (sendSticker ...)
    date: int = 0
    edit_date: int | None = None
    reply_to_message_id: int | None = None
    from_bot: bool = True
    history: list[str | None] = field(default_factory=list)  # earlier texts, oldest first
    params: dict = field(default_factory=dict)  # the parameters of the creating call
    copied_from: tuple[int, int] | None = None  # (chat, message) a copyMessage copied

    def buttons(self) -> list[str]:
        """Texts of all buttons of the current markup (inline or reply keyboard), flattened."""
        return [_button_text(b) for b in _buttons(self.reply_markup)]

    def button_data(self, text: str) -> str:
        for button in _buttons(self.reply_markup):
            if isinstance(button, dict) and button.get("text") == text:
                if "callback_data" in button:
                    return button["callback_data"]
        raise LookupError(
            f"no callback button {text!r} on message {self.message_id}: {self.buttons()}"
        )

    def label_starting(self, prefix: str) -> str:
        """The one button label that is `prefix` or starts with it (case-insensitive).

        A label's leading emoji may be left out: "Hold" finds "⏸ Hold at current dose".
        """
        labels = self.buttons()
        if prefix in labels:
            return prefix
        matches = [b for b in labels if b.casefold().startswith(prefix.casefold())]
        if not matches:
            words = {b: re.sub(r"^\W+", "", b).casefold() for b in labels}
            matches = [b for b in labels if words[b].startswith(prefix.casefold())]
        if len(matches) != 1:
            raise LookupError(f"no single button starts with {prefix!r}: {labels}")
        return matches[0]

    def button(self, text: str) -> dict:
        for button in _buttons(self.reply_markup):
            if _button_text(button) == text:
                return button if isinstance(button, dict) else {"text": button}
        raise LookupError(f"no button {text!r} on message {self.message_id}: {self.buttons()}")


def attach_uploads(params: dict[str, Any], files: dict[str, tuple]) -> dict[str, Any]:
    """Put uploaded files where an ``attach://<part>`` value names them, else under their part."""
    for part, upload in files.items():
        attach = f"attach://{part}"
        named = [key for key, value in params.items() if value == attach]
        for key in named:
            params[key] = upload
        if not named:
            params[part] = upload
    return params


def _buttons(markup: dict | None) -> list:
    if not markup:
        return []
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    return [b for row in rows for b in row]


def _button_text(button: Any) -> str:
    return button if isinstance(button, str) else button.get("text", "")


class _Chat:
    def __init__(self, chat_id: int, kind: str, **info: Any):
        self.id = chat_id
        self.type = kind
        self.info = info
        self.known = kind != "private"  # a private chat is known once the user wrote
        self.blocked = False
        self.moved_to: int | None = None  # a group that became a supergroup
        self.next_message_id = 1
        self.messages: dict[int, FakeMessage] = {}
        self.sent_times: deque[float] = deque()  # monotonic times of sends (group limit)

    def as_dict(self) -> dict:
        d = {"id": self.id, "type": self.type}
        d.update({k: v for k, v in self.info.items() if v is not None})
        return d

    def new_message_id(self) -> int:
        mid = self.next_message_id
        self.next_message_id += 1
        return mid


class FakeTelegram:
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
        self._chats: dict[int, _Chat] = {}
        self._users: dict[int, FakeUser] = {}
        self._groups: dict[int, FakeGroup] = {}
        self._updates: list[dict] = []
        self._update_ids = itertools.count(100001)
        self._query_ids = itertools.count(4100000000000000001)
        self._file_ids = itertools.count(1)
        self._queries: dict[str, dict] = {}
        self._faults: list[_Fault] = []
        self._outage: int | None = None  # the status every call gets while Telegram is down
        self._outage_spares: tuple[str, ...] = ()  # methods an outage leaves working
        # Telegram's ~30 messages a second, as a leaky bucket (the model PTB's rate limiter uses):
        # a burst of 30 passes, then 30 a second; one message of slack absorbs timer jitter.
        self._flood_level = 0.0
        self._flood_checked = time.monotonic()
        self._wakeup = asyncio.Event()
        self._poll_generation = 0
        self._allowed_updates: frozenset[str] = DEFAULT_ALLOWED
        self._handlers: dict[str, Callable[[dict], Any]] = {
            "getMe": self._get_me,
            "logOut": lambda p: True,
            "close": lambda p: True,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "copyMessage": self._copy_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "deleteMessage": self._delete_message,
            "sendChatAction": self._send_chat_action,
            "getChat": self._get_chat,
        }

    # ------------------------------------------------------------------ public test helpers

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
            self._chats[user_id] = _Chat(
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
            self._chats[chat_id] = _Chat(
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
        new = self._chats[new_chat_id] = _Chat(new_chat_id, "supergroup", title=title)
        for chat, extra in (
            (old, {"migrate_to_chat_id": new_chat_id}),
            (new, {"migrate_from_chat_id": chat_id}),
        ):
            self._push_update("message", self.message_dict(self._user_message(by, chat, extra)))
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
        if drop not in (False, True, "before", "after"):
            raise ValueError(f"drop must be True, 'before' or 'after', not {drop!r}")
        if timeout not in (None, "connect", "read"):
            raise ValueError(f"timeout must be 'connect' or 'read', not {timeout!r}")
        mode = None if drop is False else "after" if drop == "after" else "before"
        self._faults.append(
            _Fault(
                method,
                status,
                retry_after,
                times,
                description,
                delay,
                drop=mode,
                chat_id=chat_id,
                timeout=timeout,
            )
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
        self._outage = status
        self._outage_spares = spare

    def client_errors(self) -> list[Call]:
        """Calls answered 4xx that were not injected faults: the bot's own mistakes."""
        return [c for c in self.requests if 400 <= c.status < 500 and not c.injected]

    def calls(self, method: str) -> list[Call]:
        return [c for c in self.requests if c.method == method]

    def take_updates(self) -> list[dict]:
        """Remove and return all pending updates (feed them to ``app.process_update``)."""
        updates, self._updates = self._updates, []
        return updates

    def resend(self, update: dict) -> None:
        """Send an update again, as Telegram does with one whose delivery was never confirmed."""
        self._updates.append(copy.deepcopy(update))
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    @property
    def pending_updates(self) -> list[dict]:
        return list(self._updates)

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
        down = self._outage is not None and method not in self._outage_spares
        if down and self._outage == 0:
            return await self._dropped(method, params, "before")
        if down and self._outage is not None:
            err = self._fault_error(_Fault(method, self._outage, 0, 1, None, 0.0))
            return self._record(method, params, err.status, err.body(), injected=True)
        fault = self._take_fault(method, params)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.drop is not None:
                return await self._dropped(method, params, fault.drop)
            if fault.timeout is not None:
                return await self._timed_out(method, params, fault.timeout)
            if fault.status != 200:
                err = self._fault_error(fault)
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
        spec = self.spec["methods"].get(method)
        fields = {f["name"]: f["types"] for f in spec.get("fields", [])} if spec else {}
        out = {}
        for name, value in params.items():
            types = fields.get(name)
            out[name] = _coerce_value(value, types, self.spec["types"]) if types else value
        return out

    def _record(
        self, method: str, params: dict, status: int, body: dict, injected: bool = False
    ) -> tuple[int, dict]:
        self.requests.append(Call(method, params, status, body, injected))
        return status, body

    def _take_fault(self, method: str, params: dict) -> _Fault | None:
        for fault in self._faults:
            if fault.chat_id is not None and str(params.get("chat_id")) != str(fault.chat_id):
                continue
            if fault.times > 0 and fault.method in (None, method):
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault
        return None

    @staticmethod
    def _fault_error(fault: _Fault) -> ApiError:
        if fault.status == 429:
            return ApiError(
                429,
                fault.description or f"Too Many Requests: retry after {fault.retry_after}",
                {"retry_after": fault.retry_after},
            )
        if fault.description:
            return ApiError(fault.status, fault.description)
        try:
            phrase = HTTPStatus(fault.status).phrase
        except ValueError:
            phrase = "Error"
        return ApiError(fault.status, phrase)

    async def _dispatch(self, method: str, params: dict) -> Any:
        spec = self.spec["methods"].get(method)
        if spec is None:
            raise ApiError(404, "Not Found")
        if method == "getUpdates":
            return await self._get_updates(params)
        self._check_required(spec, params)
        handler = self._handlers.get(method)
        if handler is not None:
            return handler(params)
        return self._generic(method, spec, params)

    def _check_required(self, spec: dict, params: dict) -> None:
        for f in spec.get("fields", []):
            if not f["required"]:
                continue
            value = params.get(f["name"])
            if value is None or value == "":
                name = f["name"]
                raise ApiError(400, _EMPTY_MESSAGES.get(name, f"Bad Request: {name} is required"))

    # ------------------------------------------------------------------------- chats

    def _chat(self, chat_id: Any, *, sending: bool = True) -> _Chat:
        """The chat a call addresses; 400 chat not found / 403 blocked as Telegram does."""
        if chat_id is None or chat_id == "":
            raise ApiError(400, _EMPTY_MESSAGES["chat_id"])
        chat = None
        if isinstance(chat_id, int):
            chat = self._chats.get(chat_id)
        elif isinstance(chat_id, str) and chat_id.startswith("@"):
            for c in self._chats.values():
                if c.info.get("username") == chat_id[1:]:
                    chat = c
        if chat is None or not chat.known:
            raise _bad("chat not found")
        if chat.moved_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.moved_to},
            )
        if sending and chat.blocked:
            raise ApiError(403, BLOCKED)
        return chat

    def _know(self, user_id: int) -> None:
        self._chats[user_id].known = True

    # ------------------------------------------------------------------------ updates

    def _push_update(self, kind: str, payload: dict) -> dict:
        update = {"update_id": next(self._update_ids), kind: payload}
        self._updates.append(update)
        self._wakeup.set()
        self._wakeup = asyncio.Event()
        return update

    async def _get_updates(self, params: dict) -> list[dict]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        limit = params.get("limit") or 100
        if not isinstance(limit, int) or not 1 <= limit <= 100:
            limit = 100
        timeout = params.get("timeout") or 0
        if params.get("allowed_updates") is not None:
            allowed = params["allowed_updates"]
            self._allowed_updates = frozenset(allowed) if allowed else DEFAULT_ALLOWED
        if isinstance(offset, int) and offset:
            if offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            else:
                self._updates = self._updates[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        self._wakeup.set()  # an older long poll still waiting is terminated (409)
        self._wakeup = asyncio.Event()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(timeout)
        while True:
            self._updates = [u for u in self._updates if _update_kind(u) in self._allowed_updates]
            if self._updates:
                return copy.deepcopy(self._updates[:limit])
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

    # ------------------------------------------------------------------- method handlers

    def _get_me(self, params: dict) -> dict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _set_webhook(self, params: dict) -> bool:
        url = params["url"]
        if not str(url).startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook_url = url
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _delete_webhook(self, params: dict) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_webhook_info(self, params: dict) -> dict:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    @staticmethod
    def _command_key(params: dict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), params.get("language_code") or ""

    def _set_my_commands(self, params: dict) -> bool:
        commands = params["commands"]
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad(
                "BOT_COMMANDS_TOO_MUCH"
                if isinstance(commands, list)
                else "can't parse commands JSON object"
            )
        for cmd in commands:
            name = cmd.get("command", "") if isinstance(cmd, dict) else ""
            desc = cmd.get("description", "") if isinstance(cmd, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(desc) <= 256:
                raise _bad(
                    "command description is empty"
                    if not desc
                    else "BOT_COMMAND_DESCRIPTION_INVALID"
                )
        self.command_sets[self._command_key(params)] = copy.deepcopy(commands)
        self.commands = copy.deepcopy(commands)
        return True

    def _get_my_commands(self, params: dict) -> list[dict]:
        return copy.deepcopy(self.command_sets.get(self._command_key(params), []))

    def _delete_my_commands(self, params: dict) -> bool:
        self.command_sets.pop(self._command_key(params), None)
        self.commands = None
        return True

    def _send_chat_action(self, params: dict) -> bool:
        chat = self._chat(params["chat_id"])
        if params["action"] not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self.chat_actions.append((chat.id, params["action"]))
        return True

    def _get_chat(self, params: dict) -> dict:
        chat = self._chat(params["chat_id"], sending=False)
        return {
            **chat.as_dict(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    # --- sending

    def _check_flood(self, chat: _Chat) -> None:
        now = time.monotonic()
        leaked = (now - self._flood_checked) * SENDS_PER_SECOND
        self._flood_level = max(0.0, self._flood_level - leaked)
        self._flood_checked = now
        if self._flood_level + 1 > SENDS_PER_SECOND + 1:
            raise ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
        if chat.type != "private" and self.group_rate_limit:
            while chat.sent_times and now - chat.sent_times[0] >= 60.0:
                chat.sent_times.popleft()
            if len(chat.sent_times) >= self.group_rate_limit:
                wait = max(1, int(60.0 - (now - chat.sent_times[0])) + 1)
                raise ApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})

    def _count_send(self, chat: _Chat) -> None:
        now = time.monotonic()
        self._flood_level += 1
        if chat.type != "private":
            chat.sent_times.append(now)

    def _reply_to(self, chat: _Chat, params: dict) -> int | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            mid, allow = reply.get("message_id"), reply.get("allow_sending_without_reply")
        else:
            mid = params.get("reply_to_message_id")
            allow = params.get("allow_sending_without_reply")
        if mid is None:
            return None
        target = chat.messages.get(mid)
        if target is None or target.deleted:
            if allow:
                return None
            raise _bad("message to be replied not found")
        return mid

    def _text(self, params: dict, key: str, limit: int, *, required: bool) -> tuple[str, list]:
        """Parse text/caption under parse_mode; enforce Telegram's length rules."""
        raw = params.get(key)
        if raw is None or raw == "":
            if required:
                raise _bad("message text is empty")
            return "", []
        raw = str(raw)
        parse_mode = params.get("parse_mode")
        try:
            plain, entities = parse_entities(raw, parse_mode)
        except EntityParseError as exc:
            raise _bad(f"can't parse entities: {exc}") from None
        except ValueError:
            raise _bad(f"unsupported parse_mode {parse_mode}") from None
        given = params.get("entities" if key == "text" else "caption_entities")
        if not parse_mode and isinstance(given, list):
            entities = given
        if required and not plain.strip():
            raise _bad("message text is empty")
        if len(plain) > limit:
            raise _bad("message is too long" if key == "text" else "message caption is too long")
        return plain, entities

    def _check_markup(self, markup: Any, *, inline_only: bool = False) -> dict | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad(
                    'field "inline_keyboard" of the InlineKeyboardMarkup should be an '
                    "Array of Arrays"
                )
            for row in rows:
                for button in row:
                    self._check_inline_button(button)
            if not any(rows):
                return None  # an empty inline keyboard is no keyboard
            return markup
        if inline_only:
            raise _bad("inline keyboard expected")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad(
                    'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
                )
            for row in rows:
                for button in row:
                    if isinstance(button, str):
                        text = button
                    elif isinstance(button, dict):
                        text = button.get("text")
                    else:
                        text = None
                    if not isinstance(text, str) or not text:
                        raise _bad(
                            'can\'t parse keyboard button: Field "text" must be of type String'
                        )
            return markup
        if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
            return markup
        raise _bad("can't parse reply keyboard markup JSON object")

    @staticmethod
    def _check_inline_button(button: Any) -> None:
        if not isinstance(button, dict):
            raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
        text = button.get("text")
        if not isinstance(text, str) or not text:
            raise _bad('can\'t parse inline keyboard button: Field "text" must be of type String')
        kinds = [k for k in INLINE_BUTTON_KINDS if k in button]
        if not kinds:
            raise _bad(
                "can't parse inline keyboard button: Text buttons are unallowed in the "
                "inline keyboard"
            )
        if len(kinds) > 1:
            raise _bad(
                f"can't parse inline keyboard button: exactly one of {', '.join(kinds)} must be set"
            )
        if "callback_data" in button:
            data = button["callback_data"]
            size = len(data.encode("utf-8")) if isinstance(data, str) else 0
            if not 1 <= size <= MAX_CALLBACK_DATA:
                raise _bad("BUTTON_DATA_INVALID")
        if "url" in button:
            url = button["url"]
            if not isinstance(url, str) or not re.match(r"(https?|tg)://\S+$", url):
                raise _bad(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")

    def _new_message(self, chat: _Chat, params: dict, **fields: Any) -> FakeMessage:
        msg = FakeMessage(
            message_id=chat.new_message_id(),
            chat_id=chat.id,
            date=int(self.clock().timestamp()),
            params=params,
            **fields,
        )
        chat.messages[msg.message_id] = msg
        self._count_send(chat)
        return msg

    def _send_message(self, params: dict) -> dict:
        chat = self._chat(params["chat_id"])
        markup = self._check_markup(params.get("reply_markup"))
        plain, entities = self._text(params, "text", MAX_TEXT, required=True)
        reply_to = self._reply_to(chat, params)
        self._check_flood(chat)
        msg = self._new_message(
            chat,
            params,
            text=plain,
            reply_markup=markup,
            parse_mode=params.get("parse_mode"),
            raw_text=params["text"],
            entities=entities,
            reply_to_message_id=reply_to,
        )
        return self.message_dict(msg)

    def _file(self, value: Any, what: str, limit: int) -> tuple[bytes | None, str | None]:
        """An uploaded file: bytes, (filename, bytes[, mime]) or a file_id/URL string."""
        if isinstance(value, str):
            return None, None  # a file_id or URL: nothing uploaded
        filename = None
        if isinstance(value, tuple | list):
            filename, value = value[0], value[1]
        if hasattr(value, "read"):
            value = value.read()
        if not isinstance(value, bytes | bytearray):
            raise _bad(f"wrong type of the web page content for {what}")
        if not value:
            raise _bad("file must be non-empty")
        if len(value) > limit:
            raise ApiError(413, "Request Entity Too Large")
        return bytes(value), filename

    def _send_document(self, params: dict) -> dict:
        return self._send_file(params, "document", MAX_DOCUMENT_BYTES, "document")

    def _send_photo(self, params: dict) -> dict:
        return self._send_file(params, "photo", MAX_PHOTO_BYTES, None)

    def _send_file(self, params: dict, kind: str, limit: int, default_name: str | None) -> dict:
        """sendDocument and sendPhoto: an upload with an optional caption."""
        chat = self._chat(params["chat_id"])
        markup = self._check_markup(params.get("reply_markup"))
        caption, entities = self._text(params, "caption", MAX_CAPTION, required=False)
        data, filename = self._file(params[kind], kind, limit)
        reply_to = self._reply_to(chat, params)
        self._check_flood(chat)
        msg = self._new_message(
            chat,
            params,
            text=None,
            kind=kind,
            filename=filename or default_name,
            reply_markup=markup,
            parse_mode=params.get("parse_mode"),
            caption=caption or None,
            caption_entities=entities,
            reply_to_message_id=reply_to,
            **{kind: data},
        )
        return self.message_dict(msg)

    def _copy_message(self, params: dict) -> dict:
        """copyMessage: the original's content, sent anew by the bot; returns a MessageId."""
        chat = self._chat(params["chat_id"])
        source_chat = self._chat(params["from_chat_id"], sending=False)
        mid = params["message_id"]
        source = source_chat.messages.get(mid) if isinstance(mid, int) else None
        if source is None or source.deleted:
            raise _bad("message to copy not found")
        if source.kind in _SERVICE_KINDS:
            raise _bad("message can't be copied")
        markup = self._check_markup(params.get("reply_markup"))
        if "caption" in params:
            caption, entities = self._text(params, "caption", MAX_CAPTION, required=False)
        else:
            caption = source.caption or source.params.get("_extra", {}).get("caption") or ""
            entities = list(source.caption_entities)
        reply_to = self._reply_to(chat, params)
        self._check_flood(chat)
        msg = self._new_message(
            chat,
            params,
            text=source.text,
            kind=source.kind,
            entities=copy.deepcopy(source.entities),
            caption=caption or None,
            caption_entities=entities,
            reply_markup=markup,
            reply_to_message_id=reply_to,
            document=source.document,
            photo=source.photo,
            filename=source.filename,
        )
        msg.copied_from = (source_chat.id, source.message_id)
        return {"message_id": msg.message_id}

    # --- editing

    def _target(self, params: dict, action: str = "edit") -> tuple[_Chat, FakeMessage]:
        if params.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        chat = self._chat(params.get("chat_id"), sending=action == "edit")
        mid = params.get("message_id")
        if mid is None or mid == "":
            raise ApiError(400, _EMPTY_MESSAGES["message_id"])
        msg = chat.messages.get(mid) if isinstance(mid, int) else None
        if msg is None or msg.deleted:
            raise _bad(f"message to {action} not found")
        return chat, msg

    def _edit_message_text(self, params: dict) -> dict:
        chat, msg = self._target(params)
        if not msg.from_bot:
            raise _bad("message can't be edited")
        markup = self._check_markup(params.get("reply_markup"), inline_only=True)
        plain, entities = self._text(params, "text", MAX_TEXT, required=True)
        if msg.kind != "text":
            raise _bad("there is no text in the message to edit")
        if plain == msg.text and entities == msg.entities and markup == msg.reply_markup:
            raise _bad(NOT_MODIFIED[len("Bad Request: ") :])
        msg.history.append(msg.text)
        msg.text, msg.entities, msg.raw_text = plain, entities, params["text"]
        msg.parse_mode = params.get("parse_mode")
        msg.reply_markup = markup
        self._mark_edited(msg)
        return self.message_dict(msg)

    def _edit_message_reply_markup(self, params: dict) -> dict:
        chat, msg = self._target(params)
        if not msg.from_bot:
            raise _bad("message can't be edited")
        markup = self._check_markup(params.get("reply_markup"), inline_only=True)
        if markup == msg.reply_markup:
            raise _bad(NOT_MODIFIED[len("Bad Request: ") :])
        msg.reply_markup = markup
        self._mark_edited(msg)
        return self.message_dict(msg)

    def _mark_edited(self, msg: FakeMessage) -> None:
        msg.edited = True
        msg.edit_date = int(self.clock().timestamp())

    def _delete_message(self, params: dict) -> bool:
        chat, msg = self._target(params, "delete")
        msg.deleted = True
        return True

    def _answer_callback_query(self, params: dict) -> bool:
        qid = str(params["callback_query_id"])
        query = self._queries.get(qid)
        if query is None or query["answered"]:
            raise ApiError(400, QUERY_TOO_OLD)
        text = params.get("text")
        if text is not None and len(str(text)) > MAX_CALLBACK_ANSWER:
            raise _bad("MESSAGE_TOO_LONG")
        query["answered"] = True
        self.callback_answers[qid] = dict(params)
        return True

    # --- everything else

    def _generic(self, method: str, spec: dict, params: dict) -> Any:
        chat_field = "chat_id" in params
        if chat_field:
            self._chat(
                params["chat_id"], sending=method.startswith(("send", "edit", "copy", "forward"))
            )
        if method.startswith("send") and spec.get("returns") == ["Message"] and chat_field:
            chat = self._chat(params["chat_id"])
            self._check_markup(params.get("reply_markup"))
            self._check_flood(chat)
            msg = self._new_message(
                chat, params, text=None, kind=method, reply_markup=params.get("reply_markup")
            )
            return self.message_dict(msg)
        return True

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

    def _user_message(self, user: FakeUser, chat: _Chat, extra: dict) -> FakeMessage:
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


def _update_kind(update: dict) -> str:
    return next(k for k in update if k != "update_id")


def _coerce_value(value: Any, types: list[str], known_types: dict) -> Any:
    if not isinstance(value, str):
        return value
    if types == ["String"]:
        return value
    if "Integer" in types and re.fullmatch(r"-?\d+", value):
        return int(value)
    if "Float" in types:
        try:
            return float(value)
        except ValueError:
            return value
    if "Boolean" in types and value.lower() in ("true", "false"):
        return value.lower() == "true"
    structured = any(
        t.startswith("Array of") or (t in known_types and t != "InputFile") for t in types
    )
    if structured and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# ------------------------------------------------------------------------- the users' side


class _Sender:
    """Something that acts in one chat as one user (a private chat or a group)."""

    def __init__(self, core: FakeTelegram, user: FakeUser, chat_id: int):
        self._core = core
        self._user = user
        self.chat_id = chat_id

    @property
    def _chat(self) -> _Chat:
        return self._core._chats[self.chat_id]

    def _before(self) -> None:
        if self._chat.type == "private":
            if self._chat.blocked:
                raise RuntimeError(
                    f"user {self._user.id} has blocked the bot: call unblock() "
                    "first (as the Telegram app does on Restart)"
                )
            self._core._know(self._user.id)

    def _message(self, extra: dict) -> dict:
        self._before()
        msg = self._core._user_message(self._user, self._chat, extra)
        return self._core._push_update("message", self._core.message_dict(msg))

    def send(self, text: str) -> dict:
        """A text message; a leading /command gets its bot_command entity."""
        extra: dict[str, Any] = {"text": text}
        entities = _command_entities(text)
        if entities:
            extra["entities"] = entities
        return self._message(extra)

    def reply(self, message: FakeMessage | int, text: str) -> dict:
        """A text message sent as a reply to `message` (Telegram's swipe-to-reply)."""
        mid = message if isinstance(message, int) else message.message_id
        if mid not in self._chat.messages:
            raise LookupError(f"message {mid} is not in chat {self.chat_id}")
        self._before()
        msg = self._core._user_message(self._user, self._chat, {"text": text})
        msg.reply_to_message_id = mid
        return self._core._push_update("message", self._core.message_dict(msg))

    def command(self, name: str, args: str = "", *, mention: bool | None = None) -> dict:
        """``/name args``; in a group (or with mention=True) as ``/name@botname``."""
        if mention is None:
            mention = self._chat.type != "private"
        text = "/" + name.lstrip("/")
        if mention:
            text += "@" + self._core.bot_username
        if args:
            text += " " + args
        return self.send(text)

    def send_sticker(self, emoji: str = "👍") -> dict:
        ids = self._core.next_file_id("CAAC")
        return self._message(
            {
                "sticker": {
                    **ids,
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "emoji": emoji,
                }
            }
        )

    def send_photo(self, caption: str | None = None) -> dict:
        ids = self._core.next_file_id("AgAC")
        extra: dict[str, Any] = {"photo": [{**ids, "width": 90, "height": 90, "file_size": 1200}]}
        if caption:
            extra["caption"] = caption
        return self._message(extra)

    def send_location(self, lat: float, lon: float) -> dict:
        return self._message({"location": {"latitude": lat, "longitude": lon}})

    def send_voice(self, duration: int = 3) -> dict:
        ids = self._core.next_file_id("AwAC")
        return self._message(
            {"voice": {**ids, "duration": duration, "mime_type": "audio/ogg", "file_size": 4000}}
        )

    def send_video(self, duration: int = 5, caption: str | None = None) -> dict:
        ids = self._core.next_file_id("BAAC")
        extra: dict[str, Any] = {
            "video": {**ids, "width": 640, "height": 360, "duration": duration, "file_size": 9000}
        }
        if caption:
            extra["caption"] = caption
        return self._message(extra)

    def send_video_note(self, duration: int = 5) -> dict:
        ids = self._core.next_file_id("DQAC")
        return self._message(
            {"video_note": {**ids, "length": 240, "duration": duration, "file_size": 7000}}
        )

    def send_audio(self, duration: int = 30, title: str | None = None) -> dict:
        ids = self._core.next_file_id("CQAC")
        audio: dict[str, Any] = {**ids, "duration": duration, "mime_type": "audio/mpeg"}
        if title:
            audio["title"] = title
        return self._message({"audio": audio})

    def send_contact(self, phone_number: str = "+15550100", first_name: str = "Sam") -> dict:
        return self._message({"contact": {"phone_number": phone_number, "first_name": first_name}})

    def send_document(
        self, file_name: str = "file.pdf", mime_type: str = "application/pdf"
    ) -> dict:
        ids = self._core.next_file_id("BQAC")
        return self._message(
            {"document": {**ids, "file_name": file_name, "mime_type": mime_type, "file_size": 1000}}
        )

    def edit(self, update: dict, new_text: str) -> dict:
        """An ``edited_message`` update for a message this user sent (given its update)."""
        self._before()
        original = update.get("message") or update.get("edited_message")
        if not original or original.get("from", {}).get("id") != self._user.id:
            raise LookupError("not a message this user sent")
        chat = self._core._chats[original["chat"]["id"]]
        msg = chat.messages[original["message_id"]]
        msg.history.append(msg.text)
        msg.text = new_text
        msg.entities = _command_entities(new_text)  # Telegram reads a command in an edit too
        msg.edited = True
        msg.edit_date = int(self._core.clock().timestamp())
        return self._core._push_update("edited_message", self._core.message_dict(msg))

    def press(self, message: FakeMessage | int, button_text: str) -> dict:
        """Press a button of a bot message, as it is now.

        Inline callback button -> ``callback_query`` update; reply-keyboard button -> its text
        sent as a message. LookupError if the message (current state) has no such button."""
        mid = message if isinstance(message, int) else message.message_id
        current = self._chat.messages.get(mid)
        if current is None or current.deleted or not current.from_bot:
            raise LookupError(f"message {mid} is not in chat {self.chat_id} (or deleted)")
        button = current.button(button_text)
        if "keyboard" in (current.reply_markup or {}):
            return self.send(button_text)
        if "callback_data" not in button:
            raise LookupError(f"button {button_text!r} is not a callback button: {button}")
        return self._callback(current, button["callback_data"])

    def forge_press(self, message_id: int, data: str) -> dict:
        """A callback_query with arbitrary data (what a modified client could send)."""
        current = self._chat.messages.get(message_id)
        if current is None:  # a made-up message id: a stand-in that is not stored
            current = FakeMessage(
                message_id=message_id,
                chat_id=self.chat_id,
                text="",
                date=int(self._core.clock().timestamp()),
            )
        return self._callback(current, data)

    def _callback(self, msg: FakeMessage, data: str) -> dict:
        self._before()
        qid = str(next(self._core._query_ids))
        self._core._queries[qid] = {
            "answered": False,
            "user_id": self._user.id,
            "chat_id": msg.chat_id,
            "message_id": msg.message_id,
        }
        payload = {
            "id": qid,
            "from": self._user.as_dict(),
            "message": self._core.message_dict(msg),
            "chat_instance": str(abs(hash((self._core.bot_id, msg.chat_id)))),
            "data": data,
        }
        return self._core._push_update("callback_query", payload)


class FakeUser(_Sender):
    """A Telegram user, scriptable from tests; acts in their private chat with the bot."""

    def __init__(
        self,
        core: FakeTelegram,
        user_id: int,
        first_name: str,
        username: str | None,
        language_code: str,
    ):
        self.id = user_id
        self.first_name = first_name
        self.username = username
        self.language_code = language_code
        super().__init__(core, self, user_id)

    def as_dict(self) -> dict:
        d = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            d["username"] = self.username
        if self.language_code:
            d["language_code"] = self.language_code
        return d

    @property
    def blocked(self) -> bool:
        return self._chat.blocked

    def _member_update(self, old: str, new: str) -> dict:
        self._core._know(self.id)
        bot = self._core.bot_user
        new_member: dict[str, Any] = {"user": bot, "status": new}
        if new == "kicked":
            new_member["until_date"] = 0
        return self._core._push_update(
            "my_chat_member",
            {
                "chat": self._chat.as_dict(),
                "from": self.as_dict(),
                "date": int(self._core.clock().timestamp()),
                "old_chat_member": {
                    "user": bot,
                    "status": old,
                    **({"until_date": 0} if old == "kicked" else {}),
                },
                "new_chat_member": new_member,
            },
        )

    def block(self) -> dict:
        """The user blocks the bot: my_chat_member 'kicked'; sends to them now get 403."""
        self._chat.blocked = True
        return self._member_update("member", "kicked")

    def unblock(self) -> dict:
        """The user unblocks the bot: my_chat_member 'member'."""
        self._chat.blocked = False
        return self._member_update("kicked", "member")

    def messages(self) -> list[FakeMessage]:
        """Messages the bot sent to this user (including deleted ones, flagged)."""
        return self._core.messages(self.id)

    def last(self) -> FakeMessage:
        """The newest message from the bot to this user that is not deleted."""
        return _newest(self.messages(), f"user {self.id}")

    def in_group(self, group: FakeGroup) -> _Sender:
        """This user acting in a group chat (send, command, press, ...)."""
        return _Sender(self._core, self, group.id)


class FakeGroup:
    """A group chat the bot is in; users act there via ``user.in_group(group)``."""

    def __init__(self, core: FakeTelegram, chat_id: int, title: str):
        self._core = core
        self.id = self.chat_id = chat_id
        self.title = title

    def send(self, user: FakeUser, text: str) -> dict:
        return user.in_group(self).send(text)

    def messages(self) -> list[FakeMessage]:
        return self._core.messages(self.id)

    def last(self) -> FakeMessage:
        return _newest(self.messages(), f"group {self.id}")


def _newest(messages: list[FakeMessage], where: str) -> FakeMessage:
    """The newest message that is not deleted."""
    for msg in reversed(messages):
        if not msg.deleted:
            return msg
    raise LookupError(f"the bot sent no message to {where}")


def _command_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command entity of a text that starts with a /command, as Telegram adds it."""
    token = text.split(maxsplit=1)[0] if text.strip() else text
    if not text.startswith("/") or not re.fullmatch(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?", token):
        return []
    return [{"type": "bot_command", "offset": 0, "length": len(token.encode("utf-16-le")) // 2}]
