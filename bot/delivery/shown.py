"""What the bot's recent messages show now, so that an edit goes out only when it changes one.

Telegram refuses an edit that changes nothing ("message is not modified"). Two quick presses on
one button arrive with the same picture of the message, taken before either was handled: the
second's edit would be refused. Only the bot edits its own messages, so what it last set is what
a message shows; a message it has not edited (since start-up) shows what the press carried.
"""

from __future__ import annotations

import json
from collections import OrderedDict

from telegram import InlineKeyboardMarkup, Message

# Enough for every message pressed or edited in the last hours of a busy clinic.
SIZE = 4096

Look = tuple[str | None, str | None]  # text (None: not known), markup as JSON (None: no buttons)


class Shown:
    """The newest text and buttons of the messages the bot edited lately, oldest forgotten."""

    def __init__(self, size: int = SIZE) -> None:
        self._looks: OrderedDict[tuple[int, int], Look] = OrderedDict()
        self._size = size

    def changes(
        self,
        chat_id: int,
        message_id: int,
        markup: InlineKeyboardMarkup | None,
        text: str | None = None,
        *,
        pressed: object = None,
    ) -> bool:
        """Whether setting `markup` (and `text`, if given) would change what the message shows.

        `pressed` is the message as a press carried it: used when the bot has not edited it.
        """
        look = self._looks.get((chat_id, message_id))
        if look is None and isinstance(pressed, Message):
            look = (pressed.text, _markup(pressed.reply_markup))
        if look is None:
            return True
        shown_text, shown_markup = look
        if text is not None and text != shown_text:
            return True
        return _markup(markup) != shown_markup

    def set(
        self,
        chat_id: int,
        message_id: int,
        markup: InlineKeyboardMarkup | None,
        text: str | None = None,
    ) -> None:
        """Remember what an edit Telegram accepted made the message show."""
        key = (chat_id, message_id)
        if text is None and key in self._looks:
            text = self._looks[key][0]
        self._looks[key] = (text, _markup(markup))
        self._looks.move_to_end(key)
        while len(self._looks) > self._size:
            self._looks.popitem(last=False)


def _markup(markup: object) -> str | None:
    """Buttons in a comparable form; no buttons at all is None, however it is written."""
    if not isinstance(markup, InlineKeyboardMarkup) or not any(markup.inline_keyboard):
        return None
    return json.dumps(markup.to_dict(), sort_keys=True)
