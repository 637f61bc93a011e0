"""The last resort: log what broke, never a patient's words, and apologise in the chat."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot.application import Context
from bot.texts import t
from storage.db import DATABASE_DOWN

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    """Log the exception with the update's id only, and tell the patient something went wrong."""
    update_id = update.update_id if isinstance(update, Update) else None
    error = context.error
    log.error("Error handling update %s: %s", update_id, type(error).__name__, exc_info=error)
    if update_id is not None and isinstance(error, DATABASE_DOWN):
        # The database failed, not the update: the intake handles it again once it is back.
        context.services.intake.again(update_id)
    if (
        isinstance(update, Update)
        and update.effective_chat
        and update.effective_chat.type == "private"
    ):
        try:
            await context.bot.send_message(update.effective_chat.id, t("error"))
        except TelegramError:
            pass


def register(application: Application) -> None:
    application.add_error_handler(on_error)
