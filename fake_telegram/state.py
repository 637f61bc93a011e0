"""The state a bot can observe: chats, the messages in them, and the calls answered.

:class:`FakeMessage` is a message as it currently is (edits and deletions apply in place),
with helpers tests use to find its buttons; :class:`Chat` is one chat the fake knows (private,
group or supergroup: whether the bot may write there, its messages, its recent sends for the
group rate limit); :class:`Call` is one request the fake answered, as ``FakeTelegram.requests``
records it. Plain data: the rules that change it live in ``methods`` and ``users``.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Call", "Chat", "FakeMessage"]


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
class FakeMessage:
    """A message in a chat, as it currently is (edits and deletions apply in place)."""

    message_id: int
    chat_id: int
    text: str | None  # the text as users see it (the bot sends plain text: no parse mode)
    reply_markup: dict | None = None
    edited: bool = False
    deleted: bool = False
    document: bytes | None = None
    # beyond the brief:
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
        return [button_text(b) for b in markup_buttons(self.reply_markup)]

    def button_data(self, text: str) -> str:
        for button in markup_buttons(self.reply_markup):
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
        for button in markup_buttons(self.reply_markup):
            if button_text(button) == text:
                return button if isinstance(button, dict) else {"text": button}
        raise LookupError(f"no button {text!r} on message {self.message_id}: {self.buttons()}")


def markup_buttons(markup: dict | None) -> list:
    if not markup:
        return []
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    return [b for row in rows for b in row]


def button_text(button: Any) -> str:
    return button if isinstance(button, str) else button.get("text", "")


class Chat:
    """One chat the fake knows, with the messages in it."""

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
