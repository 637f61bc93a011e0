"""Send our `Reply` objects through Telegram."""

from __future__ import annotations

from collections.abc import Iterable

from telegram import Bot

from bot.notifier import keyboard
from bot.views import Reply


async def send_replies(bot: Bot, chat_id: int, replies: Iterable[Reply]) -> None:
    """Send each reply in order, as plain text with its buttons."""
    for reply in replies:
        await bot.send_message(chat_id, reply.text, reply_markup=keyboard(reply))
