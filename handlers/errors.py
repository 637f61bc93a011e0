"""The last resort: log what broke, never a patient's words, and apologise in the chat."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application

from bot.app.context import Context
from bot.ui.texts import t

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    """Log the exception with the update's id only, and tell the patient something went wrong."""
    update_id = update.update_id if isinstance(update, Update) else None
    error = context.error
    if isinstance(error, Forbidden):
        await _blocked(update, context)
        return
    log.error("Error handling update %s: %s", update_id, type(error).__name__, exc_info=error)
    if update_id is not None:
        # If the database failed, not the update, the intake handles it again once it is back.
        context.services.intake.failed(update_id, error)
    if (
        isinstance(update, Update)
        and update.effective_chat
        and update.effective_chat.type == "private"
    ):
        try:
            await context.bot.send_message(update.effective_chat.id, t("error"))
        except TelegramError:
            pass


async def _blocked(update: object, context: Context) -> None:
    """A reply refused because the user blocked the bot (or it left a group): an expected state.

    The patient is marked as the `my_chat_member` update that follows would mark them, so that
    nothing more is sent until they come back; one line, no traceback, no apology they cannot read.
    """
    chat = update.effective_chat if isinstance(update, Update) else None
    if chat is None or chat.type != "private":
        log.info("A reply was refused in a chat the bot is no longer in")
        return
    log.info("User %s has blocked the bot: reminders stop until they come back", chat.id)
    await context.services.reminders.set_reachable(chat.id, False)


def register(application: Application) -> None:
    application.add_error_handler(on_error)
