"""The users' side, scripted by tests: what people do in Telegram, as updates for the bot.

:class:`FakeUser` acts in their private chat with the bot (send, reply, command, press a
button, send media, edit, block, unblock) and ``user.in_group(group)`` in a :class:`FakeGroup`.
Each action stores the user's message in the chat and pushes the update Telegram would deliver
(``message``, ``edited_message``, ``callback_query``, ``my_chat_member``); each returns that
update. ``press`` uses the message's buttons as they are now, so a test cannot press a button
the bot already took away.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from fake_telegram.state import Chat, FakeMessage

if TYPE_CHECKING:
    from fake_telegram.core import FakeTelegram

__all__ = ["FakeGroup", "FakeUser", "command_entities"]


class _Sender:
    """Something that acts in one chat as one user (a private chat or a group)."""

    def __init__(self, core: FakeTelegram, user: FakeUser, chat_id: int):
        self._core = core
        self._user = user
        self.chat_id = chat_id

    @property
    def _chat(self) -> Chat:
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
        return self._core._updates.push("message", self._core.message_dict(msg))

    def send(self, text: str) -> dict:
        """A text message; a leading /command gets its bot_command entity."""
        extra: dict[str, Any] = {"text": text}
        entities = command_entities(text)
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
        return self._core._updates.push("message", self._core.message_dict(msg))

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
        msg.entities = command_entities(new_text)  # Telegram reads a command in an edit too
        msg.edited = True
        msg.edit_date = int(self._core.clock().timestamp())
        return self._core._updates.push("edited_message", self._core.message_dict(msg))

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
        return self._core._updates.push("callback_query", payload)


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
        return self._core._updates.push(
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


def command_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command entity of a text that starts with a /command, as Telegram adds it."""
    token = text.split(maxsplit=1)[0] if text.strip() else text
    if not text.startswith("/") or not re.fullmatch(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?", token):
        return []
    return [{"type": "bot_command", "offset": 0, "length": len(token.encode("utf-16-le")) // 2}]
