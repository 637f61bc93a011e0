"""The Bot API methods the bot calls, answered as Telegram answers them.

:class:`BotMethods` is the part of ``FakeTelegram`` that handles one method each (getMe,
webhooks, commands, sendMessage, sendDocument, sendPhoto, copyMessage, edits, deletions,
answerCallbackQuery, sendChatAction, getChat) plus a generic answer for the rest of api.json.
It finds the addressed chat (400 chat not found, 403 blocked, 400 upgraded to a supergroup),
applies the flood limits (about 30 sends a second overall, 20 a minute per group) and stores
what was sent as :class:`~fake_telegram.state.FakeMessage`. It works on the state ``FakeTelegram``
holds (chats, users, updates, callback queries); requests reach it already coerced and checked
for required fields.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from fake_telegram.state import Chat, FakeMessage
from fake_telegram.updates import UpdateQueue
from fake_telegram.validation import (
    BLOCKED,
    CHAT_ACTIONS,
    EMPTY_MESSAGES,
    MAX_CALLBACK_ANSWER,
    MAX_CAPTION,
    MAX_DOCUMENT_BYTES,
    MAX_PHOTO_BYTES,
    MAX_TEXT,
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    ApiError,
    bad,
    check_markup,
    check_text,
)
from fake_telegram.webhook import WebhookDelivery

__all__ = ["GROUP_SENDS_PER_MINUTE", "SENDS_PER_SECOND", "BotMethods"]

SENDS_PER_SECOND = 30
GROUP_SENDS_PER_MINUTE = 20
WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})  # the only ports Telegram posts to
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


class BotMethods:
    """The method handlers of ``FakeTelegram`` (a part of it, not used alone)."""

    # The state FakeTelegram.__init__ sets up and these handlers work on.
    clock: Callable[[], datetime]
    group_rate_limit: int | None
    webhook_url: str
    _webhook: WebhookDelivery
    _webhook_setting: tuple[str, str, int] | None  # url, secret, max_connections
    commands: list[dict] | None
    command_sets: dict[tuple[str, str], list[dict]]
    callback_answers: dict[str, dict]
    chat_actions: list[tuple[int, str]]
    _chats: dict[int, Chat]
    _updates: UpdateQueue
    _queries: dict[str, dict]
    _flood_level: float
    _flood_checked: float

    bot_user: dict  # a property of FakeTelegram
    message_dict: Callable[[FakeMessage], dict]

    def _method_handlers(self) -> dict[str, Callable[[dict], Any]]:
        return {
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

    # ------------------------------------------------------------------------- chats

    def _chat(self, chat_id: Any, *, sending: bool = True) -> Chat:
        """The chat a call addresses; 400 chat not found / 403 blocked as Telegram does."""
        if chat_id is None or chat_id == "":
            raise ApiError(400, EMPTY_MESSAGES["chat_id"])
        chat = None
        if isinstance(chat_id, int):
            chat = self._chats.get(chat_id)
        elif isinstance(chat_id, str) and chat_id.startswith("@"):
            for c in self._chats.values():
                if c.info.get("username") == chat_id[1:]:
                    chat = c
        if chat is None or not chat.known:
            raise bad("chat not found")
        if chat.moved_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.moved_to},
            )
        if sending and chat.blocked:
            raise ApiError(403, BLOCKED)
        return chat

    # ------------------------------------------------------------ the bot and its settings

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
        url = str(params["url"])
        if not url:  # "Use an empty string to remove webhook integration"
            return self._delete_webhook(params)
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        try:
            port = parts.port or 443
        except ValueError:
            raise bad("bad webhook: Wrong port number specified in the URL") from None
        if port not in WEBHOOK_PORTS:
            raise bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = params.get("secret_token") or ""
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad("secret token contains unallowed characters")
        connections = params.get("max_connections") or 40
        if not isinstance(connections, int) or not 1 <= connections <= 100:
            raise bad("max_connections must be between 1 and 100")
        self._updates.allow(params.get("allowed_updates"))
        if params.get("drop_pending_updates"):
            self._updates.clear()
        setting = (url, secret, connections)
        if setting != self._webhook_setting or not self._webhook.running:
            self._webhook_setting = setting
            self.webhook_url = url
            self._webhook.start(secret, connections)
        return True

    def _delete_webhook(self, params: dict) -> bool:
        self.webhook_url = ""
        self._webhook_setting = None
        self._webhook.halt()
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_webhook_info(self, params: dict) -> dict:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates.pending),
        }
        if self.webhook_url and self._webhook_setting is not None:
            info["max_connections"] = self._webhook_setting[2]
            info["allowed_updates"] = self._updates.allowed
            if self._webhook.last_error_date is not None:
                info["last_error_date"] = self._webhook.last_error_date
                info["last_error_message"] = self._webhook.last_error_message
        return info

    @staticmethod
    def _command_key(params: dict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), params.get("language_code") or ""

    def _set_my_commands(self, params: dict) -> bool:
        commands = params["commands"]
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad(
                "BOT_COMMANDS_TOO_MUCH"
                if isinstance(commands, list)
                else "can't parse commands JSON object"
            )
        for cmd in commands:
            name = cmd.get("command", "") if isinstance(cmd, dict) else ""
            desc = cmd.get("description", "") if isinstance(cmd, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(desc) <= 256:
                raise bad(
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
            raise bad("wrong parameter action in request")
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

    def _check_flood(self, chat: Chat) -> None:
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

    def _count_send(self, chat: Chat) -> None:
        now = time.monotonic()
        self._flood_level += 1
        if chat.type != "private":
            chat.sent_times.append(now)

    def _reply_to(self, chat: Chat, params: dict) -> int | None:
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
            raise bad("message to be replied not found")
        return mid

    def _new_message(self, chat: Chat, params: dict, **fields: Any) -> FakeMessage:
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
        markup = check_markup(params.get("reply_markup"))
        plain, entities = check_text(params, "text", MAX_TEXT, required=True)
        reply_to = self._reply_to(chat, params)
        self._check_flood(chat)
        msg = self._new_message(
            chat,
            params,
            text=plain,
            reply_markup=markup,
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
            raise bad(f"wrong type of the web page content for {what}")
        if not value:
            raise bad("file must be non-empty")
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
        markup = check_markup(params.get("reply_markup"))
        caption, entities = check_text(params, "caption", MAX_CAPTION, required=False)
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
            raise bad("message to copy not found")
        if source.kind in _SERVICE_KINDS:
            raise bad("message can't be copied")
        markup = check_markup(params.get("reply_markup"))
        if "caption" in params:
            caption, entities = check_text(params, "caption", MAX_CAPTION, required=False)
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

    def _target(self, params: dict, action: str = "edit") -> tuple[Chat, FakeMessage]:
        if params.get("inline_message_id"):
            raise bad("MESSAGE_ID_INVALID")
        chat = self._chat(params.get("chat_id"), sending=action == "edit")
        mid = params.get("message_id")
        if mid is None or mid == "":
            raise ApiError(400, EMPTY_MESSAGES["message_id"])
        msg = chat.messages.get(mid) if isinstance(mid, int) else None
        if msg is None or msg.deleted:
            raise bad(f"message to {action} not found")
        return chat, msg

    def _edit_message_text(self, params: dict) -> dict:
        chat, msg = self._target(params)
        if not msg.from_bot:
            raise bad("message can't be edited")
        markup = check_markup(params.get("reply_markup"), inline_only=True)
        plain, entities = check_text(params, "text", MAX_TEXT, required=True)
        if msg.kind != "text":
            raise bad("there is no text in the message to edit")
        if plain == msg.text and entities == msg.entities and markup == msg.reply_markup:
            raise bad(NOT_MODIFIED[len("Bad Request: ") :])
        msg.history.append(msg.text)
        msg.text, msg.entities = plain, entities
        msg.reply_markup = markup
        self._mark_edited(msg)
        return self.message_dict(msg)

    def _edit_message_reply_markup(self, params: dict) -> dict:
        chat, msg = self._target(params)
        if not msg.from_bot:
            raise bad("message can't be edited")
        markup = check_markup(params.get("reply_markup"), inline_only=True)
        if markup == msg.reply_markup:
            raise bad(NOT_MODIFIED[len("Bad Request: ") :])
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
            raise bad("MESSAGE_TOO_LONG")
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
            check_markup(params.get("reply_markup"))
            self._check_flood(chat)
            msg = self._new_message(
                chat, params, text=None, kind=method, reply_markup=params.get("reply_markup")
            )
            return self.message_dict(msg)
        return True
