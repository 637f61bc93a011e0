"""Send our `Reply` objects through Telegram."""

from __future__ import annotations

from collections.abc import Iterable

from telegram.ext import ExtBot

from bot.delivery.notifier import keyboard
from bot.delivery.pacing import Lane
from bot.ui.views import Reply

# A reply to something the patient just did goes at once, ahead of every reminder waiting its
# turn, is not held to the chat's own pace (a conversation waits for nothing), and waits out a
# short flood limit twice.
REPLY = Lane(retries=2, chat_pace=False, at_once=True)


async def send_replies(bot: ExtBot[Lane], chat_id: int, replies: Iterable[Reply]) -> None:
    """Send each reply in order, as plain text with its buttons."""
    for reply in replies:
        await bot.send_message(
            chat_id, reply.text, reply_markup=keyboard(reply), rate_limit_args=REPLY
        )
