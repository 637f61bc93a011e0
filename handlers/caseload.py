"""Care-team views: /patients, /patient <label>, /escalations, /stats; private chats or groups."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from bot.app.context import Context
from bot.care.caseload import Caseload
from bot.ui.render import render
from handlers.replies import send_replies

# A provider's own chat, or the care team's group; who may see what is the use case's call.
WHERE = filters.UpdateType.MESSAGE & (filters.ChatType.PRIVATE | filters.ChatType.GROUPS)


def _caseload(context: Context) -> Caseload:
    services = context.services
    return Caseload(services.db, services.clock, services.settings)


def _ids(update: Update) -> tuple[int, int]:
    assert update.effective_user and update.effective_chat
    return update.effective_user.id, update.effective_chat.id


async def patients(update: Update, context: Context) -> None:
    """List every enrolled patient with dose, adherence and open escalations."""
    user_id, chat_id = _ids(update)
    said = await _caseload(context).patients(user_id, chat_id)
    await send_replies(context.bot, chat_id, render(said, context.services.settings))


async def patient(update: Update, context: Context) -> None:
    """Show one patient in full, by label."""
    user_id, chat_id = _ids(update)
    label = " ".join(context.args or ())
    said = await _caseload(context).patient(user_id, chat_id, label)
    await send_replies(context.bot, chat_id, render(said, context.services.settings))


async def escalations(update: Update, context: Context) -> None:
    """List the escalations not yet decided, oldest first."""
    user_id, chat_id = _ids(update)
    said = await _caseload(context).escalations(user_id, chat_id)
    await send_replies(context.bot, chat_id, render(said, context.services.settings))


async def stats(update: Update, context: Context) -> None:
    """Show the clinic's figures, for admins."""
    user_id, chat_id = _ids(update)
    said = await _caseload(context).stats(user_id, chat_id)
    await send_replies(context.bot, chat_id, render(said, context.services.settings))


COMMANDS = (
    ("patients", patients),
    ("patient", patient),
    ("escalations", escalations),
    ("stats", stats),
)


def register(application: Application) -> None:
    for name, callback in COMMANDS:
        application.add_handler(CommandHandler(name, callback, filters=WHERE))
