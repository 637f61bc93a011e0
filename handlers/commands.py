"""Patient commands: /start, /today, /plan, /settings, /stop, /help."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from bot.application import Context
from bot.texts import t
from bot.views import Reply
from handlers.replies import send_replies

PRIVATE = filters.ChatType.PRIVATE


async def start(update: Update, context: Context) -> None:
    """Enroll, resume enrollment, or turn reminders back on."""
    assert update.effective_user and update.effective_chat
    replies = await context.services.conversation.start(
        update.effective_user.id, update.effective_chat.id
    )
    await send_replies(context.bot, update.effective_chat.id, replies)


async def today(update: Update, context: Context) -> None:
    """Show tonight's dose and the next step."""
    assert update.effective_user and update.effective_chat
    reply = await context.services.care.today(update.effective_user.id)
    await send_replies(context.bot, update.effective_chat.id, [reply])


async def plan(update: Update, context: Context) -> None:
    """Show the whole plan with dates."""
    assert update.effective_user and update.effective_chat
    reply = await context.services.care.plan(update.effective_user.id)
    await send_replies(context.bot, update.effective_chat.id, [reply])


async def settings(update: Update, context: Context) -> None:
    """Show the reminder settings with buttons to change them."""
    assert update.effective_user and update.effective_chat
    reply = await context.services.care.settings_menu(update.effective_user.id)
    await send_replies(context.bot, update.effective_chat.id, [reply])


async def stop(update: Update, context: Context) -> None:
    """Stop reminders and keep the data."""
    assert update.effective_user and update.effective_chat
    reply = await context.services.care.set_paused(update.effective_user.id, True, stop=True)
    await send_replies(context.bot, update.effective_chat.id, [reply])


async def help_(update: Update, context: Context) -> None:
    """List what the bot can do and whom to call."""
    assert update.effective_chat
    s = context.services.settings
    text = t("help", clinic=s.clinic_name, contact=s.clinic_contact, emergency=s.emergency_number)
    await send_replies(context.bot, update.effective_chat.id, [Reply(text)])


def register(application: Application) -> None:
    for name, callback in (
        ("start", start),
        ("today", today),
        ("plan", plan),
        ("settings", settings),
        ("stop", stop),
        ("help", help_),
    ):
        application.add_handler(CommandHandler(name, callback, filters=PRIVATE))
