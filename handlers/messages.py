"""Free text, media, edits and unknown commands; what a message means is the inbox's rule."""

from __future__ import annotations

import difflib

from telegram import Message, Update
from telegram.ext import Application, MessageHandler, filters

from bot.app.context import MENU_COMMANDS, Context
from bot.care.inbox import Incoming
from bot.ui.inbox_view import MEDIA
from bot.ui.render import render_all
from bot.ui.texts import t
from bot.ui.views import Reply
from handlers.replies import send_replies

PRIVATE = filters.ChatType.PRIVATE


async def on_message(update: Update, context: Context) -> None:
    """Anything a person sends in private that is not a command: the inbox decides."""
    assert update.effective_chat is not None
    said = await context.services.inbox.receive(incoming_of(update, context.bot.id))
    replies = render_all(said, context.services.settings)
    await send_replies(context.bot, update.effective_chat.id, replies)


def incoming_of(update: Update, bot_id: int) -> Incoming:
    """The update as the inbox reads it: who, what kind, the words, what it answers."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    kind = "text" if message.text is not None else _kind(message)
    replied, quoted = message.reply_to_message, None
    if isinstance(replied, Message) and replied.from_user and replied.from_user.id == bot_id:
        quoted = replied.text  # a reply to one of the bot's messages: which one it answers
    return Incoming(
        user_id=user.id,
        message_id=message.message_id,
        kind=kind,
        text=message.text if message.text is not None else message.caption,
        edited=update.edited_message is not None,
        replying_to=quoted,
    )


def _kind(message: Message) -> str:
    """The kind of a message without text: its media, or whatever else it carries."""
    for kind in (*MEDIA, "sticker", "location", "contact"):
        if getattr(message, kind, None):
            return kind
    return "other"


async def on_unknown_command(update: Update, context: Context) -> None:
    """A command we don't have: suggest the nearest one we do, for a typo."""
    assert update.effective_chat and update.effective_message
    typed = (update.effective_message.text or "").split()[0].lstrip("/").split("@")[0].lower()
    nearest = difflib.get_close_matches(typed, MENU_COMMANDS, n=1, cutoff=0.6)
    text = t("unknown_command_suggest", command=nearest[0]) if nearest else t("unknown_command")
    await send_replies(context.bot, update.effective_chat.id, [Reply(text)])


def register(application: Application) -> None:
    new = filters.UpdateType.MESSAGE & PRIVATE
    application.add_handler(MessageHandler(new & filters.COMMAND, on_unknown_command))
    application.add_handler(MessageHandler(new, on_message))
    # Edits are words for the care team, never answers: a fixed typo does not re-run a question.
    edited = filters.UpdateType.EDITED_MESSAGE & PRIVATE & (filters.TEXT | filters.CAPTION)
    application.add_handler(MessageHandler(edited & ~filters.COMMAND, on_message))
