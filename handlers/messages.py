"""Free text and everything else: typed answers first, then a short, kind word for the rest."""

from __future__ import annotations

import difflib

from telegram import Update
from telegram.ext import Application, MessageHandler, filters

from bot.application import MENU_COMMANDS, Context
from bot.messages import clinic_text
from bot.texts import t
from bot.views import Reply
from handlers.replies import send_replies

PRIVATE = filters.ChatType.PRIVATE


async def on_text(update: Update, context: Context) -> None:
    """Read a typed answer to the question being asked, if any."""
    assert update.effective_user and update.effective_chat and update.effective_message
    text = update.effective_message.text or ""
    services, user_id = context.services, update.effective_user.id
    # The check-in's last answer (sorted with the check-in), then red flags in words typed
    # anywhere else, before any question's answer: an emergency is answered at once, even to
    # someone the bot does not know. Then onboarding and settings answers; then "not understood".
    replies = await services.checkins.words(user_id, text)
    if replies is None:
        replies = await services.checkins.message(user_id, text)
        question = await services.conversation.pending_question(user_id)
        if replies is not None and question is not None:
            replies.append(question)
    if replies is None:
        replies = await services.conversation.text(user_id, text)
    if replies is None and (
        services.care_team.is_provider(user_id) or services.care_team.is_admin(user_id)
    ):
        replies = [Reply(t("provider_help"))]
    if replies is None:
        replies = [Reply(clinic_text("not_understood", services.settings))]
    await send_replies(context.bot, update.effective_chat.id, replies)


async def on_unknown_command(update: Update, context: Context) -> None:
    """A command we don't have: suggest the nearest one we do, for a typo."""
    assert update.effective_chat and update.effective_message
    typed = (update.effective_message.text or "").split()[0].lstrip("/").split("@")[0].lower()
    nearest = difflib.get_close_matches(typed, MENU_COMMANDS, n=1, cutoff=0.6)
    text = t("unknown_command_suggest", command=nearest[0]) if nearest else t("unknown_command")
    await send_replies(context.bot, update.effective_chat.id, [Reply(text)])


async def on_anything_else(update: Update, context: Context) -> None:
    """Stickers, photos, voice notes, locations: say kindly that only text works, and re-ask."""
    assert update.effective_chat and update.effective_user
    replies = [Reply(t("not_text"))]
    question = await context.services.conversation.pending_question(update.effective_user.id)
    if question is not None:
        replies.append(question)
    await send_replies(context.bot, update.effective_chat.id, replies)


def register(application: Application) -> None:
    # Edited messages are not answers: a patient fixing a typo should not re-run a question.
    new = filters.UpdateType.MESSAGE & PRIVATE
    application.add_handler(MessageHandler(new & filters.TEXT & ~filters.COMMAND, on_text))
    application.add_handler(MessageHandler(new & filters.COMMAND, on_unknown_command))
    application.add_handler(MessageHandler(new, on_anything_else))
