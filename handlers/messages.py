"""Free text and everything else: typed answers first, then a short, kind word for the rest."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, MessageHandler, filters

from bot.application import Context
from bot.texts import t
from bot.views import Reply
from handlers.replies import send_replies

PRIVATE = filters.ChatType.PRIVATE


async def on_text(update: Update, context: Context) -> None:
    """Read a typed answer to the question being asked, if any."""
    assert update.effective_user and update.effective_chat and update.effective_message
    text = update.effective_message.text or ""
    replies = await context.services.conversation.text(update.effective_user.id, text)
    if replies is None:
        s = context.services.settings
        replies = [Reply(t("not_understood", clinic=s.clinic_name, contact=s.clinic_contact, emergency=s.emergency_number))]
    await send_replies(context.bot, update.effective_chat.id, replies)


async def on_unknown_command(update: Update, context: Context) -> None:
    assert update.effective_chat
    await send_replies(context.bot, update.effective_chat.id, [Reply(t("unknown_command"))])


async def on_anything_else(update: Update, context: Context) -> None:
    """Stickers, photos, voice notes, locations: say kindly that only text works."""
    assert update.effective_chat
    await send_replies(context.bot, update.effective_chat.id, [Reply(t("not_text"))])


def register(application: Application) -> None:
    # Edited messages are not answers: a patient fixing a typo should not re-run a question.
    new = filters.UpdateType.MESSAGE & PRIVATE
    application.add_handler(MessageHandler(new & filters.TEXT & ~filters.COMMAND, on_text))
    application.add_handler(MessageHandler(new & filters.COMMAND, on_unknown_command))
    application.add_handler(MessageHandler(new, on_anything_else))
